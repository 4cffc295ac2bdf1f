"""The Starlette application of the UI: its routes, guards and templates.

:func:`build_app` puts together the pages (:mod:`headwater.ui._pages`,
:mod:`headwater.ui._run_pages`), the JSON API (:mod:`headwater.ui._api`), its OpenAPI schema,
the static files (the vendored htmx, the style sheet) and the guards of
:mod:`headwater.ui._security`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from headwater.ui._data import StoreAccess
from headwater.ui._launch import Launcher, registered
from headwater.ui._security import SECURITY_HEADERS, Guard, is_loopback

__all__ = ["UIState", "build_app", "render", "set_token_cookie"]


@dataclass
class UIState:
    """What every request handler of one UI shares."""

    data: StoreAccess
    launcher: Launcher
    guard: Guard
    templates: Any  # a jinja2.Environment
    refresh_live: float = 1.0
    refresh_idle: float = 5.0
    allow_remote: bool = False


def _templates() -> Any:
    from headwater.ui._format import template_environment

    return template_environment()


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``name`` (a template) with ``context`` and what every page shows."""
    state: UIState = request.app.state.ui
    token_ok = state.guard.cookie_ok(request.cookies)
    page = state.templates.get_template(name).render(
        request_path=request.url.path,
        token_ok=token_ok,
        form_key=state.guard.form_key if token_ok else "",
        registered=sorted(state.launcher.flows),
        refresh_live=state.refresh_live,
        refresh_idle=state.refresh_idle,
        **context,
    )
    return HTMLResponse(page, status_code=status)


def set_token_cookie(response: Response, guard: Guard) -> None:
    """Keep the token in the browser: an ``HttpOnly``, ``SameSite=Strict`` cookie."""
    response.set_cookie(guard.cookie, guard.token, httponly=True, samesite="strict", path="/")


def _host_of(request: Request) -> str:
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _Guards(BaseHTTPMiddleware):
    """Loopback host names only (unless remote access is allowed), ``?token=`` into a
    cookie, and the security headers on every response."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        state: UIState = request.app.state.ui
        response: Response
        if not state.allow_remote and not is_loopback(_host_of(request)):
            response = PlainTextResponse(
                "This headwater UI answers requests to 127.0.0.1 or localhost only.", 400
            )
        elif request.method == "GET" and "token" in request.query_params:
            response = _take_token(request, state)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


def _take_token(request: Request, state: UIState) -> Response:
    from urllib.parse import urlencode

    if not state.guard.query_ok(request.query_params.get("token")):
        return PlainTextResponse(
            "That token is not this UI's: use the URL printed when `headwater ui` started.", 403
        )
    rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    path = "/" + request.url.path.lstrip("/")  # never "//host": that would leave the UI
    redirect = RedirectResponse(path + (f"?{rest}" if rest else ""), 303)
    set_token_cookie(redirect, state.guard)
    return redirect


async def _openapi(request: Request) -> Response:
    from headwater.ui._openapi import openapi_schema

    return JSONResponse(openapi_schema())


async def _states_css(request: Request) -> Response:
    from headwater.ui._format import state_color, state_names

    rules = [f".state-{n} {{ background: {state_color(n)}; }}" for n in state_names()]
    return Response("\n".join(rules) + "\n", media_type="text/css")


def _routes() -> list[BaseRoute]:
    from headwater.ui import _pages, _run_pages
    from headwater.ui._api import ENDPOINTS

    routes: list[BaseRoute] = [
        Route(e.path, e.handler, methods=[e.method], name=e.operation) for e in ENDPOINTS
    ]
    routes.append(Route("/api/openapi.json", _openapi, methods=["GET"]))
    routes += _pages.ROUTES + _run_pages.ROUTES
    routes.append(Route("/states.css", _states_css, methods=["GET"]))
    routes.append(
        Mount("/static", StaticFiles(packages=[("headwater.ui", "static")]), name="static")
    )
    return routes


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": f"no such endpoint: {request.url.path}"}, 404)
    return render(request, "error.html", 404, title="Not found", message="There is no such page.")


def build_app(
    data: StoreAccess,
    *,
    flows: Iterable[Any] = (),
    token: str,
    history_target: str | None = None,
    refresh_seconds: tuple[float, float] = (1.0, 5.0),
    allow_remote: bool = False,
) -> Starlette:
    """The UI's Starlette application over the store ``data``.

    Args:
        data: the history store.
        flows: the flows it may start.
        token: the token actions need.
        history_target: where runs it starts record (the store's target).
        refresh_seconds: how often pages poll while runs are live, and otherwise.
        allow_remote: answer requests naming any host, not only loopback.
    """
    launcher = Launcher(registered(flows), data.find_run, history_target)
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(_Guards)],
        exception_handlers={404: _not_found},
    )
    app.state.ui = UIState(
        data=data,
        launcher=launcher,
        guard=Guard(token),
        templates=_templates(),
        refresh_live=refresh_seconds[0],
        refresh_idle=refresh_seconds[1],
        allow_remote=allow_remote,
    )
    return app
