"""The voice worker as ops run it: `manage.py run_voice_agent`, and the job processes it forks.

No LiveKit server here: the worker is pointed at a closed port (it keeps
retrying, as it would while LiveKit is down), and calls are simulated with
LiveKit's own `simulate_job(fake_job=True)`, which runs a real job process
from the real forkserver with a mock room.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from voiceagent import config
from voiceagent.models import Call

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "OPENAI_API_KEY", "ELEVEN_API_KEY")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**values) -> dict[str, str]:
    # Empty rather than absent: a developer's .env must not fill them back in.
    env = {**os.environ, **{key: "" for key in KEYS}, "PYTHONUNBUFFERED": "1"}
    env.update(values)
    return env


def _well_formed(**overrides) -> dict[str, str]:
    values = {
        # Nothing listens on a port we just closed: LiveKit is "down".
        "LIVEKIT_URL": f"ws://127.0.0.1:{_free_port()}",
        "LIVEKIT_API_KEY": "APIfake", "LIVEKIT_API_SECRET": "fake-secret-" + "x" * 32,
        "OPENAI_API_KEY": "sk-fake", "ELEVEN_API_KEY": "fake",
        "VOICE_HEALTH_PORT": str(_free_port()),
    }
    return _env(**{**values, **overrides})


def _run_agent(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "run_voice_agent", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_start_without_settings_stops_at_once_naming_each_one():
    started = time.monotonic()
    result = _run_agent("start", env=_env())
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    for name in KEYS:
        assert f"{name} is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert "starting worker" not in result.stdout + result.stderr


def test_malformed_settings_are_named_with_what_to_set():
    result = _run_agent("start", env=_well_formed(
        LIVEKIT_URL="livekit.example.com", ELEVEN_MODEL="eleven_flsh", ELEVEN_VOICE_ID="Rachel",
        OPENAI_BASE_URL="localhost:8080", LIVEKIT_API_KEY="APIfake\n"))
    assert result.returncode != 0
    assert "LIVEKIT_URL must look like wss://host" in result.stderr
    assert "ELEVEN_MODEL must be one of eleven_flash_v2_5" in result.stderr
    assert "ELEVEN_VOICE_ID must be a voice id" in result.stderr
    assert "OPENAI_BASE_URL must be an http(s) URL" in result.stderr
    assert "LIVEKIT_API_KEY has spaces or a line break" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_needs_the_model_keys_but_no_livekit_server(settings):
    settings.LIVEKIT_URL = settings.LIVEKIT_API_KEY = settings.LIVEKIT_API_SECRET = ""
    settings.OPENAI_API_KEY, settings.ELEVEN_API_KEY = "sk-fake", ""
    assert config.missing_names("console") == ["ELEVEN_API_KEY"]
    assert config.missing_names("start") == ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET",
                                             "ELEVEN_API_KEY"]
    result = _run_agent("console", "--text", env=_env(OPENAI_API_KEY="sk-fake"))
    assert result.returncode != 0
    assert "ELEVEN_API_KEY is not set" in result.stderr
    assert "LIVEKIT" not in result.stderr


class _Output:
    """Collects a child's output on a thread, so a test can wait for a line without blocking on it."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.1)
        return False

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def __str__(self) -> str:
        return "".join(self.lines)[-4000:]


def test_start_prewarms_job_processes_and_drains_on_sigterm():
    proc = subprocess.Popen([sys.executable, "manage.py", "run_voice_agent", "start", "--log-level", "info"],
                            cwd=ROOT, env=_well_formed(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    output = _Output(proc)
    try:
        assert output.wait_for("starting worker", 60), output
        # Idle job processes forked from the forkserver and prewarmed (Django,
        # the VAD): a process that failed there would never say "initialized".
        assert output.wait_for("process initialized", 60), output
        assert output.wait_for("failed to connect to livekit", 30), output
        assert proc.poll() is None, output
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(timeout=15) == 0, output
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert output.count("draining worker") == 1, output
    assert "Traceback" not in str(output)
    assert "AppRegistryNotReady" not in str(output)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env(monkeypatch):
    """The forkserver and its job processes read settings from the environment: point them at this test's database."""
    monkeypatch.setenv("DATABASE_URL", _database_url())
    monkeypatch.setenv("LIVEKIT_URL", "")
    # One forkserver serves the whole test run (multiprocessing keeps it), so
    # the first test to start it decides its environment for all of them.
    # The provider clients are built as a real call builds them and never
    # used: a fake job has no audio, and nobody speaks to the model.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-no-network")
    monkeypatch.setenv("ELEVEN_API_KEY", "no-network")


def _calls_when(n: int, timeout: float) -> list[Call]:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            calls = list(Call.objects.order_by("room"))
            if len(calls) >= n:
                return calls
            time.sleep(0.2)
        return calls
    finally:
        # This runs on asgiref's thread, whose connection pytest-django does
        # not close; left open it blocks dropping the test database.
        connection.close()


@pytest.mark.django_db(transaction=True)
async def test_a_job_process_runs_the_entrypoint_with_django_and_the_prewarmed_vad(worker_env, caplog):
    from tests.voiceagent import jobprobe
    from voiceagent.worker import build_server

    server = build_server(entrypoint=jobprobe.entrypoint)
    started = asyncio.Event()
    server.on("worker_started", started.set)
    running = asyncio.create_task(server.run(devmode=True, unregistered=True))
    try:
        await asyncio.wait_for(started.wait(), 60)
        await server.simulate_job("call-probe-1", fake_job=True)
        await server.simulate_job("call-probe-2", fake_job=True)
        calls = await sync_to_async(_calls_when)(2, 60)
    finally:
        await server.aclose()
        running.cancel()

    assert [c.room for c in calls] == ["call-probe-1", "call-probe-2"]
    # Each call has a process of its own, forked, not the test's process,
    # and each found the VAD its prewarm loaded.
    pids = {c.usage["pid"] for c in calls}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(c.caller_name == "livekit.plugins.silero.vad.VAD" for c in calls)
    # ...and wrote through the ORM to this test's database, whichever it is.
    assert {c.usage["vendor"] for c in calls} == {connection.vendor}
    # Job processes send their log records to the worker: a job that failed
    # after its write (closing its connection, say) shows up only there.
    assert _errors(caplog) == []




def _errors(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def _live_call(room: str, timeout: float) -> dict | None:
    from voiceagent.livecalls import active_calls

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in active_calls() if c["room"] == room]
        if found:
            return found[0]
        time.sleep(0.2)
    return None


@pytest.mark.django_db(transaction=True)
async def test_the_receptionist_answers_a_simulated_call_in_a_job_process(worker_env, clinic, caplog):
    """The real entrypoint in a forked job process, on LiveKit's mock room (what `console` runs).

    The mock caller has no phone number and the mock room is called "console":
    the call must still be recorded under its own room, as a withheld number.
    """
    from voiceagent.worker import build_server

    server = build_server()  # voiceagent.agent.entrypoint
    started = asyncio.Event()
    server.on("worker_started", started.set)
    running = asyncio.create_task(server.run(devmode=True, unregistered=True))
    try:
        await asyncio.wait_for(started.wait(), 60)
        await server.simulate_job("call-sim-1", fake_job=True)
        # What the receptionist sees on the live panel while the call goes on.
        live = await sync_to_async(_live_call)("call-sim-1", 60)
        during = await sync_to_async(_calls_when)(1, 5)
        # The greeting goes out the moment the session starts (text only here:
        # no speech to wait for); give a loaded machine a moment.
        await asyncio.sleep(3)
    finally:
        # Ops stopping the worker ends the call, which is recorded on the way out.
        await server.aclose()
        running.cancel()

    assert live is not None, "the call never reached the live panel"
    assert live["caller_phone"] == ""
    assert [(c.room, c.outcome, c.caller_phone) for c in during] == [("call-sim-1", Call.Outcome.IN_PROGRESS, "")]
    call = await Call.objects.aget(room="call-sim-1")
    # Nobody spoke, so the call counts as abandoned; what the agent said is on record.
    assert call.outcome == Call.Outcome.ABANDONED and call.ended_at is not None
    assert call.transcript[0]["role"] == "assistant"
    assert call.transcript[0]["text"].endswith("thank you for calling Sunrise Family Clinic. How can I help you today?")
    assert await sync_to_async(_live_call)("call-sim-1", 0) is None
    assert _errors(caplog) == []
