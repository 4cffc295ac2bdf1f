"""``Webhook`` storage (metadata only in headwater): flows sent to and fetched from HTTP APIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.storage._metadata import MetadataStorage

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Webhook"]

_METHODS = ("GET", "PATCH", "POST", "PUT")


class Webhook(MetadataStorage):
    """One flow uploaded with one HTTP request and downloaded with another.

    Args:
        build_request_kwargs: keyword arguments of the upload request (``url``, ``headers``...).
        build_request_http_method: ``"GET"``, ``"PATCH"``, ``"POST"`` or ``"PUT"``.
        get_flow_request_kwargs: keyword arguments of the download request.
        get_flow_request_http_method: the download's HTTP method.
        stored_as_script: upload the script at ``flow_script_path`` instead of a pickle.
        flow_script_path: the script to upload.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        RuntimeError: an HTTP method is not one of the four above.
        TypeError: a request's keyword arguments are not a dict.
    """

    _where = "a webhook"

    def __init__(
        self,
        build_request_kwargs: Mapping[str, Any],
        build_request_http_method: str,
        get_flow_request_kwargs: Mapping[str, Any],
        get_flow_request_http_method: str,
        stored_as_script: bool = False,
        flow_script_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        for method in (build_request_http_method, get_flow_request_http_method):
            if method not in _METHODS:
                raise RuntimeError(
                    f"HTTP method '{method}' not recognized; use one of {', '.join(_METHODS)}."
                )
        for name, value in (
            ("build_request_kwargs", build_request_kwargs),
            ("get_flow_request_kwargs", get_flow_request_kwargs),
        ):
            if not isinstance(value, Mapping):
                raise TypeError(f"Webhook storage: {name} must be a dict, got {value!r}.")
        self.build_request_kwargs = dict(build_request_kwargs)
        self.build_request_http_method = build_request_http_method
        self.get_flow_request_kwargs = dict(get_flow_request_kwargs)
        self.get_flow_request_http_method = get_flow_request_http_method
        self.flow_script_path = flow_script_path
        super().__init__(stored_as_script=stored_as_script, **kwargs)

    def location(self, flow: Flow) -> str:
        return flow.name

    def add_flow(self, flow: Flow) -> str:
        """Keep ``flow`` as this storage's only flow (a webhook holds one); returns its name."""
        self.flows = {flow.name: flow.name}
        self._flows = {flow.name: flow}
        return flow.name
