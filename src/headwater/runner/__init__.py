"""Prefect 3's ``prefect.runner`` paths: where a deployment's code is fetched from.

Only :mod:`headwater.runner.storage` is here: the storages ``flow.from_source(...)`` takes,
which need Prefect's server and raise. To run flows on their schedules in this process, use
``flow.serve(...)`` or :func:`headwater.deployments.serve`.
"""

from __future__ import annotations

__all__: list[str] = []
