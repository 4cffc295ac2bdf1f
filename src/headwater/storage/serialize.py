"""Saving a flow to a file and loading it back.

A saved flow is a small header (the headwater and Python versions that wrote it) followed by
the flow pickled with cloudpickle, so functions defined in scripts and notebooks travel with
it::

    import tempfile
    from headwater import Flow, task
    from headwater.storage.serialize import load_flow, save_flow

    @task
    def hello():
        return "hello"

    with Flow("greeting") as flow:
        hello()

    path = save_flow(flow, tempfile.mkdtemp() + "/greeting.hwflow")
    assert load_flow(path).name == "greeting"

Without a path, flows go to ``{home_dir}/flows/<slugified name>.hwflow`` and can be loaded back
by name. A name (a string without a path separator that does not start with ``.``) is only ever
looked up there, never in the current directory; give a path as a path (``./nightly``, an
absolute path or a ``Path``). Loading a flow written by another headwater or Python version warns with
:class:`FlowVersionWarning` (pickles may not load across versions); a file that is not a saved
flow, or that cannot be unpickled, raises :class:`~headwater.exceptions.FlowStorageError` naming
the file.
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.exceptions import FlowStorageError

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = [
    "FlowVersionWarning",
    "default_flow_path",
    "flows_dir",
    "is_flow_name",
    "load_flow",
    "save_flow",
    "slugify",
]

MAGIC = b"HEADWATER-FLOW\n"
SUFFIX = ".hwflow"
_FORMAT = 1


class FlowVersionWarning(UserWarning):
    """A saved flow was written by a different headwater or Python version."""


def slugify(name: str) -> str:
    """A file-name friendly form of ``name``: ASCII lower case words joined by ``-``.

    >>> slugify("My ETL: Daily Run!")
    'my-etl-daily-run'
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "flow"


def flows_dir() -> Path:
    """The default directory of saved flows, ``{home_dir}/flows``."""
    from headwater.configuration import current_config

    home = current_config().get("home_dir") or "~/.headwater"
    return Path(os.path.expanduser(str(home))) / "flows"


def default_flow_path(flow_name: str) -> Path:
    """Where a flow named ``flow_name`` is saved when no path is given."""
    return flows_dir() / f"{slugify(flow_name)}{SUFFIX}"


def _versions() -> dict[str, str]:
    import headwater

    return {
        "headwater_version": headwater.__version__,
        "python_version": ".".join(str(n) for n in sys.version_info[:3]),
    }


def save_flow(flow: Flow, fpath: str | os.PathLike[str] | None = None) -> str:
    """Pickle ``flow`` to ``fpath`` (default: :func:`default_flow_path`); returns the path.

    The file is written atomically: a reader sees the old file or the new one, never half.

    Raises:
        FlowStorageError: if the flow cannot be pickled or the file cannot be written.
    """
    import cloudpickle

    path = Path(fpath).expanduser() if fpath is not None else default_flow_path(flow.name)
    try:
        payload = cloudpickle.dumps(flow)
    except Exception as exc:
        raise FlowStorageError(
            f"Flow {flow.name!r} could not be pickled for {str(path)!r}: {exc!r}. Every task, "
            "default value and result of the flow must be picklable."
        ) from exc
    header = {"format": _FORMAT, "flow_name": flow.name, **_versions()}
    data = MAGIC + json.dumps(header).encode() + b"\n" + payload
    try:
        from headwater.engine.results._files import atomic_write_bytes

        atomic_write_bytes(str(path), data)
    except OSError as exc:
        raise FlowStorageError(
            f"Could not write flow {flow.name!r} to {str(path)!r}: {exc}"
        ) from exc
    return str(path)


def is_flow_name(fpath_or_name: str | os.PathLike[str]) -> bool:
    """Whether :func:`load_flow` takes ``fpath_or_name`` as a flow name rather than a path.

    A string is a name unless it looks like a path: it contains a path separator, starts with
    ``.`` or ``~``, or is absolute. ``Path`` objects are always paths.

    >>> is_flow_name("nightly"), is_flow_name("My ETL: Daily!"), is_flow_name("nightly.hwflow")
    (True, True, True)
    >>> is_flow_name("./nightly"), is_flow_name("flows/nightly"), is_flow_name(Path("nightly"))
    (False, False, False)
    """
    if not isinstance(fpath_or_name, str):
        return False
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return not (
        any(sep in fpath_or_name for sep in separators)
        or fpath_or_name.startswith((".", "~"))
        or os.path.isabs(fpath_or_name)
    )


def _resolve(fpath_or_name: str | os.PathLike[str]) -> Path:
    """The file to load: a bare name only ever resolves under :func:`flows_dir`."""
    if is_flow_name(fpath_or_name):
        name = os.fspath(fpath_or_name)
        by_name = flows_dir() / name if name.endswith(SUFFIX) else default_flow_path(name)
        if by_name.is_file():
            return by_name
        raise FlowStorageError(
            f"No saved flow {name!r}: no flow of that name was saved in "
            f"{str(by_name.parent)!r} (looked for {str(by_name)!r}). A bare name is only "
            f"looked up there; to load a file, pass its path, e.g. Flow.load('./{name}')."
        )
    path = Path(fpath_or_name).expanduser()
    if path.is_file():
        return path
    raise FlowStorageError(f"No saved flow at {str(path)!r}: the file does not exist.")


def load_flow(fpath_or_name: str | os.PathLike[str]) -> Flow:
    """Load a flow written by :func:`save_flow`, from a path or by flow name.

    Args:
        fpath_or_name: the name of a flow saved in the default place (``{home_dir}/flows``),
            or a file path. A plain string without a path separator is always a name, even
            if a file of that name exists in the current directory; write ``./name`` (or pass
            a ``Path``) to load such a file.

    Raises:
        FlowStorageError: no such file, or the file is not a loadable saved flow.
    """
    import pickle

    from headwater.core.flow import Flow

    path = _resolve(fpath_or_name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlowStorageError(f"Could not read saved flow {str(path)!r}: {exc}") from exc
    if not data.startswith(MAGIC):
        raise FlowStorageError(
            f"{str(path)!r} is not a saved headwater flow (it does not start with the header "
            "that Flow.save writes)."
        )
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC) : end])
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
    except ValueError as exc:
        raise FlowStorageError(f"Saved flow {str(path)!r} has a damaged header: {exc}") from exc
    mismatch = _describe_mismatch(header)
    if mismatch:
        warnings.warn(
            f"Saved flow {str(path)!r} was written by {mismatch}; it may fail to load or behave "
            "differently. Save it again with this version to silence this warning.",
            FlowVersionWarning,
            stacklevel=2,
        )
    try:
        flow = pickle.loads(data[end + 1 :])
    except Exception as exc:
        hint = f" It was written by {mismatch}." if mismatch else ""
        raise FlowStorageError(
            f"Could not unpickle the flow in {str(path)!r}: {exc!r}.{hint}"
        ) from exc
    if not isinstance(flow, Flow):
        raise FlowStorageError(f"{str(path)!r} holds a {type(flow).__name__}, not a Flow.")
    return flow


def _describe_mismatch(header: dict[str, Any]) -> str:
    now = _versions()
    parts = []
    hw, py = header.get("headwater_version"), header.get("python_version")
    if hw != now["headwater_version"]:
        parts.append(f"headwater {hw} (this is headwater {now['headwater_version']})")
    if py is None or py.split(".")[:2] != now["python_version"].split(".")[:2]:
        parts.append(f"Python {py} (this is Python {now['python_version']})")
    return " and ".join(parts)
