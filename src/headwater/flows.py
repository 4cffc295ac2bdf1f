"""``@flow`` and the class of modern flows (Prefect 2/3's ``prefect.flows``).

>>> from headwater import flow
>>> @flow
... def hello(name: str = "world") -> str:
...     return f"hello {name}"
>>> hello()
'hello world'

See :mod:`headwater.modern.flow`; Prefect 1's graph class is :class:`headwater.Flow`.
"""

from __future__ import annotations

from headwater.modern.flow import Flow, flow

__all__ = ["Flow", "flow"]
