"""Serving the UI with uvicorn: in a background thread (:meth:`UIServer.start`) or in the
foreground until Ctrl-C (:meth:`UIServer.serve_forever`).

The socket is bound before the server starts (port 0 picks a free port), so the URL is known
at once; a host that is not loopback is refused unless remote access is allowed.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from typing import Any

import uvicorn

from headwater.ui._app import build_app
from headwater.ui._data import StoreAccess
from headwater.ui._security import is_loopback, new_token

__all__ = ["START_TIMEOUT", "UIServer", "check_host"]

START_TIMEOUT = 30.0
"""Seconds :meth:`UIServer.start` waits for the server to answer."""


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a host that is not loopback, unless ``allow_remote``.

    Raises:
        ValueError: ``host`` is not a loopback address and remote access is not allowed.
    """
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host!r}: the UI shows every recorded run and can start "
            "flows, so it listens on loopback (127.0.0.1) only; pass --allow-remote "
            "(allow_remote=True) to listen on another address"
        )


class _Server(uvicorn.Server):
    """uvicorn's server, telling an event once it is listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class UIServer:
    """The UI over a history store, served on ``host:port``.

    Args:
        db: the history database (a SQLite path or a ``postgresql://`` URL; default: the
            configured ``history.url`` or ``history.path``).
        flows: flows the UI may start (``Flow`` objects or ``(name, Flow)`` pairs).
        host: the address to listen on (loopback unless ``allow_remote``).
        port: the port (0: a free one).
        token: the token actions need (default: a new random one).
        allow_remote: allow a host that is not loopback.
        refresh_seconds: how often pages poll while runs are live, and otherwise.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        flows: Iterable[Any] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        allow_remote: bool = False,
        refresh_seconds: tuple[float, float] = (1.0, 5.0),
    ) -> None:
        check_host(host, allow_remote)
        self.token = token or new_token()
        target = None if db is None else os.fspath(db)
        self.data = StoreAccess(target)
        try:
            self.app = build_app(
                self.data,
                flows=flows,
                token=self.token,
                history_target=target,
                refresh_seconds=refresh_seconds,
                allow_remote=allow_remote,
            )
            self.socket = _bind(host, port)
        except BaseException:
            self.data.close()
            raise
        self.port = int(self.socket.getsockname()[1])
        shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
        self.url = f"http://{shown}:{self.port}"
        config = uvicorn.Config(
            self.app, log_config=None, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = _Server(config)
        self.thread: threading.Thread | None = None

    @property
    def token_url(self) -> str:
        """The URL that opens the UI with the token (it is kept in a cookie)."""
        return f"{self.url}/?token={self.token}"

    def start(self) -> UIServer:
        """Serve in a background thread; returns once the server answers.

        Raises:
            RuntimeError: the server did not start within :data:`START_TIMEOUT` seconds.
        """
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.socket]},
            name="headwater-ui-server",
            daemon=True,
        )
        self.thread.start()
        if not self.server.ready.wait(START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the UI server did not start on {self.url}")
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (or :meth:`stop` from another thread)."""
        try:
            self.server.run(sockets=[self.socket])
        except KeyboardInterrupt:  # uvicorn shut down already; it re-raises the signal
            pass
        finally:
            self.close()

    def stop(self) -> None:
        """Stop serving and close the store."""
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(START_TIMEOUT)
            self.thread = None
        self.close()

    def close(self) -> None:
        """Close the socket and the store (once)."""
        if self.socket.fileno() != -1:
            self.socket.close()
        if self.data is not None:
            data, self.data = self.data, None  # type: ignore[assignment]
            data.close()

    def __enter__(self) -> UIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
