"""Task caching internals: stable hashes, the in-process store and signed cache files.

The public entry points are the task options (``cache_for``, ``cache_validator``,
``cache_key``), :mod:`headwater.engine.cache_validators` and
:mod:`headwater.engine.persistent_cache`; the modules here implement them:

- :mod:`~headwater.engine.caching.hashing`: hashes of values and task code that are the same in
  every process;
- :mod:`~headwater.engine.caching.in_process`: adding states to ``context.caches`` while keeping
  it free of expired entries;
- :mod:`~headwater.engine.caching.signing`: the per-user cache key, entry signatures and the
  ownership and permission checks of cache directories and files;
- :mod:`~headwater.engine.caching.entries`: what a persistent entry holds, and reading one back
  without trusting it.
"""

from __future__ import annotations
