"""The LiveKit worker that answers the clinic's phone.

One `AgentServer` registers with LiveKit under `VOICE_AGENT_NAME` (explicit
dispatch: only calls that the SIP dispatch rule sends to that name reach it)
and runs each call in a job process of its own, forked from a forkserver
that has already imported LiveKit, the plugins, Django and the agent. What a
job process does before its call arrives is `prewarm`.

`manage.py run_voice_agent` builds the server here and hands it to LiveKit's
CLI; tests and the memory benchmark build it the same way.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.db import connections
from livekit.agents import AgentServer, JobContext, JobProcess
from livekit.agents.worker import ServerEnvOption
from livekit.plugins import silero

from clinic.logfilters import RedactPhoneNumbers, json_formatter

logger = logging.getLogger(__name__)

# Imported once in the forkserver so that every call's process shares them
# copy-on-write instead of importing them again (about 1.3 s and most of the
# memory of a job process). `voiceagent.boot` first: it sets Django up. The
# provider plugins are imported by the call itself otherwise, blocking its
# event loop for seconds and costing each call its own copy.
PRELOAD = ["voiceagent.boot", "voiceagent.agent", "livekit.plugins.openai", "livekit.plugins.elevenlabs",
           "voiceagent.preload"]

# Shared by every job process: how much memory a call may take before LiveKit
# warns, and before it kills the call's process so that one runaway call
# cannot take the host's other calls down with it. A call normally stays far
# below both (bench/voice_memory_bench.py).
JOB_MEMORY_WARN_MB = 400
JOB_MEMORY_LIMIT_MB = 1000


def prewarm(proc: JobProcess) -> None:
    """Runs once in each job process, before its call arrives and before its event loop exists."""
    import voiceagent.boot  # noqa: F401  (no-op under the forkserver; sets Django up under spawn)

    # A database connection must never cross a fork: two processes talking on
    # one socket corrupt each other's queries. The forkserver opens none
    # (boot touches no database); closing here keeps that true whatever a
    # preloaded module did, and the call opens its own on first query.
    connections.close_all()
    # Loading the VAD model takes tens of milliseconds of CPU: here, not in
    # the first second of the caller's "hello".
    proc.userdata["vad"] = silero.VAD.load()


def default_entrypoint() -> Callable[[JobContext], Awaitable[None]]:
    from voiceagent.agent import entrypoint

    return entrypoint


def build_server(entrypoint: Callable[[JobContext], Awaitable[None]] | None = None) -> AgentServer:
    """The worker, configured from settings; `entrypoint` is the conversation (the Receptionist by default).

    The entrypoint is sent to job processes by reference, so it must be a
    module-level function.
    """
    # The local end-of-turn model is not used (turn detection is the VAD's and
    # the STT's); without this the forkserver loads its ~240 MB of weights. The
    # forkserver inherits the environment when it starts, so set it first.
    os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")
    server = AgentServer(
        ws_url=settings.LIVEKIT_URL.strip() or None,
        api_key=settings.LIVEKIT_API_KEY.strip() or None,
        api_secret=settings.LIVEKIT_API_SECRET.strip() or None,
        setup_fnc=prewarm,
        preload_modules=PRELOAD,
        job_memory_warn_mb=JOB_MEMORY_WARN_MB,
        job_memory_limit_mb=JOB_MEMORY_LIMIT_MB,
        # On SIGTERM the worker stops taking calls and waits this long for the
        # ones in progress, which end by CALL_MAX_MINUTES at the latest.
        # `manage.py up` waits a little longer than this before it kills.
        drain_timeout=settings.CALL_MAX_MINUTES * 60 + 15,
        # Django, the agent and the VAD in a fresh process on a busy 2-core
        # host can take longer than LiveKit's default 10 s.
        initialize_process_timeout=30.0,
        # The health check for a process supervisor; dev mode takes any free port.
        port=ServerEnvOption(dev_default=0, prod_default=settings.VOICE_HEALTH_PORT),
    )
    server.rtc_session(entrypoint or default_entrypoint(), agent_name=settings.VOICE_AGENT_NAME)
    adopt_livekit_logging()
    server.on("worker_started", adopt_log_handlers)
    return server


def adopt_livekit_logging() -> None:
    """Make LiveKit's CLI log through our rules from its first line: phone numbers masked, LOG_FORMAT obeyed.

    LiveKit's CLI replaces the process's log handlers with its own (JSON
    lines under `start`, coloured ones under `dev`) as it starts; this runs
    our adoption right after it does. Records from job processes are written
    by this process's handlers too, so this covers every call.
    """
    from livekit.agents.cli import cli as livekit_cli

    setup = livekit_cli.setup_logging
    if getattr(setup, "adopted", False):
        return

    @functools.wraps(setup)
    def setup_logging(*args, **kwargs):
        setup(*args, **kwargs)
        adopt_log_handlers()

    setup_logging.adopted = True
    livekit_cli.setup_logging = setup_logging


def adopt_log_handlers() -> None:
    """Give every root handler the phone-number filter, and under LOG_FORMAT=json our JSON lines."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactPhoneNumbers) for f in handler.filters):
            handler.addFilter(RedactPhoneNumbers())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(json_formatter())
