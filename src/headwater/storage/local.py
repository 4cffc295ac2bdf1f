"""``Local`` storage: flows kept as files in a local directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.exceptions import FlowStorageError
from headwater.storage.base import Storage

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Local"]


class Local(Storage):
    """Keep flows as saved-flow files in ``directory``.

    Args:
        directory: where flows are written (default ``{home_dir}/flows``); created if needed.
        validate: check at construction that ``directory`` is absolute once ``~`` is expanded.
        path: with ``stored_as_script=True``, the script file the flow is read from.
        stored_as_script: read the flow from the Python script at ``path`` instead of a pickle.
        **kwargs: passed to :class:`~headwater.storage.base.Storage`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        validate: bool = True,
        path: str | os.PathLike[str] | None = None,
        stored_as_script: bool = False,
        **kwargs: Any,
    ) -> None:
        from headwater.storage.serialize import flows_dir

        self.directory = (
            str(Path(directory).expanduser()) if directory is not None else str(flows_dir())
        )
        if validate and not os.path.isabs(self.directory):
            raise ValueError(f"Local storage needs an absolute directory, got {str(directory)!r}.")
        if stored_as_script and path is None:
            raise ValueError(
                "Local(stored_as_script=True) needs the script's path: Local(path=..., stored_as_script=True)."
            )
        self.path = str(path) if path is not None else None
        if kwargs.get("result") is None:
            from headwater.engine.results import LocalResult

            kwargs["result"] = LocalResult(dir=self.directory, validate_dir=False)
        super().__init__(stored_as_script=stored_as_script, **kwargs)

    @property
    def default_labels(self) -> list[str]:
        """This machine's host name: flows kept here can only be read on this machine."""
        import socket

        return [socket.gethostname()]

    def add_flow(self, flow: Flow) -> str:
        """Save ``flow`` into the directory (or, for scripts, record the script path).

        Raises:
            ValueError: a flow of the same name is already in this storage.
        """
        from headwater.storage.serialize import SUFFIX, save_flow, slugify

        if flow.name in self.flows:
            raise ValueError(
                f"Name conflict: a flow named {flow.name!r} is already in this storage; "
                "rename one of the flows or use another storage."
            )
        if self.stored_as_script:
            assert self.path is not None
            location = self.path
        else:
            location = save_flow(flow, os.path.join(self.directory, slugify(flow.name) + SUFFIX))
        self.flows[flow.name] = location
        return location

    def get_flow(self, flow_name: str) -> Flow:
        """Load the flow called ``flow_name`` from its file.

        Raises:
            ValueError: no flow of that name was added to this storage.
            FlowStorageError: its file is missing or damaged.
        """
        if flow_name not in self.flows:
            known = ", ".join(repr(n) for n in sorted(self.flows)) or "none"
            raise ValueError(f"Flow {flow_name!r} is not in this storage (it holds: {known}).")
        location = self.flows[flow_name]
        if self.stored_as_script:
            from headwater.utilities.storage import extract_flow_from_file

            return extract_flow_from_file(file_path=location, flow_name=flow_name)
        from headwater.storage.serialize import load_flow

        return load_flow(Path(location))  # a stored location is always a path, never a name

    def build(self) -> Local:
        """Check that every stored flow's file exists; returns the storage.

        Raises:
            FlowStorageError: a stored flow's file has disappeared.
        """
        for name, location in self.flows.items():
            if not os.path.isfile(location):
                raise FlowStorageError(f"The file of flow {name!r}, {location!r}, does not exist.")
        return self
