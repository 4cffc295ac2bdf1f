"""State handlers that tell someone when a task or flow changes state.

A state handler is ``fn(task_or_flow, old_state, new_state) -> State | None``, given to a task
or flow as ``state_handlers=[...]``. :func:`slack_notifier` posts a message to a Slack
incoming webhook, whose URL is the secret ``SLACK_WEBHOOK_URL`` (set it in the ``[context.secrets]``
section of your config or as ``HEADWATER__CONTEXT__SECRETS__SLACK_WEBHOOK_URL``).
:func:`callback_factory` turns any ``fn(obj, state)`` into a handler that runs when a check
passes::

    from headwater import Flow, task
    from headwater.engine.state import Failed
    from headwater.utilities.notifications import callback_factory, slack_notifier

    failures = []
    record_failures = callback_factory(lambda obj, state: failures.append(obj.name), lambda s: s.is_failed())

    @task(state_handlers=[record_failures])
    def broken():
        raise ValueError("no")

    with Flow("notify") as flow:
        broken()

    flow.run()
    assert failures == ["broken"]

    # posting to Slack only on failure (the handler is configured by keyword arguments):
    notify_failures = slack_notifier(only_states=[Failed])
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.utilities._webhooks import check_webhook_url, post_json, redact

if TYPE_CHECKING:
    from headwater.engine.state import State

__all__ = ["callback_factory", "slack_message_formatter", "slack_notifier"]


def callback_factory(
    fn: Callable[[Any, State], Any], check: Callable[[State], bool]
) -> Callable[..., State]:
    """A state handler that calls ``fn(task_or_flow, new_state)`` whenever ``check(new_state)``.

    Args:
        fn: the callback; its return value is ignored.
        check: decides from the new state whether ``fn`` runs.

    Returns:
        ``state_handler(task_or_flow, old_state, new_state)``, which returns ``new_state``.
    """

    def state_handler(obj: Any, old_state: State, new_state: State) -> State:
        if check(new_state):
            fn(obj, new_state)
        return new_state

    return state_handler


def _secret(name: str) -> Any:
    from headwater.client import Secret

    return Secret(name).get()


def slack_message_formatter(tracked_obj: Any, state: State) -> dict[str, Any]:
    """The JSON body posted to Slack for ``tracked_obj`` entering ``state``."""
    kind = "Flow" if _is_flow(tracked_obj) else "Task"
    name = getattr(tracked_obj, "name", repr(tracked_obj))
    state_name = type(state).__name__
    fields: list[dict[str, Any]] = [
        {"title": "Message", "value": str(state.message), "short": False}
    ]
    if isinstance(state.result, BaseException):
        fields.append({"title": "Exception", "value": repr(state.result), "short": False})
    text = f"{kind} {name!r} is now in a {state_name} state"
    return {
        "text": text,
        "attachments": [
            {
                "fallback": f"State change notification for {name}",
                "color": state.color,
                "author_name": "headwater",
                "title": state_name,
                "text": text,
                "fields": fields,
                "ts": int(datetime.datetime.now(datetime.UTC).timestamp()),
            }
        ],
    }


def _is_flow(obj: Any) -> bool:
    from headwater.core.flow import Flow

    return isinstance(obj, Flow)


def slack_notifier(
    task_or_flow: Any = None,
    old_state: State | None = None,
    new_state: State | None = None,
    ignore_states: Iterable[type] | None = None,
    only_states: Iterable[type] | None = None,
    webhook_secret: str | None = None,
    backend: Callable[[str, dict[str, Any]], Any] | None = None,
) -> Any:
    """A state handler posting each state change to a Slack webhook.

    Use it directly (``state_handlers=[slack_notifier]``) or configure it first, either with
    ``functools.partial(slack_notifier, only_states=[Failed])`` or by calling it with keyword
    arguments only (``slack_notifier(only_states=[Failed])``), which returns the configured
    handler.

    Args:
        task_or_flow: the task or flow whose state changed.
        old_state: its previous state.
        new_state: its new state.
        ignore_states: state classes (subclasses included) that are not reported.
        only_states: if given, only these state classes (subclasses included) are reported.
        webhook_secret: name of the secret holding the webhook URL (default
            ``"SLACK_WEBHOOK_URL"``).
        backend: ``fn(url, payload)`` that delivers the message; the default POSTs JSON with
            ``urllib``.

    Returns:
        ``new_state`` unchanged (or the configured handler, when called without a state).

    Raises:
        ValueError: the secret is not set or is not a usable URL, or the webhook did not accept
            the message. The message never contains the webhook URL, which is a secret.
    """
    if task_or_flow is None and new_state is None:
        return functools.partial(
            slack_notifier,
            ignore_states=ignore_states,
            only_states=only_states,
            webhook_secret=webhook_secret,
            backend=backend,
        )
    if new_state is None:
        raise TypeError(
            "slack_notifier is a state handler: call it as fn(task_or_flow, old_state, new_state)."
        )
    ignore = tuple(ignore_states or ())
    only = tuple(only_states or ())
    if ignore and isinstance(new_state, ignore):
        return new_state
    if only and not isinstance(new_state, only):
        return new_state
    secret_name = webhook_secret or "SLACK_WEBHOOK_URL"
    url = _secret(secret_name)
    if not url:
        raise ValueError(f"Secret {secret_name!r} is empty; it must hold the Slack webhook URL.")
    url = str(url)
    check_webhook_url(url, secret_name)
    payload = slack_message_formatter(task_or_flow, new_state)
    post = backend or post_json
    error = None
    try:
        post(url, payload)
    except Exception as exc:
        error = redact(str(exc), url) or type(exc).__name__
    if error is not None:
        # raised outside the except block: the original error, which may quote the URL, is
        # neither the cause nor the context of this one
        name = getattr(task_or_flow, "name", task_or_flow)
        raise ValueError(f"Slack notification for {name!r} failed: {error}")
    return new_state
