"""Prefect 3's ``prefect.input``: input that a paused flow run receives through the server.

In Prefect 3 a flow run pauses, and someone sends it input (a :class:`RunInput`) through the
server or its UI. headwater's runs are calls in one process, with no server to send input
through: pass the values as flow parameters (the UI of ``headwater ui`` starts a run with
them). Defining a :class:`RunInput` subclass works, so modules that declare one still import;
receiving, sending or storing input raises
:class:`~headwater.exceptions.ServerNotAvailableError` saying so::

    from headwater.exceptions import ServerNotAvailableError
    from headwater.input import RunInput, receive_input

    class Approval(RunInput):
        approved: bool

    try:
        receive_input(Approval)
    except ServerNotAvailableError as exc:
        assert "parameters" in str(exc)
"""

from __future__ import annotations

from typing import Any, NoReturn

from headwater._server_only import ServerOnly, server_only, server_only_function

__all__ = [
    "GetInputHandler",
    "Keyset",
    "RunInput",
    "RunInputMetadata",
    "acreate_flow_run_input",
    "acreate_flow_run_input_from_model",
    "adelete_flow_run_input",
    "afilter_flow_run_input",
    "aread_flow_run_input",
    "create_flow_run_input",
    "create_flow_run_input_from_model",
    "delete_flow_run_input",
    "filter_flow_run_input",
    "keyset_from_base_key",
    "keyset_from_paused_state",
    "read_flow_run_input",
    "receive_input",
    "send_input",
]

_LOCALLY = (
    "pass the values as flow parameters (`headwater ui` starts a run with them); a run does "
    "not wait for input in headwater"
)


class RunInput:
    """The base class of a flow run's input schema; subclass it as in Prefect 3.

    Its fields are annotations, as on a pydantic model. Loading, sending or receiving input
    raises: there is no server to keep it.
    """

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> NoReturn:
        """Read the input stored for a run (raises)."""
        server_only(f"{cls.__name__}.load()", _LOCALLY)

    @classmethod
    def receive(cls, *args: Any, **kwargs: Any) -> NoReturn:
        """Wait for input sent to this run (raises)."""
        server_only(f"{cls.__name__}.receive()", _LOCALLY)

    def save(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Store this input for a run (raises)."""
        server_only(f"{type(self).__name__}.save()", _LOCALLY)

    def send_to(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Send this input to a run (raises)."""
        server_only(f"{type(self).__name__}.send_to()", _LOCALLY)

    def respond(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Answer the run this input came from (raises)."""
        server_only(f"{type(self).__name__}.respond()", _LOCALLY)


class RunInputMetadata(ServerOnly):
    """Where a run's input came from, kept by the server; creating one raises."""

    _alternative = _LOCALLY


class Keyset(ServerOnly):
    """The keys under which the server keeps a run's input; creating one raises."""

    _alternative = _LOCALLY


class GetInputHandler(ServerOnly):
    """Iterates over input sent to a run through the server; creating one raises."""

    _alternative = _LOCALLY


receive_input = server_only_function("receive_input", _LOCALLY)
send_input = server_only_function("send_input", _LOCALLY)
keyset_from_base_key = server_only_function("keyset_from_base_key", _LOCALLY)
keyset_from_paused_state = server_only_function("keyset_from_paused_state", _LOCALLY)
create_flow_run_input = server_only_function("create_flow_run_input", _LOCALLY)
acreate_flow_run_input = server_only_function("acreate_flow_run_input", _LOCALLY)
create_flow_run_input_from_model = server_only_function(
    "create_flow_run_input_from_model", _LOCALLY
)
acreate_flow_run_input_from_model = server_only_function(
    "acreate_flow_run_input_from_model", _LOCALLY
)
read_flow_run_input = server_only_function("read_flow_run_input", _LOCALLY)
aread_flow_run_input = server_only_function("aread_flow_run_input", _LOCALLY)
filter_flow_run_input = server_only_function("filter_flow_run_input", _LOCALLY)
afilter_flow_run_input = server_only_function("afilter_flow_run_input", _LOCALLY)
delete_flow_run_input = server_only_function("delete_flow_run_input", _LOCALLY)
adelete_flow_run_input = server_only_function("adelete_flow_run_input", _LOCALLY)
