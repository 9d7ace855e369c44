"""Memory of the voice worker's job processes, idle and in a call: private memory per job.

    uv run python bench/voice_memory_bench.py              # SQLite (var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench uv run python bench/voice_memory_bench.py

It starts the real worker (`voiceagent.worker.build_server`: forkserver with
the preloads, prewarm with the VAD), unregistered (no LiveKit server), and
reads /proc/<pid>/smaps_rollup of its job processes:
- idle: the processes the pool keeps warm for the next call;
- busy: processes each running a whole scripted call through the real
  Receptionist (call record, live panel, context store, caller profile,
  tools against the large demo data, a booking) in text mode, with the
  provider plugin objects built from settings (fake keys, no network) and
  the scripted model from the tests in place of OpenAI, measured while the
  call is still open.
A simulated call is a fake job: its room is LiveKit's mock (unittest.mock
autospec of rtc.Room, about 14 MB private of its own), where a real call has
a connected room and WebRTC media instead, which cannot be measured without
a LiveKit server.
Private = Private_Clean + Private_Dirty (USS): what each extra call costs the
host. Pages shared copy-on-write with the forkserver are counted once, for
the host, as the forkserver's RSS. Target: under 60 MB private per job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import common

# Provider clients are built as a real call builds them, but never used: the
# scripted model answers. Fake keys are enough for that; none leaves the machine.
for _name in ("OPENAI_API_KEY", "ELEVEN_API_KEY"):
    os.environ.setdefault(_name, "bench-no-network")
os.environ.setdefault("VOICE_HEALTH_PORT", "0")
common.setup()

from django.utils import timezone  # noqa: E402
from livekit.agents import JobContext  # noqa: E402

TARGET_MB = 60
LINES = ["I'd like an appointment please.", "Bilal Ahmed", "Monday morning with anyone", "9:30 please",
         "Yes, book it"]


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"private": fields["Private_Clean"] + fields["Private_Dirty"], "pss": fields["Pss"],
            "rss": fields["Rss"]}


def _script(monday: str):
    from tests.voiceagent.scripted import call, first_slot, say

    return [
        say("Of course. What is the patient's full name?"),
        call("identify_patient", full_name="Bilal Ahmed", date_of_birth="1990-02-01"),
        say("Thank you. Which day suits you?"),
        call("find_free_times", provider="anyone", day=monday, time_of_day="morning"),
        say("I have a few morning times on Monday."),
        call("book_appointment", slot_id=first_slot, confirmed=False),
        say("Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("You're booked. Anything else?"),
    ]


async def busy_entrypoint(ctx: JobContext) -> None:
    """A whole call in text mode, held open until the bench has measured this process."""
    from tests.voiceagent.scripted import ScriptedLLM
    from voiceagent.agent import CallRun, build_session, open_call, provider_models

    folder = Path(os.environ["VOICE_BENCH_DIR"])
    room = ctx.job.room.name
    steps = [("job started", memory_mb(os.getpid())["private"])]
    modules = set(sys.modules)
    provider_models()  # the real plugin clients a call builds (no request is made)
    steps.append(("provider clients built", memory_mb(os.getpid())["private"]))
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    caller = f"+92300{int(time.time() * 1000) % 10_000_000:07d}"
    desk = await open_call(room, caller_id=caller)
    steps.append(("call opened (record, live, context)", memory_mb(os.getpid())["private"]))
    session = build_session(desk, llm=ScriptedLLM(_script(monday.isoformat())), vad=None)
    run = CallRun(desk, session)
    async with session:
        await run.start(wait_for_greeting=True)
        steps.append(("session started, greeting out", memory_mb(os.getpid())["private"]))
        for line in LINES:
            await session.run(user_input=line)
        steps.append((f"{len(LINES)} turns with tools", memory_mb(os.getpid())["private"]))
        # A module imported here is this call's private copy: voiceagent/preload.py imports them once.
        steps.append(("modules imported by the call", sorted(set(sys.modules) - modules)))
        (folder / f"{room}.steps").write_text(json.dumps(steps))
        (folder / f"{room}.busy").write_text(f"{os.getpid()} {len(session.history.items)}")
        while not (folder / f"{room}.stop").exists():
            await asyncio.sleep(0.1)
        call = await run.finish()
    (folder / f"{room}.done").write_text(call.outcome)
    ctx.shutdown("bench call ended")


async def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        await asyncio.sleep(0.1)
    raise SystemExit(f"Timed out waiting for {what}.")


async def run(calls: int) -> None:
    import voice_memory_bench as me  # by this name, so the job process can import the entrypoint

    from voiceagent.worker import build_server

    folder = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    os.environ["VOICE_BENCH_DIR"] = str(folder)  # before the forkserver starts: it keeps this environment
    server = build_server(entrypoint=me.busy_entrypoint)
    started = asyncio.Event()
    server.on("worker_started", started.set)
    worker = asyncio.create_task(server.run(devmode=False, unregistered=True))
    try:
        await asyncio.wait_for(started.wait(), 120)
        pool = server._proc_pool
        idle = await _wait(lambda: [p.pid for p in pool.processes if p.started] if len(
            [p for p in pool.processes if p.started]) >= 2 else None, 120, "idle job processes")
        await asyncio.sleep(2)  # let prewarm finish
        idle_mem = [memory_mb(pid) for pid in idle]
        forkserver = _forkserver_pid(idle[0])

        rooms = [f"call-bench-{i}" for i in range(calls)]
        for room in rooms:
            await server.simulate_job(room, fake_job=True)
        busy = await _wait(lambda: [int((folder / f"{r}.busy").read_text().split()[0]) for r in rooms]
                           if all((folder / f"{r}.busy").exists() for r in rooms) else None, 180, "the calls")
        busy_mem = [memory_mb(pid) for pid in busy]
        for room in rooms:
            (folder / f"{room}.stop").write_text("")
        outcomes = await _wait(lambda: [(folder / f"{r}.done").read_text() for r in rooms]
                               if all((folder / f"{r}.done").exists() for r in rooms) else None, 60, "the records")
    finally:
        await server.aclose()
        worker.cancel()

    print(f"worker process: {memory_mb(os.getpid())['rss']:.0f} MB RSS; forkserver (shared by every job): "
          f"{memory_mb(forkserver)['rss']:.0f} MB RSS" if forkserver else "")
    _report("idle job process (prewarmed, waiting)", idle_mem)
    _report(f"busy job process (scripted call, {len(LINES)} turns)", busy_mem)
    print("private memory of a busy job, step by step (first call):")
    before = None
    *steps, (_, imported) = json.loads((folder / f"{rooms[0]}.steps").read_text())
    for what, mb in steps:
        print(f"  {what:<42} {mb:6.1f} MB" + (f"  (+{mb - before:.1f})" if before is not None else ""))
        before = mb
    print(f"modules the call imported itself (not preloaded): {', '.join(imported) or 'none'}")
    print(f"calls recorded: {', '.join(outcomes)}")
    worst = max(m["private"] for m in busy_mem)
    print(f"target < {TARGET_MB} MB private per job: {'ok' if worst < TARGET_MB else 'OVER TARGET'}")


def _forkserver_pid(child: int) -> int | None:
    try:
        return int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _report(what: str, samples: list[dict[str, float]]) -> None:
    private = [m["private"] for m in samples]
    print(f"{what:<44} private {min(private):6.1f}-{max(private):6.1f} MB   "
          f"PSS {max(m['pss'] for m in samples):6.1f} MB   RSS {max(m['rss'] for m in samples):6.1f} MB   "
          f"n={len(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3, help="calls held open at once")
    args = parser.parse_args()
    with common.large_data():
        print(common.describe())
        asyncio.run(run(args.calls))


if __name__ == "__main__":
    main()
