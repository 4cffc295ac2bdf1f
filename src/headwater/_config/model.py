"""The pydantic model of headwater's known configuration keys, built from the schema.

:func:`build_model` makes one strict model section per section of
:data:`~headwater._config.schema.KEYS`, each field typed by its key's kind; unknown keys are
allowed. Importing pydantic and building the model costs about 100 ms, so nothing imports this
module when headwater is imported::

    from headwater._config.model import build_model

    Model = build_model()
    assert Model.model_fields["flows"].annotation.model_fields["checkpointing"].annotation is bool
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from headwater._config.layers import KeyPath, Source, dotted
from headwater._config.schema import DOTTED_PATH, KEYS, LOG_LEVELS, OPEN_SECTIONS, Kind
from headwater.exceptions import ConfigurationError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["annotation", "build_model", "check_against_model", "validate"]


def annotation(kind: Kind) -> Any:
    """The pydantic type (validated in strict mode) that accepts what ``kind.check`` accepts.

    Raises:
        ValueError: ``kind`` is not one of the schema's kinds.
    """
    from pydantic import Field, StringConstraints

    def text(pattern: str) -> Any:
        return Annotated[str, StringConstraints(pattern=pattern)]

    levels = "|".join(sorted(LOG_LEVELS))
    types: dict[str, Any] = {
        "string": str,
        "boolean": bool,
        "string_list": list[str],
        "class_path": text(f"^(?:{DOTTED_PATH.pattern})$") | type,
        "log_level": int | text(f"(?i)^(?:{levels})$"),
        "retries": Annotated[int, Field(ge=0)] | None,
        "seconds": Annotated[float, Field(ge=0)] | datetime.timedelta | None,
        "progress": bool | text(r"(?i)^\s*auto\s*$"),
        "count": Annotated[int, Field(ge=0)],
    }
    if kind.name not in types:
        raise ValueError(f"no pydantic type for configuration kind {kind.name!r}")
    return types[kind.name]


def _tree() -> dict[str, Any]:
    """The schema as nested dicts: a section maps names to subtrees, a leaf is a ``Kind``
    (or ``None`` for a section of the user's own keys)."""
    tree: dict[str, Any] = {}
    leaves: list[tuple[KeyPath, Kind | None]] = [(k.path, k.kind) for k in KEYS]
    leaves += [(path, None) for path in OPEN_SECTIONS]
    for path, kind in leaves:
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = kind
    return tree


def _section_model(name: str, tree: Mapping[str, Any], base: type[BaseModel]) -> Any:
    from pydantic import Field, create_model

    fields: dict[str, Any] = {}
    for part, sub in tree.items():
        if isinstance(sub, Kind):
            fields[part] = (annotation(sub), ...)
        elif sub is None:
            fields[part] = (dict[str, Any], Field(default_factory=dict))
        else:
            fields[part] = (_section_model(part.title().replace("_", ""), sub, base), ...)
    return create_model(name, __base__=base, **fields)


@functools.lru_cache(maxsize=1)
def build_model() -> type[BaseModel]:
    """The pydantic model of every known key (built once); unknown keys are allowed."""
    from pydantic import BaseModel, ConfigDict

    class Section(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)

    model: type[BaseModel] = _section_model("HeadwaterConfig", _tree(), Section)
    return model


def check_against_model(data: Mapping[str, Any], sources: Mapping[KeyPath, Source]) -> None:
    """Check loaded ``data`` against the model; missing keys are not errors here.

    Raises:
        ConfigurationError: listing each invalid key, its value and where it came from.
    """
    from pydantic import ValidationError

    try:
        build_model().model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["type"] == "missing":
                continue  # a file of other defaults may leave known keys out
            loc = tuple(str(p) for p in err["loc"])
            where = next(
                (sources[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in sources), None
            )
            origin = f" (from {where})" if where is not None else ""
            problems.append(f"{dotted(loc)}: {err['msg']}, got {err['input']!r}{origin}")
        if problems:
            raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


def validate(config: Mapping[str, Any]) -> None:
    """Check a whole configuration against the model, missing keys included.

    Raises:
        ConfigurationError: listing every invalid or missing key and why.
    """
    from pydantic import ValidationError

    from headwater.utilities.collections import as_nested_dict

    try:
        build_model().model_validate(as_nested_dict(config, dict))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: "
            + ("missing" if err["type"] == "missing" else f"{err['msg']} (got {err['input']!r})")
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None
