"""Prefect 2/3's ``@flow`` API, run in the calling process with no server.

The public paths are thin modules at the top of the package (``headwater.flows``,
``headwater.futures``, ``headwater.task_runners``, ``headwater.states``, ``headwater.runtime``,
``headwater.logging``); the implementation lives in the modules of this package.
"""
