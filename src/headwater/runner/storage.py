"""Where Prefect 3 fetches a deployment's code from (``prefect.runner.storage``): they raise.

``GitRepository``, ``RemoteStorage`` and ``LocalStorage`` are the ``source`` of
``flow.from_source(...)``, which loads a flow from stored code for a deployment on Prefect's
server. headwater runs the flow from the code you import, so these raise
:class:`~headwater.exceptions.ServerNotAvailableError` naming that way::

    from headwater.exceptions import ServerNotAvailableError
    from headwater.runner.storage import GitRepository

    try:
        GitRepository(url="https://example.com/org/flows.git", branch="main")
    except ServerNotAvailableError as exc:
        assert "import the flow's module" in str(exc)
"""

from __future__ import annotations

from headwater._server_only import ServerOnly

__all__ = ["BlockStorageAdapter", "GitRepository", "LocalStorage", "RemoteStorage"]

_IMPORT_LOCALLY = (
    "clone or copy the code yourself (e.g. git clone), import the flow's module and call the "
    "flow, or serve it in this process with flow.serve(...)"
)


class GitRepository(ServerOnly):
    """A git repository holding a deployment's code."""

    _alternative = _IMPORT_LOCALLY


class RemoteStorage(ServerOnly):
    """Remote storage (``s3://``, ``gcs://``...) holding a deployment's code."""

    _alternative = _IMPORT_LOCALLY


class LocalStorage(ServerOnly):
    """A local directory holding a deployment's code."""

    _alternative = _IMPORT_LOCALLY


class BlockStorageAdapter(ServerOnly):
    """A storage block holding a deployment's code."""

    _alternative = _IMPORT_LOCALLY
