"""Outside services for the messages: a real SMTP server (aiosmtpd) and a
local HTTP server that answers like Twilio's Messages API; and the real
worker (`manage.py db_worker`) run as its own process on the test database."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import _database_url_of, _free_port

ROOT = Path(__file__).resolve().parents[2]
TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM = "ACtest0001", "secret-token", "+15005550006"


class FakeTwilio:
    """Answers POST /2010-04-01/Accounts/<sid>/Messages.json as Twilio does;
    `fail_with` makes every answer that HTTP status instead."""

    def __init__(self):
        self.messages: list[dict] = []
        self.refused = 0
        self.fail_with: int | None = None
        # Every message request that reached the provider, answered or not;
        # with `hold` set, a request waits for it before it is answered ("mid-send").
        self.received: list[dict] = []
        self.hold: threading.Event | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                expected_auth = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
                if self.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
                    return self._answer(404, {"code": 20404, "message": "The requested resource was not found"})
                if self.headers.get("Authorization") != expected_auth:
                    return self._answer(401, {"code": 20003, "message": "Authenticate"})
                fake.received.append(form)
                if fake.hold is not None:
                    fake.hold.wait(60)
                if fake.fail_with:
                    fake.refused += 1
                    return self._answer(fake.fail_with, {"code": 20500, "message": "Internal Server Error"})
                fake.messages.append(form)
                self._answer(201, {"sid": f"SM{len(fake.messages):032d}", "status": "queued", "to": form["To"]})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender is gone (a worker killed mid-send)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        if self.hold is not None:
            self.hold.set()
        self.messages.clear()
        self.received.clear()
        self.refused = 0
        self.fail_with = None
        self.hold = None


@pytest.fixture(scope="session")
def _twilio():
    fake = FakeTwilio()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def twilio(_twilio):
    _twilio.reset()
    return _twilio


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def _smtp():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture
def mailbox(_smtp):
    box, _ = _smtp
    box.messages.clear()
    return box


class Worker:
    """The real worker (`manage.py db_worker`) as a process of its own on the test database.

    Started once per module and kept, because a start costs seconds;
    `ensure(**env)` restarts it only when a test needs other settings.
    """

    def __init__(self, base_env: dict, log_path: Path):
        self.base_env, self.log_path = base_env, log_path
        self.proc: subprocess.Popen | None = None
        self.env: dict | None = None

    def start(self, **env) -> None:
        self.env = env
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.05"],
                cwd=ROOT, env={**self.base_env, **env}, stdout=log, stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def ensure(self, **env) -> "Worker":
        if self.proc is None or self.proc.poll() is not None or env != self.env:
            self.stop()
            self.start(**env)
        return self

    def drain(self, timeout: float = 60) -> None:
        """Wait until no task is due or running (what is due later stays queued)."""
        import time

        from django_tasks_db.models import DBTaskResult

        deadline = time.monotonic() + timeout
        while DBTaskResult.objects.ready().exists() or DBTaskResult.objects.running().exists():
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"the worker stopped:\n{self.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"tasks still waiting after {timeout} s:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def _worker(django_db_setup, django_db_blocker, _smtp, _twilio, tmp_path_factory):
    from django.db import connection

    with django_db_blocker.unblock():
        db_url = _database_url_of(connection)
    _, smtp_port = _smtp
    worker = Worker({
        **os.environ,
        "DATABASE_URL": db_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_BASE_URL": _twilio.url,
        "QUIET_HOURS": "off",
        "NOTIFY_RETRY_SECONDS": "0",
        "NOTIFY_MAX_ATTEMPTS": "3",
        "PYTHONUNBUFFERED": "1",
    }, tmp_path_factory.mktemp("worker") / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def worker(_worker, transactional_db):
    """The running worker with the module's settings; the test's data is committed so it sees it."""
    return _worker.ensure()
