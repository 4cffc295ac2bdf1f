"""Serializers: how a value becomes bytes, and back.

A :class:`~headwater.engine.result.Result` decides *where* a value is stored; its serializer
decides *how*. Every serializer has two methods, ``serialize(value) -> bytes`` and
``deserialize(data) -> value``; two serializers are equal when they have the same type and
configuration.

>>> from headwater.engine.serializers import CompressedSerializer, JSONSerializer
>>> s = CompressedSerializer(JSONSerializer(), format="gzip")
>>> s.deserialize(s.serialize({"rows": [1, 2, 3]}))
{'rows': [1, 2, 3]}

A failure to turn bytes back into a value raises
:class:`~headwater.exceptions.SerializationError` naming the serializer and the cause.
Heavy libraries (pandas, pendulum's parser) are imported only when a serializer needs them.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable
from typing import Any

from headwater.exceptions import SerializationError

__all__ = [
    "CompressedSerializer",
    "DateTimeSerializer",
    "JSONSerializer",
    "PandasSerializer",
    "PickleSerializer",
    "Serializer",
]


class Serializer:
    """Base class of serializers: turns a value into bytes and back.

    Subclasses implement :meth:`serialize` and :meth:`deserialize`. Equality (and hashing) go by
    type and configuration, so ``JSONSerializer() == JSONSerializer()``.
    """

    def serialize(self, value: Any) -> bytes:
        """Turn ``value`` into bytes.

        Args:
            value: the value to serialize.

        Raises:
            SerializationError: if the value cannot be serialized.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement serialize().")

    def deserialize(self, value: bytes) -> Any:
        """Turn bytes produced by :meth:`serialize` back into a value.

        Args:
            value: the bytes to read.

        Raises:
            SerializationError: if the bytes cannot be read by this serializer.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement deserialize().")

    # -- helpers for subclasses --------------------------------------------------------------
    def _describe(self) -> str:
        return repr(self)

    def _serialize_error(self, value: Any, exc: BaseException) -> SerializationError:
        return SerializationError(
            f"{self._describe()} could not serialize a value of type {type(value).__name__}: "
            f"{type(exc).__name__}: {exc}"
        )

    def _deserialize_error(self, data: Any, exc: BaseException) -> SerializationError:
        size = len(data) if isinstance(data, bytes | bytearray | memoryview) else "?"
        return SerializationError(
            f"{self._describe()} could not deserialize {size} bytes (data written by another "
            f"serializer, or truncated/corrupt): {type(exc).__name__}: {exc}"
        )

    # -- identity ----------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return dict(vars(self))

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return False
        assert isinstance(other, Serializer)
        return self._config() == other._config()

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if v is not None)
        return f"{type(self).__name__}({args})"


class PickleSerializer(Serializer):
    """Serializes any picklable value with cloudpickle (the default serializer).

    Functions, lambdas and classes defined in ``__main__`` pickle by value, so results written
    from a script can be read back in another process that has the same libraries installed.
    """

    def serialize(self, value: Any) -> bytes:
        import cloudpickle

        try:
            data: bytes = cloudpickle.dumps(value)
        except Exception as exc:
            raise self._serialize_error(value, exc) from exc
        return data

    def deserialize(self, value: bytes) -> Any:
        """Unpickle ``value`` (base64-encoded pickles, as very old versions wrote, are read too).

        Raises:
            SerializationError: if the bytes cannot be unpickled; the error is a
                ``pickle.UnpicklingError`` too, and its message includes the original error.
        """
        import cloudpickle

        try:
            return cloudpickle.loads(value)
        except Exception as exc:
            try:
                import base64

                return cloudpickle.loads(base64.b64decode(value, validate=True))
            except Exception:
                pass
            err = self._deserialize_error(value, exc)
            raise _UnpicklingError(str(err)) from exc


class _UnpicklingError(SerializationError, pickle.UnpicklingError):
    """Bytes could not be unpickled (both a ``SerializationError`` and an ``UnpicklingError``)."""


class JSONSerializer(Serializer):
    """Serializes JSON-compatible values as UTF-8 JSON text.

    Args:
        encoder_cls: a :class:`json.JSONEncoder` subclass used to encode values that plain JSON
            cannot hold (dates, decimals, ...).
        decoder_cls: a :class:`json.JSONDecoder` subclass used to decode them again.
        dumps_kwargs: extra keyword arguments for :func:`json.dumps` (``sort_keys``, ``default``...).
        loads_kwargs: extra keyword arguments for :func:`json.loads` (``object_hook``...).
    """

    def __init__(
        self,
        encoder_cls: type[json.JSONEncoder] | None = None,
        decoder_cls: type[json.JSONDecoder] | None = None,
        dumps_kwargs: dict[str, Any] | None = None,
        loads_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.encoder_cls = encoder_cls
        self.decoder_cls = decoder_cls
        self.dumps_kwargs = dict(dumps_kwargs or {})
        self.loads_kwargs = dict(loads_kwargs or {})

    def serialize(self, value: Any) -> bytes:
        try:
            return json.dumps(value, cls=self.encoder_cls, **self.dumps_kwargs).encode("utf-8")
        except Exception as exc:
            raise self._serialize_error(value, exc) from exc

    def deserialize(self, value: bytes) -> Any:
        try:
            text = bytes(value).decode("utf-8")
            return json.loads(text, cls=self.decoder_cls, **self.loads_kwargs)
        except Exception as exc:
            raise self._deserialize_error(value, exc) from exc

    def __repr__(self) -> str:
        parts = []
        if self.encoder_cls is not None:
            parts.append(f"encoder_cls={self.encoder_cls.__name__}")
        if self.decoder_cls is not None:
            parts.append(f"decoder_cls={self.decoder_cls.__name__}")
        return f"JSONSerializer({', '.join(parts)})"


class DateTimeSerializer(Serializer):
    """Serializes a datetime as ISO 8601 text; reads it back as a pendulum ``DateTime``.

    A naive datetime is stored without an offset and, as pendulum reads such text, comes back
    as the same wall time in UTC.
    """

    def serialize(self, value: Any) -> bytes:
        import datetime

        if not isinstance(value, datetime.datetime):
            raise self._serialize_error(
                value, TypeError(f"expected a datetime, got {type(value).__name__}")
            )
        return value.isoformat().encode("utf-8")

    def deserialize(self, value: bytes) -> Any:
        import pendulum

        try:
            parsed = pendulum.parse(bytes(value).decode("utf-8"))
        except Exception as exc:
            raise self._deserialize_error(value, exc) from exc
        if not isinstance(parsed, pendulum.DateTime):
            raise self._deserialize_error(
                value, ValueError(f"text parsed to a {type(parsed).__name__}, not a datetime")
            )
        return parsed

    def __repr__(self) -> str:
        return "DateTimeSerializer()"


_COMPRESSION_FORMATS = ("bz2", "gzip", "lzma", "zlib")


class CompressedSerializer(Serializer):
    """Wraps another serializer and compresses its bytes.

    Args:
        serializer: the serializer producing the bytes to compress.
        format: the name of a module with ``compress`` and ``decompress`` functions, usually one
            of the standard library's ``"bz2"``, ``"gzip"``, ``"lzma"`` or ``"zlib"``.
        compress: a custom ``bytes -> bytes`` compression function (with ``decompress``, instead
            of ``format``).
        decompress: the matching ``bytes -> bytes`` decompression function.
        compress_kwargs: keyword arguments for the compression function (e.g.
            ``{"compresslevel": 9}`` for bz2/gzip, ``{"preset": 9}`` for lzma, ``{"level": 9}``
            for zlib).
        decompress_kwargs: keyword arguments for the decompression function.

    Raises:
        ImportError: if the ``format`` module is not installed.
        ValueError: if neither ``format`` nor both functions are given, both are given, or the
            ``format`` module has no ``compress``/``decompress`` functions.
    """

    def __init__(
        self,
        serializer: Serializer,
        format: str | None = None,
        compress: Callable[..., bytes] | None = None,
        decompress: Callable[..., bytes] | None = None,
        compress_kwargs: dict[str, Any] | None = None,
        decompress_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(serializer, Serializer):
            raise TypeError(
                f"CompressedSerializer needs a Serializer to wrap, got {type(serializer).__name__}: "
                f"{serializer!r}"
            )
        if format is not None and (compress is not None or decompress is not None):
            raise ValueError(
                "CompressedSerializer: give either format= or compress=/decompress=, not both."
            )
        if format is not None:
            compress, decompress = self.compression_from_lib(format)
        elif compress is None or decompress is None:
            raise ValueError(
                "CompressedSerializer: give format= (one of "
                f"{', '.join(_COMPRESSION_FORMATS)}) or both compress= and decompress=."
            )
        self.serializer = serializer
        self.format = format
        self.compress: Callable[..., bytes] = compress
        self.decompress: Callable[..., bytes] = decompress
        self.compress_kwargs = dict(compress_kwargs or {})
        self.decompress_kwargs = dict(decompress_kwargs or {})

    @staticmethod
    def compression_from_lib(
        compression_format: str,
    ) -> tuple[Callable[..., bytes], Callable[..., bytes]]:
        """The ``compress`` and ``decompress`` functions of the module named ``compression_format``.

        Raises:
            ImportError: if there is no such module.
            ValueError: if the module has no ``compress`` and ``decompress`` functions.
        """
        import importlib

        others = ", ".join(f for f in _COMPRESSION_FORMATS if f != compression_format)
        try:
            module = importlib.import_module(compression_format)
        except ImportError as exc:
            raise ImportError(
                f"CompressedSerializer: the compression module {compression_format!r} is not "
                f"installed; use one of {others}, or pass compress=/decompress= functions."
            ) from exc
        try:
            return module.compress, module.decompress
        except AttributeError as exc:
            raise ValueError(
                f"CompressedSerializer: the {compression_format!r} module does not have "
                "'compress' and 'decompress' functions; pass compress=/decompress= for a "
                f"non-standard library, or use one of {others}."
            ) from exc

    def _config(self) -> dict[str, Any]:
        # a format is its module's functions: format="gzip" equals gzip.compress/decompress
        return {k: v for k, v in vars(self).items() if k != "format"}

    def serialize(self, value: Any) -> bytes:
        data = self.serializer.serialize(value)
        try:
            return self.compress(data, **self.compress_kwargs)
        except Exception as exc:
            raise self._serialize_error(value, exc) from exc

    def deserialize(self, value: bytes) -> Any:
        try:
            data = self.decompress(value, **self.decompress_kwargs)
        except Exception as exc:
            raise self._deserialize_error(value, exc) from exc
        return self.serializer.deserialize(data)

    def __repr__(self) -> str:
        how = f"format={self.format!r}" if self.format is not None else "custom"
        return f"CompressedSerializer({self.serializer!r}, {how})"


# file type -> (writer method on DataFrame, reader function in pandas, writes text)
_PANDAS_TYPES: dict[str, tuple[str, str, bool]] = {
    "csv": ("to_csv", "read_csv", True),
    "excel": ("to_excel", "read_excel", False),
    "feather": ("to_feather", "read_feather", False),
    "html": ("to_html", "read_html", True),
    "json": ("to_json", "read_json", True),
    "orc": ("to_orc", "read_orc", False),
    "parquet": ("to_parquet", "read_parquet", False),
    "pickle": ("to_pickle", "read_pickle", False),
    "stata": ("to_stata", "read_stata", False),
    "xml": ("to_xml", "read_xml", True),
}


class PandasSerializer(Serializer):
    """Serializes a pandas DataFrame in one of pandas' file formats.

    pandas (and the engine a format needs, e.g. pyarrow for parquet) is imported when the
    serializer is used, not when it is created.

    Args:
        file_type: one of ``csv``, ``excel``, ``feather``, ``html``, ``json``, ``orc``,
            ``parquet``, ``pickle``, ``stata``, ``xml``.
        deserialize_kwargs: keyword arguments for the ``pandas.read_<file_type>`` function.
        serialize_kwargs: keyword arguments for the ``DataFrame.to_<file_type>`` method.

    Raises:
        ValueError: for an unknown file type.

    Note that ``read_html`` returns a list of frames; this serializer returns the first one.
    """

    def __init__(
        self,
        file_type: str,
        deserialize_kwargs: dict[str, Any] | None = None,
        serialize_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if file_type not in _PANDAS_TYPES:
            raise ValueError(
                f"PandasSerializer: unsupported file_type {file_type!r}; use one of "
                f"{', '.join(sorted(_PANDAS_TYPES))}."
            )
        self.file_type = file_type
        self.deserialize_kwargs = dict(deserialize_kwargs or {})
        self.serialize_kwargs = dict(serialize_kwargs or {})

    def serialize(self, value: Any) -> bytes:
        writer, _, text = _PANDAS_TYPES[self.file_type]
        method = getattr(value, writer, None)
        if method is None:
            raise self._serialize_error(
                value, TypeError(f"expected a pandas DataFrame, which has {writer}()")
            )
        try:
            if text:
                out = method(**self.serialize_kwargs)
                return out.encode("utf-8") if isinstance(out, str) else bytes(out)
            buffer = io.BytesIO()
            method(buffer, **self.serialize_kwargs)
            return buffer.getvalue()
        except Exception as exc:
            raise self._serialize_error(value, exc) from exc

    def deserialize(self, value: bytes) -> Any:
        from headwater.utilities.imports import require

        pd = require("pandas", "pandas", feature="PandasSerializer")

        _, reader, _ = _PANDAS_TYPES[self.file_type]
        try:
            frame = getattr(pd, reader)(io.BytesIO(bytes(value)), **self.deserialize_kwargs)
        except Exception as exc:
            raise self._deserialize_error(value, exc) from exc
        if self.file_type == "html" and isinstance(frame, list):
            return frame[0]
        return frame

    def __repr__(self) -> str:
        return f"PandasSerializer({self.file_type!r})"
