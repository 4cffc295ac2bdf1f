"""Flow storage: where flows are kept between the process that builds them and the one that runs them.

:class:`Local` keeps flows as files in a directory (default ``{home_dir}/flows``)::

    import tempfile
    from headwater import Flow, task
    from headwater.storage import Local

    @task
    def hello():
        return "hello"

    with Flow("greeting") as flow:
        hello()

    storage = Local(directory=tempfile.mkdtemp())
    location = storage.add_flow(flow)
    assert "greeting" in storage
    assert storage.get_flow("greeting").name == "greeting"
"""

from __future__ import annotations

from headwater.storage.base import Storage
from headwater.storage.local import Local

__all__ = ["Local", "Storage"]
