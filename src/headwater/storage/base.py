"""The ``Storage`` interface every flow storage implements."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Storage", "get_default_storage_class"]


def _config_value(key: str, default: Any) -> Any:
    from headwater.configuration import current_config

    node: Any = current_config()
    for part in key.split("."):
        try:
            node = node[part]
        except (KeyError, TypeError):
            return default
    return node


def get_default_storage_class() -> type:
    """The class named by ``config.flows.defaults.storage.default_class`` (default ``Local``).

    Raises:
        ValueError: the configured class cannot be imported.
    """
    value = _config_value("flows.defaults.storage.default_class", "headwater.storage.Local")
    if not isinstance(value, str):
        return value  # type: ignore[no-any-return]
    from headwater.utilities.importtools import import_object

    try:
        return import_object(value)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise ValueError(
            f"flows.defaults.storage.default_class = {value!r} cannot be imported ({exc}); "
            "set it to the dotted path of a Storage class such as 'headwater.storage.Local'."
        ) from None


class Storage:
    """Base class of flow storages: a named collection of flows.

    Args:
        result: the default ``Result`` of flows kept here (informational).
        secrets: names of secrets the stored flows need.
        labels: labels describing where the flows can run.
        add_default_labels: kept for Prefect 1.x compatibility; headwater adds no labels.
        stored_as_script: the flows are kept as Python scripts instead of pickles.
    """

    def __init__(
        self,
        result: Any = None,
        secrets: list[str] | None = None,
        labels: list[str] | None = None,
        add_default_labels: bool | None = None,
        stored_as_script: bool = False,
    ) -> None:
        self.result = result
        self.secrets = list(secrets or [])
        self._labels = list(labels or [])
        if add_default_labels is None:
            add_default_labels = _config_value("flows.defaults.storage.add_default_labels", True)
        self.add_default_labels = add_default_labels
        self.stored_as_script = stored_as_script
        self.flows: dict[str, str] = {}
        self._flows: dict[str, Flow] = {}

    @property
    def labels(self) -> list[str]:
        """The given labels, plus :attr:`default_labels` when ``add_default_labels`` is on."""
        if not self.add_default_labels:
            return self._labels
        return sorted(set(self._labels) | set(self.default_labels))

    @labels.setter
    def labels(self, value: list[str]) -> None:
        self._labels = list(value or [])

    @property
    def default_labels(self) -> list[str]:
        """Labels this kind of storage adds by default (none for the base class)."""
        return []

    @property
    def name(self) -> str:
        """The storage's name: its class name."""
        return type(self).__name__

    @property
    def logger(self) -> logging.Logger:
        """The logger of this storage class."""
        from headwater.utilities.logging import get_logger

        return get_logger(type(self).__name__)

    def serialize(self) -> dict[str, Any]:
        """This storage as a JSON-compatible dict (Prefect 1's ``StorageSchema`` shape)."""
        from headwater.serialization.storage import StorageSchema

        return StorageSchema().dump(self)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {sorted(self.flows)}>"

    def add_flow(self, flow: Flow) -> str:
        """Store ``flow``; returns its location in this storage."""
        raise NotImplementedError(f"{type(self).__name__} does not implement add_flow")

    def get_flow(self, flow_name: str) -> Flow:
        """The stored flow called ``flow_name``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_flow")

    def build(self) -> Storage:
        """Make the storage ready to be used elsewhere; returns it."""
        return self

    def __contains__(self, obj: object) -> bool:
        """Whether a flow (or a flow name) is kept here."""
        name = getattr(obj, "name", obj)
        return isinstance(name, str) and name in self.flows
