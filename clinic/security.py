"""Response headers for health data, the live-calls WebSocket's origin check, private files.

The Content-Security-Policy, HSTS and the other standard headers come from
Django's own middleware (settings, "Security headers"); this module adds
what Django has no setting for.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin

from clinic.proxy import is_trusted


class PrivatePagesMiddleware(MiddlewareMixin):
    """No browser or proxy cache keeps what a signed-in user was shown.

    Every page and fragment a signed-in user gets (the dashboard, the admin)
    can carry patient data, and a shared front-desk PC's cache or back button
    must not show it to the next person. Anonymous pages (the login form)
    are left to their own headers. Also sends Permissions-Policy, which
    switches off browser features the product never uses.
    """

    def process_response(self, request, response):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def websocket_origin_allowed(scope) -> bool:
    """Is the WebSocket's Origin the page's own: same scheme, host and port?

    The browser sends Origin on every WebSocket handshake and a page cannot
    forge it. It must equal the site the request was sent to (its Host, an
    allowed host, and the scheme the browser used: wss from https pages,
    which behind a TLS proxy only a trusted proxy's X-Forwarded-Proto tells
    us), or one of CSRF_TRUSTED_ORIGINS exactly. Another port on an allowed
    host is another site (a different program may run there), so it is refused.
    """
    headers = {name.decode("latin-1").lower(): value.decode("latin-1")
               for name, value in scope.get("headers", [])}
    origin = _origin_parts(headers.get("origin", ""))
    if origin is None:
        return False
    trusted = {_origin_parts(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    if origin in trusted:
        return True
    host = headers.get("host", "")
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    client = (scope.get("client") or [None])[0]
    if settings.TRUSTED_PROXIES and is_trusted(client, settings.TRUSTED_PROXIES):
        if headers.get("x-forwarded-proto", "").strip().lower() == "https":
            scheme = "https"
    try:
        own_port = int(port) if port else _DEFAULT_PORTS[scheme]
    except ValueError:
        return False
    return origin == (scheme, domain.lower(), own_port)


class SameOriginWebSocket:
    """ASGI middleware: refuse a WebSocket whose Origin is not the site's own (see above)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not websocket_origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)


def owner_only_sqlite(sender, connection, **kwargs):
    """connection_created receiver: the SQLite file (and its WAL companions) readable by its owner only.

    The file is the clinic's whole record; on a shared machine the default
    umask would let every local user read it. SQLite gives the -wal and -shm
    files it creates later the main file's mode.
    """
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, f"{name}-wal", f"{name}-shm"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            pass
