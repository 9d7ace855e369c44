"""Live-call updates from a writer process to dashboards over WebSockets: latency and losses.

    uv run python bench/livecalls_bench.py                       # SQLite + private Redis
    uv run python bench/livecalls_bench.py --seconds 60 --calls 50 --dashboards 10
    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/0 uv run python bench/livecalls_bench.py

The real path, three processes: `manage.py simulate_calls` writes `--calls`
calls each updating once a second through `LiveCall` (Redis record + channel
layer event); `daphne clinic.asgi:application` serves the live-calls
WebSocket; this script holds `--dashboards` signed-in WebSocket clients.
Latency = arrival at a client minus the update's `updated_at` (stamped by the
writer before it stores and publishes). Lost = updates the writer got out
minus updates each client received. Target on a 2-core machine: p95 < 100 ms,
nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime

import common

# Our own key prefix: a developer's `manage.py up` on the same Redis keeps its panel to itself.
os.environ.setdefault("REDIS_KEY_PREFIX", f"bench-live-{uuid.uuid4().hex[:6]}")
common.setup()

import aiohttp  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_cookie() -> str:
    user, _ = get_user_model().objects.get_or_create(username="bench-reception")
    user.groups.add(Group.objects.get_or_create(name=settings.RECEPTIONIST_GROUP)[0])
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _child_env() -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING",
           "REDIS_URL": settings.REDIS_URL, "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX}
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    return env


def _delete_own_keys() -> None:
    """Sessions and channel groups of this run (its own prefix) out of a shared Redis."""
    from clinic.redis_server import delete_prefixed

    delete_prefixed(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)


def _start_daphne(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "clinic.asgi:application"], cwd=common.ROOT, env=_child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited: {proc.stderr.read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("daphne did not start within 60 s")


class Dashboard:
    """One signed-in browser tab, as far as the live-calls socket is concerned."""

    def __init__(self):
        self.latencies: list[float] = []
        self.updates = 0
        self.seen: set[tuple[str, str]] = set()
        self.duplicates = 0
        self.snapshot_s: float | None = None

    async def listen(self, session: aiohttp.ClientSession, url: str, headers: dict, ready: asyncio.Event,
                     done: asyncio.Event):
        opened = time.perf_counter()
        async with session.ws_connect(url, headers=headers, heartbeat=None) as ws:
            async for msg in ws:
                now = time.time()
                data = msg.json()
                kind = data["type"]
                if kind == "snapshot" and self.snapshot_s is None:
                    self.snapshot_s = time.perf_counter() - opened
                    ready.set()
                elif kind == "call.updated":
                    call = data["call"]
                    key = (call["room"], call["updated_at"])
                    if key in self.seen:
                        self.duplicates += 1
                        continue
                    self.seen.add(key)
                    self.updates += 1
                    self.latencies.append(now - datetime.fromisoformat(call["updated_at"]).timestamp())
                if done.is_set():
                    break


async def run_clients(url, cookie, origin, dashboards: int, seconds: float, writer_args: list[str]):
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}", "Origin": origin}
    clients = [Dashboard() for _ in range(dashboards)]
    ready = [asyncio.Event() for _ in clients]
    done = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(c.listen(session, url, headers, r, done))
                 for c, r in zip(clients, ready, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)

        writer = await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", "simulate_calls", *writer_args, cwd=common.ROOT, env=_child_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        print(f"writer started; measuring for {seconds:g} s ...", flush=True)
        await asyncio.sleep(seconds)
        writer.send_signal(signal.SIGINT)  # ends its calls; prints how many updates it got out
        out, _ = await writer.communicate()
        await asyncio.sleep(1.0)  # let the last events arrive
        done.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    text = out.decode()
    found = re.search(r"(\d+) call\(s\) simulated, (\d+) updates sent", text)
    if writer.returncode != 0 or not found:
        raise SystemExit(f"writer failed:\n{text[-2000:]}")
    return clients, int(found.group(1)), int(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--dashboards", type=int, default=10)
    args = parser.parse_args()

    redis = common.start_redis()
    daphne = None
    try:
        call_command("migrate", verbosity=0)
        cookie = _session_cookie()
        port = _free_port()
        daphne = _start_daphne(port)
        # Each call changes stage every 8 s (a 40 s call) and re-sends its state every second.
        writer_args = ["--forever", "--calls", str(args.calls), "--interval", "8",
                       "--updates-per-second", "1", "--prefix", "bench"]
        clients, calls, sent = asyncio.run(run_clients(
            f"ws://127.0.0.1:{port}/ws/live-calls/", cookie, f"http://127.0.0.1:{port}",
            args.dashboards, args.seconds, writer_args))
    finally:
        if daphne:
            daphne.terminate()
            daphne.wait(timeout=10)
        _delete_own_keys()
        if redis:
            redis.stop()

    latencies = [x for c in clients for x in c.latencies]
    received = [c.updates for c in clients]
    lost = sum(max(sent - r, 0) for r in received)
    print(f"{connection.vendor} database, Redis at {'private socket' if redis else settings.REDIS_URL}; "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{calls} calls ({args.calls} at a time, each updating every second) for {args.seconds:g} s, "
          f"{args.dashboards} dashboards; writer got out {sent} updates")
    print(common.line("writer -> dashboard update latency", latencies, target_ms=100))
    print(common.line("connect -> snapshot", [c.snapshot_s for c in clients if c.snapshot_s is not None]))
    print(f"{'received per dashboard':<44} min {min(received)}  max {max(received)}  of {sent}")
    verdict = "ok" if lost == 0 else "LOST UPDATES"
    print(f"{'lost (expected - received, all dashboards)':<44} {lost} ({verdict}); duplicates "
          f"{sum(c.duplicates for c in clients)}")


if __name__ == "__main__":
    main()
