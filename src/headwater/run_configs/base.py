"""The ``RunConfig`` base class and ``UniversalRun``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["RunConfig", "UniversalRun"]


def check_env(owner: str, env: Any) -> dict[str, Any] | None:
    """``env`` as a dict, or a ``TypeError`` naming ``owner`` when it is not a mapping."""
    if env is None:
        return None
    if not isinstance(env, Mapping):
        raise TypeError(
            f"{owner}: env must be a dict of environment variable names to values, got "
            f"{type(env).__name__} {env!r}."
        )
    bad = [k for k in env if not isinstance(k, str)]
    if bad:
        raise TypeError(f"{owner}: env variable names must be strings, got {bad!r}.")
    return dict(env)


def check_labels(owner: str, labels: Any) -> set[str]:
    """``labels`` as a set of strings (a bare string is a ``TypeError``: wrap it in a list)."""
    if labels is None:
        return set()
    if isinstance(labels, str) or not isinstance(labels, Iterable):
        raise TypeError(
            f"{owner}: labels must be a list of strings, got {labels!r}; "
            f"write labels=[{labels!r}] for a single label."
        )
    out = set(labels)
    bad = sorted(repr(x) for x in out if not isinstance(x, str))
    if bad:
        raise TypeError(f"{owner}: every label must be a string, got {', '.join(bad)}.")
    return out


def load_yaml(owner: str, text: str, what: str) -> Any:
    """Parse ``text`` as YAML (PyYAML is needed only for YAML templates)."""
    try:
        import yaml
    except ImportError:
        raise ImportError(
            f"{owner}: reading {what} as YAML needs PyYAML; install it with `pip install pyyaml`, "
            "or give the template as a dict."
        ) from None
    return yaml.safe_load(text)


class RunConfig:
    """Base class of run configs.

    Args:
        env: extra environment variables for the flow run.
        labels: labels of the run config (Prefect agents matched on them; kept as metadata).

    Raises:
        TypeError: ``env`` is not a dict, or ``labels`` is not a list of strings.
    """

    def __init__(
        self, env: Mapping[str, Any] | None = None, labels: Iterable[str] | None = None
    ) -> None:
        owner = type(self).__name__
        self.env = check_env(owner, env)
        self.labels: set[str] = check_labels(owner, labels)

    def serialize(self) -> dict[str, Any]:
        """This run config as a JSON-compatible dict (Prefect 1's ``RunConfigSchema`` shape)."""
        from headwater.serialization.run_config import RunConfigSchema

        return RunConfigSchema().dump(self)  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunConfig):
            return NotImplemented
        return self.serialize() == other.serialize()

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self).items() if v not in (None, set(), [], {})}
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(fields.items()))
        return f"{type(self).__name__}({args})"


class UniversalRun(RunConfig):
    """A run config any agent accepted in Prefect 1: only ``env`` and ``labels``.

    Args:
        env: extra environment variables for the flow run.
        labels: labels of the run config.
    """
