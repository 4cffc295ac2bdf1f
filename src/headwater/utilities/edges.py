"""Public path of the edge annotations ``mapped``, ``unmapped`` and ``flatten``."""

from headwater.core.edge import EdgeAnnotation, flatten, mapped, unmapped

__all__ = ["EdgeAnnotation", "flatten", "mapped", "unmapped"]
