"""GET /health/: can this web process serve? For load balancers and process managers.

Answered by a middleware placed first in MIDDLEWARE rather than by a view,
because a load balancer probes each replica by its IP address over plain
HTTP: host validation (ALLOWED_HOSTS), an HTTPS redirect or a session lookup
would each turn a healthy replica into a failing probe. The answer names no
host, user or record, so skipping those steps exposes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.deprecation import MiddlewareMixin

from clinic import redis_server

PATH = "/health/"


def status() -> dict[str, str]:
    """{"database": "ok" | "unreachable", "redis": "ok" | "unreachable"}."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except DatabaseError:
        database = "unreachable"
    # A fresh connection with half-second timeouts: a probe must answer
    # quickly either way, and a pooled connection could hide a dead server.
    redis = "ok" if redis_server.is_up(settings.REDIS_URL) else "unreachable"
    return {"database": database, "redis": redis}


class HealthCheckMiddleware(MiddlewareMixin):
    def process_request(self, request):
        if request.path != PATH or request.method not in ("GET", "HEAD"):
            return None
        checks = status()
        healthy = all(value == "ok" for value in checks.values())
        response = JsonResponse(checks, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response
