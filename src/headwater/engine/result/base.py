"""The ``Result`` interface: where a task's value is stored, and how to get it back.

A ``Result`` pairs a *location* (a path, a URL, a template for one, or a callable producing one)
with a :class:`~headwater.engine.serializers.Serializer` (how the value becomes bytes). Results
are immutable in use: :meth:`Result.write` and :meth:`Result.read` return *new* Result objects
holding the value and the final location, and leave the original untouched, so one configured
Result can serve every run of a task.

Location templates use :meth:`str.format` keys taken from the run's context, the flow's
parameters and the task's inputs (see :func:`format_kwargs`)::

    "{flow_name}/{task_name}-{map_index}.pkl"
    "{date:%Y-%m-%d}/{task_run_id}.json"

>>> from headwater.engine.result import Result
>>> r = Result(location="{flow_name}/{task_name}.pkl")
>>> r.format(flow_name="etl", task_name="load").location
'etl/load.pkl'
>>> r.location
'{flow_name}/{task_name}.pkl'
"""

from __future__ import annotations

import copy as _copy
import os
from collections.abc import Callable, Mapping
from typing import Any

from headwater.exceptions import HeadwaterError, SerializationError

__all__ = [
    "LocationTemplateError",
    "MissingTemplateKeyError",
    "NoResult",
    "NoResultType",
    "Result",
    "ResultNotImplementedError",
    "ResultReadError",
    "format_kwargs",
    "render_location",
]

Location = str | os.PathLike[str] | Callable[..., Any]


class ResultNotImplementedError(NotImplementedError):
    """A ``Result`` method was called on a class that does not implement it."""


class LocationTemplateError(HeadwaterError, ValueError):
    """A result location template could not be formatted."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingTemplateKeyError(LocationTemplateError, KeyError):
    """A result location template names a key that is not among the format keys.

    Attributes:
        template: the template that was formatted.
        key: the missing key.
    """

    def __init__(self, message: str, template: str, key: str) -> None:
        super().__init__(message)
        self.template = template
        self.key = key


class ResultReadError(SerializationError):
    """Stored data could not be turned back into a value.

    Raised by ``Result.read`` when the data at a location is truncated, corrupt, or was written
    by a different serializer.

    Attributes:
        location: the location that was read.
        serializer: the serializer that failed.
    """

    def __init__(self, message: str, location: Any = None, serializer: Any = None) -> None:
        super().__init__(message)
        self.location = location
        self.serializer = serializer


# -- formatting ----------------------------------------------------------------------------
_DATE_KEYS = ("today", "yesterday", "tomorrow")


def format_kwargs(context: Any, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the keys a result location template is formatted with.

    The keys are, later ones winning: the run's context (``task_name``, ``flow_name``,
    ``map_index``, ``task_run_id``, ``task_full_name``, ``date``, ``today``...), the flow's
    parameters (``context["parameters"]``) and the task's inputs. ``date`` is always present (a
    pendulum ``DateTime``, now in UTC when the context has none), and so are ``today``,
    ``yesterday``, ``tomorrow`` and their ``*_nodash`` forms.

    Args:
        context: the run context, as a mapping or ``headwater.context`` itself.
        inputs: the task's inputs, by argument name.

    Returns:
        A new dict; the arguments are not modified.

    >>> fmt = format_kwargs({"task_name": "load", "parameters": {"n": 3}}, {"x": 1})
    >>> fmt["task_name"], fmt["n"], fmt["x"], "date" in fmt and "today" in fmt
    ('load', 3, 1, True)
    """
    if hasattr(context, "to_dict") and not isinstance(context, Mapping):
        context = context.to_dict()
    fmt: dict[str, Any] = dict(context or {})
    date = fmt.get("date")
    if date is None:
        import pendulum

        date = fmt["date"] = pendulum.now("UTC")
    if "today" not in fmt and hasattr(date, "strftime"):
        from datetime import timedelta

        for key, shift in zip(_DATE_KEYS, (0, -1, 1)):
            day = date + timedelta(days=shift)
            fmt.setdefault(key, day.strftime("%Y-%m-%d"))
            fmt.setdefault(f"{key}_nodash", day.strftime("%Y%m%d"))
    parameters = fmt.get("parameters")
    if isinstance(parameters, Mapping):
        fmt.update(parameters)
    if inputs:
        fmt.update(inputs)
    return fmt


def _available(fmt: Mapping[str, Any]) -> str:
    names = sorted(str(k) for k in fmt)
    if not names:
        return "no keys were given"
    shown = ", ".join(names[:40])
    return f"available keys: {shown}{', ...' if len(names) > 40 else ''}"


def render_location(location: Location, fmt: Mapping[str, Any]) -> str:
    """Turn a location template (or callable) into a concrete location.

    Args:
        location: a :meth:`str.format` template, an ``os.PathLike`` or a callable that receives
            the keys as keyword arguments and returns the location.
        fmt: the format keys (see :func:`format_kwargs`).

    Raises:
        MissingTemplateKeyError: if the template names a key not in ``fmt``.
        LocationTemplateError: if the template is malformed, or a callable returns no location.
    """
    if location is None:
        raise LocationTemplateError(
            "This result has no location; give it location= (or the task a target=)."
        )
    if callable(location):
        name = getattr(location, "__qualname__", repr(location))
        try:
            out = location(**fmt)
        except TypeError as exc:
            raise LocationTemplateError(
                f"The result location callable {name} could not be called with the format keys "
                f"({exc}); give it a **kwargs parameter."
            ) from exc
        if isinstance(out, os.PathLike):
            out = os.fspath(out)
        if not isinstance(out, str) or not out:
            raise LocationTemplateError(
                f"The result location callable {name} returned {out!r}; it must return a "
                "non-empty string."
            )
        return out
    template = os.fspath(location)
    if not isinstance(template, str):
        raise LocationTemplateError(f"A result location must be text, got {template!r}.")
    try:
        return template.format(**fmt)
    except KeyError as exc:
        key = str(exc.args[0]) if exc.args else "?"
        raise MissingTemplateKeyError(
            f"The result location template {template!r} uses the key {{{key}}}, which is not "
            f"among the format keys ({_available(fmt)}). Pass {key!r} as a flow parameter or "
            "task input, or remove it from the template.",
            template=template,
            key=key,
        ) from None
    except IndexError:
        raise LocationTemplateError(
            f"The result location template {template!r} has a positional field such as '{{}}'; "
            "use named keys like {task_name}."
        ) from None
    except (ValueError, AttributeError, TypeError) as exc:
        raise LocationTemplateError(
            f"The result location template {template!r} could not be formatted: {exc}. Write "
            "literal braces as '{{' and '}}'."
        ) from None


def _short(obj: Any, limit: int = 200) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = f"<{type(obj).__name__} object>"
    if len(text) <= limit:
        return text
    return text[: limit - 5] + ("...'" if text[-1:] in "'\"" else "...")


# -- the interface ---------------------------------------------------------------------------
class Result:
    """Base class of results: a value, where it is stored, and how it is serialized.

    Subclasses implement :meth:`read`, :meth:`write` and :meth:`exists`.

    Args:
        value: the value held (set by ``read``/``write`` on the Results they return).
        location: where the value is stored: a template formatted with the run's keys, or a
            callable receiving them as keyword arguments and returning the location (kept as
            :attr:`location_template`; ``location`` is ``None`` until :meth:`format`).
        serializer: how the value becomes bytes; defaults to
            :class:`~headwater.engine.serializers.PickleSerializer`.
    """

    _is_headwater_result = True

    #: The value held (``None`` until read or written).
    value: Any
    #: A template, a callable, or (on Results returned by ``read``/``write``) the final location.
    location: Any
    #: How values become bytes.
    serializer: Any
    #: A callable given as ``location`` (then ``location`` is ``None`` until formatted).
    _formatter: Callable[..., Any] | None = None

    def __init__(
        self,
        value: Any = None,
        location: Location | None = None,
        serializer: Any = None,
    ) -> None:
        if serializer is None:
            from headwater.engine.serializers import PickleSerializer

            serializer = PickleSerializer()
        self.value = value
        if isinstance(location, os.PathLike):
            location = os.fspath(location)
        if callable(location):  # formatted into ``location`` by :meth:`format`
            self._formatter = location
            location = None
        self.location = location
        self.serializer = serializer

    @property
    def location_template(self) -> Any:
        """What :meth:`format` formats: ``location``, or the callable given as location."""
        return self.location if self.location is not None else self._formatter

    # -- locations ---------------------------------------------------------------------------
    def format(self, **fmt: Any) -> Result:
        """Return a copy whose location is the template formatted with ``fmt``.

        Args:
            **fmt: the format keys (see :func:`format_kwargs`).

        Raises:
            MissingTemplateKeyError: if the template names a key that is not given.
        """
        new = self.copy()
        template = self.location_template
        if template is not None:
            new.location = render_location(template, fmt)
        return new

    def default_location(self, **fmt: Any) -> str:
        """A fresh location for a Result written without one: ``YYYY/MM/DD/<uuid>.result``."""
        date = fmt.get("date")
        if date is None or not hasattr(date, "year"):
            import pendulum

            date = pendulum.now("UTC")
        import uuid  # deferred: uuid imports platform, which costs milliseconds at import

        return f"{date.year:04d}/{date.month:02d}/{date.day:02d}/{uuid.uuid4().hex}.result"

    # -- storage -----------------------------------------------------------------------------
    def read(self, location: str) -> Result:
        """Read the value stored at ``location``.

        Returns:
            A new Result holding the value and the location.
        """
        raise ResultNotImplementedError(
            f"{type(self).__name__} cannot read results; use a storing Result such as LocalResult."
        )

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Store ``value_`` at this Result's location formatted with ``fmt``.

        Args:
            value_: the value to store.
            **fmt: the format keys (see :func:`format_kwargs`).

        Returns:
            A new Result holding the value and the final location.
        """
        raise ResultNotImplementedError(
            f"{type(self).__name__} cannot write results; use a storing Result such as LocalResult."
        )

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Whether a value is stored at ``location`` (a template, formatted with ``fmt``)."""
        raise ResultNotImplementedError(
            f"{type(self).__name__} cannot check locations; use a storing Result such as LocalResult."
        )

    # -- helpers for subclasses --------------------------------------------------------------
    def _serialize(self, value: Any) -> bytes | bytearray | memoryview:
        try:
            data = self.serializer.serialize(value)
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(
                f"{self.serializer!r} could not serialize a value of type "
                f"{type(value).__name__}: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SerializationError(
                f"{self.serializer!r}.serialize returned {type(data).__name__}, not bytes."
            )
        return data

    def _deserialize(self, data: bytes, location: Any) -> Any:
        try:
            return self.serializer.deserialize(data)
        except Exception as exc:
            raise ResultReadError(
                f"{type(self).__name__} could not read the result at {_short(location)} with "
                f"{self.serializer!r}: the data is truncated or corrupt, or was written by a "
                f"different serializer ({exc})",
                location=location,
                serializer=self.serializer,
            ) from exc

    # -- copying and identity ----------------------------------------------------------------
    def copy(self) -> Result:
        """Return an independent shallow copy (mutable option dicts are copied too)."""
        new = _copy.copy(self)
        for key, val in vars(new).items():
            if isinstance(val, dict | list):
                setattr(new, key, _copy.copy(val))
        return new

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return False
        mine, theirs = vars(self), vars(other)
        if mine.keys() != theirs.keys():
            return False
        for key, val in mine.items():
            if key.startswith("_"):
                continue
            other_val = theirs[key]
            if val is other_val:
                continue
            try:
                if not bool(val == other_val):
                    return False
            except Exception:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = "" if self.location is None else f", location={_short(self.location, 80)}"
        return f"<{type(self).__name__}: {_short(self.value, 200)}{where}>"


class NoResultType(Result):
    """The absence of a result (a singleton, :data:`NoResult`): nothing stored, nothing to read.

    Every state created without a result shares :data:`NoResult`, so it cannot be changed;
    :meth:`copy` gives an equal ``NoResultType`` that can.
    """

    _instance: NoResultType | None = None

    def __new__(cls) -> NoResultType:
        if cls._instance is None:
            cls._instance = _blank_no_result()
        return cls._instance

    def __init__(self) -> None:
        """Nothing to set: the singleton is created once."""

    def __setattr__(self, name: str, value: Any) -> None:
        if self is NoResultType._instance:
            raise AttributeError(
                f"NoResult is shared by every state without a result and cannot be changed "
                f"(setting {name!r}); use NoResult.copy(), or give the state a Result of its "
                "own: state.result = Result(value=..., location=...)."
            )
        object.__setattr__(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        if self is NoResultType._instance:
            return (NoResultType, ())
        return (_no_result_copy, (dict(vars(self)),))

    def copy(self) -> NoResultType:
        """An equal ``NoResultType`` that, unlike :data:`NoResult`, can be changed."""
        return _no_result_copy(vars(self))

    def format(self, **fmt: Any) -> NoResultType:
        return self

    def read(self, location: str) -> NoResultType:
        return self

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        return False

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        raise ResultNotImplementedError(
            "NoResult stores nothing; give the task or flow a storing result such as "
            "LocalResult(dir=...) to persist values."
        )

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(NoResultType)

    def __repr__(self) -> str:
        return "<No result>"

    def __str__(self) -> str:
        return "NoResult"


def _blank_no_result() -> NoResultType:
    inst = object.__new__(NoResultType)
    for name in ("value", "location", "serializer"):
        object.__setattr__(inst, name, None)
    return inst


def _no_result_copy(fields: dict[str, Any]) -> NoResultType:
    inst = _blank_no_result()
    inst.__dict__.update(fields)
    return inst


NoResult = NoResultType()
