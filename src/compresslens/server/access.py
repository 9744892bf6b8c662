"""Who may talk to the server: a token off loopback, loopback Host names on it.

A server bound to the network answers only requests that carry its token (a bearer header,
or the cookie set when the page is opened with `?token=`); a server on loopback answers only
requests whose Host header is a loopback name, so a web page that rebinds its own DNS name
to 127.0.0.1 cannot read the API (DNS rebinding). Either way a state-changing request sent
by another site's page (an `Origin` that is not the server's own) is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from compresslens.errors import InvalidTokenError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "compresslens_token"
TOKEN_VARIABLE = "COMPRESSLENS_TOKEN"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,512}")


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a Host header without its port: `[::1]:8765` → `::1`, `a:80` → `a`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def check_token(token: str) -> None:
    """A token given by the user: 16-512 URL-safe characters, so the printed URL and the cookie
    carry it unchanged and guessing it over the network is hopeless."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise InvalidTokenError(
            "a server token is 16-512 characters of A-Z, a-z, 0-9, '.', '_', '~' or '-' "
            "(e.g. `openssl rand -hex 32`)"
        )


def new_token() -> str:
    """A fresh random token (32 bytes of `secrets`, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Access:
    """The checks every request passes: a required token, and/or loopback Host names only."""

    token: str | None = None
    loopback_hosts_only: bool = False

    @classmethod
    def for_host(cls, host: str, token: str | None = None) -> Access:
        """What `compresslens serve --host HOST` enforces: off loopback a token (the one given,
        else a new one); on loopback the Host check, and the token too when one is given."""
        if token:
            check_token(token)
        if is_loopback(host):
            return cls(token=token or None, loopback_hosts_only=True)
        return cls(token=token or new_token(), loopback_hosts_only=False)

    def refusal(self, scope: Scope) -> tuple[int, str, dict[str, str]] | None:
        """(status, message, extra headers) when the request may not pass, else None."""
        headers = _headers(scope)
        host_header = headers.get("host", "").lower()
        host = host_name(host_header)
        if self.loopback_hosts_only and not is_loopback(host):
            return (
                403,
                (
                    f"Host {host!r} is not a loopback name: this server on loopback answers "
                    "requests for localhost, 127.x.x.x or [::1] only (DNS rebinding protection)"
                ),
                {},
            )
        origin = headers.get("origin")
        unsafe = scope.get("method", "GET") not in SAFE_METHODS
        if unsafe and origin is not None and urlsplit(origin).netloc.lower() != host_header:
            return 403, f"cross-site request from {origin!r} refused", {}
        if self.token is not None and not self.token_matches(self.offered_token(scope)):
            return (
                401,
                (
                    "this server needs its token: open the URL it printed (…/?token=…) or send "
                    "'Authorization: Bearer <token>'"
                ),
                {"www-authenticate": "Bearer"},
            )
        return None

    def offered_token(self, scope: Scope) -> str | None:
        """The token a request carries: bearer header, then the cookie, then `?token=`."""
        headers = _headers(scope)
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip()
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token, not an error
            cookie = SimpleCookie()
        if TOKEN_COOKIE in cookie:
            return cookie[TOKEN_COOKIE].value
        return query_token(scope)

    def token_matches(self, offered: str | None) -> bool:
        """A constant-time comparison with the server's token."""
        if self.token is None:
            return True
        return offered is not None and hmac.compare_digest(
            offered.encode("utf-8", "surrogateescape"), self.token.encode()
        )


def query_token(scope: Scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class AccessMiddleware:
    """ASGI middleware applying an `Access` to every HTTP request (lifespan passes through)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.access.refusal(scope)
        if refused is not None and scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        if refused is not None:
            await _refuse(send, *refused)
            return
        token = query_token(scope)
        if self.access.token is None or not self.access.token_matches(token):
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _refuse(send: Send, status: int, message: str, extra: dict[str, str]) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
