"""``Module`` storage: a flow read from an importable Python module (works in headwater)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.storage.base import Storage

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Module"]


class Module(Storage):
    """Flows defined in an importable module, loaded by importing it.

    Args:
        module: the module's dotted import path, e.g. ``"mypkg.flows.etl"``.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``module`` is not a non-empty string.
    """

    def __init__(self, module: str, **kwargs: Any) -> None:
        if not isinstance(module, str) or not module:
            raise TypeError(
                f"Module storage needs the dotted import path of a module, got {module!r}."
            )
        self.module = module
        super().__init__(**kwargs)

    def add_flow(self, flow: Flow) -> str:
        """Record that ``flow`` is defined in the module; returns the module path.

        Raises:
            ValueError: a flow of the same name is already in this storage.
        """
        if flow.name in self.flows:
            raise ValueError(
                f'Name conflict: Flow with the name "{flow.name}" is already present in this '
                "storage."
            )
        self.flows[flow.name] = self.module
        self._flows[flow.name] = flow
        return self.module

    def get_flow(self, flow_name: str | None = None) -> Flow:
        """Import the module and return its flow called ``flow_name`` (or its only flow)."""
        from headwater.utilities.storage import extract_flow_from_module

        return extract_flow_from_module(self.module, flow_name=flow_name)
