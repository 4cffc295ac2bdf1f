"""The UI's guards: the start-up token for actions, security headers, loopback host names.

- Actions (starting a run) need the token printed when the UI starts, given as
  ``Authorization: Bearer TOKEN``, an ``X-Headwater-Token: TOKEN`` header, or, from a page, the
  form's ``token`` field. Opening any page with ``?token=TOKEN`` once stores it in an
  ``HttpOnly``, ``SameSite=Strict`` cookie; forms then carry a key derived from it, so a page of
  another site cannot post one (the cookie alone is not enough).
- Every response carries a restrictive ``Content-Security-Policy`` (scripts and styles from the
  UI itself only, no inline scripts, no frames), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` and ``X-Frame-Options: DENY``.
- Unless remote access is allowed, only requests naming a loopback host (``127.0.0.1``,
  ``localhost``, ``[::1]``) are answered, which defeats DNS rebinding.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "COOKIE",
    "HEADER",
    "SECURITY_HEADERS",
    "Guard",
    "is_loopback",
    "new_token",
]

COOKIE = "headwater_ui_token"
HEADER = "X-Headwater-Token"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def new_token() -> str:
    """A fresh random token (32 bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Guard:
    """Checks the token of the UI process.

    Args:
        token: the token actions need.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.form_key = hmac.new(token.encode(), b"headwater-ui-form", hashlib.sha256).hexdigest()
        # cookies are shared by every port of a host: each UI's token gets a cookie of its own
        self.cookie = f"{COOKIE}_{hashlib.sha256(token.encode()).hexdigest()[:12]}"

    def header_ok(self, headers: Mapping[str, str]) -> bool:
        """Whether the request's headers carry the token (``Authorization`` or ``X-...``)."""
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self.token):
            return True
        return _same(headers.get(HEADER.lower()), self.token)

    def cookie_ok(self, cookies: Mapping[str, str]) -> bool:
        """Whether the request's cookie holds the token."""
        return _same(cookies.get(self.cookie), self.token)

    def form_ok(self, form: Mapping[str, Any], cookies: Mapping[str, str]) -> bool:
        """Whether a posted form may act: its ``token`` field, or the cookie and the form key."""
        token = form.get("token")
        if isinstance(token, str) and token and _same(token.strip(), self.token):
            return True
        key = form.get("form_key")
        return self.cookie_ok(cookies) and isinstance(key, str) and _same(key, self.form_key)

    def query_ok(self, value: str | None) -> bool:
        """Whether a ``?token=`` value is the token."""
        return _same(value, self.token)
