"""The client's address and scheme behind a reverse proxy, believed only from proxies we trust.

In production a TLS-terminating proxy (nginx, a load balancer) stands in
front of the web processes: the browser's address and "https" reach us only
as X-Forwarded-For and X-Forwarded-Proto, headers that any client can write
for itself. TRUSTED_PROXIES lists the proxies' addresses. For a request that
comes from one of them, REMOTE_ADDR becomes the client's address and
X-Forwarded-Proto is kept for SECURE_PROXY_SSL_HEADER; from anyone else both
headers are dropped before any other code reads them. So the sign-in
lock-out, the logs and `request.is_secure()` never take a client's word
about itself, and no view has to know whether a proxy is there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.deprecation import MiddlewareMixin

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT", "HTTP_FORWARDED")


def parse_networks(values: Iterable[str], *, name: str = "TRUSTED_PROXIES") -> tuple[Network, ...]:
    """"10.0.0.5, 10.1.0.0/16, ::1" -> networks; a bad entry stops start-up naming the variable."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks such as 10.0.0.5 or 10.0.0.0/24, not {value!r}."
            ) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """One X-Forwarded-For entry: "203.0.113.9", "203.0.113.9:5123", "[2001:db8::1]:443" or "2001:db8::1"."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    parsed = _address(address or "")
    return parsed is not None and any(parsed in network for network in networks)


def client_from_forwarded_for(header: str, networks: tuple[Network, ...]) -> str | None:
    """The right-most address that is not one of our proxies: each proxy appends the
    address it saw, so everything to the left of that one is the client's own say-so."""
    for entry in reversed(header.split(",")):
        parsed = _address(entry)
        if parsed is None:
            return None
        if not any(parsed in network for network in networks):
            return str(parsed)
    return None


class TrustedProxyMiddleware(MiddlewareMixin):
    """First in MIDDLEWARE: everything after it sees the real client and scheme, or no proxy headers at all."""

    def process_request(self, request):
        meta = request.META
        networks = settings.TRUSTED_PROXIES
        if networks and is_trusted(meta.get("REMOTE_ADDR"), networks):
            client = client_from_forwarded_for(meta.get("HTTP_X_FORWARDED_FOR", ""), networks)
            if client:
                meta["REMOTE_ADDR"] = client
            return None
        for header in FORWARDED_HEADERS:
            meta.pop(header, None)
        return None
