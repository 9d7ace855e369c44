"""What a frozen or stalled Redis costs a caller: per-turn times p50/p95, healthy and faulty.

    uv run python bench/frozen_redis_bench.py                 # SQLite (var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench uv run python bench/frozen_redis_bench.py

The same calls as bench/voice_bench.py's new-caller script (a real
AgentSession in text mode, tests/voiceagent/scripted.py playing the model, the
real database and channel layer): identify, find times, read the booking
back, "yes" (the booking turn), goodbye. Each case runs `--calls` calls:

* healthy: Redis answers;
* SIGSTOP: the redis-server is frozen for the booking turn (its socket stays
  open, nothing answers: a hung host or a paused VM);
* DEBUG SLEEP: the redis-server stalls inside a command for the booking turn
  (it reads, and answers nobody meanwhile).

Redis is always a private redis-server of the bench's own (REDIS_URL is
ignored): it must be one this process can freeze. Every booking must land;
the bench stops with an error otherwise. Target: a faulty booking turn at
most about one second slower than a healthy one.
"""

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
import tempfile
import threading
import time as clock
from datetime import timedelta
from pathlib import Path

import common  # noqa: F401 - puts the project on sys.path

from clinic.redis_server import PrivateRedis  # noqa: E402 - no Django needed

REDIS = PrivateRedis(Path(tempfile.mkdtemp(prefix="clinic-frozen-bench-")) / "redis.sock")
os.environ["REDIS_URL"] = REDIS.url
common.setup()

import redis  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.utils import timezone  # noqa: E402

from patients.models import Patient  # noqa: E402
from scheduling.models import Appointment, Provider  # noqa: E402
from tests.voiceagent.scripted import ScriptedLLM, call, first_slot, say  # noqa: E402
from voiceagent.agent import CallRun, build_session, open_call  # noqa: E402
from voiceagent.models import Call  # noqa: E402

BOOKING_TURN = 3  # "Yes", after the read-back
TURNS = ["I'm new", "Any time that day", "The first", "Yes", "Bye"]
STALL_SECONDS = 2.0


def script(name: str, provider: str, day: str) -> list:
    return [
        call("identify_patient", full_name=name, date_of_birth="1990-01-01"), say("Welcome."),
        call("find_free_times", provider=provider, day=day), say("I have these times."),
        call("book_appointment", slot_id=first_slot, confirmed=False), say("Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True), say("Booked."),
        say("Goodbye."),
    ]


class Frozen:
    """SIGSTOP for the length of the turn, SIGCONT after."""

    def __enter__(self):
        os.kill(REDIS.process.pid, signal.SIGSTOP)

    def __exit__(self, *exc):
        os.kill(REDIS.process.pid, signal.SIGCONT)


class Stalled:
    """DEBUG SLEEP from another connection; the bench waits for the stall to end before going on."""

    def __enter__(self):
        self.client = redis.Redis.from_url(REDIS.url)
        self.sleeper = threading.Thread(target=self.client.execute_command, args=("DEBUG", "SLEEP", STALL_SECONDS))
        self.sleeper.start()
        clock.sleep(0.1)  # the command has reached the server

    def __exit__(self, *exc):
        self.sleeper.join()
        self.client.close()


class Healthy:
    def __enter__(self):
        pass

    def __exit__(self, *exc):
        pass


async def one_call(room: str, steps: list, fault, samples: dict) -> Call:
    t = clock.perf_counter()
    desk = await open_call(room, caller_id=f"+92345{random.randint(1000000, 9999999)}")
    samples["open"].append(clock.perf_counter() - t)
    session = build_session(desk, llm=ScriptedLLM(steps))
    run = CallRun(desk, session)
    async with session:
        await run.start(wait_for_greeting=True)
        await desk.read_clinic()  # on the phone, read while the greeting plays (see voice_bench.py)
        for n, text in enumerate(TURNS):
            with fault if n == BOOKING_TURN else Healthy():
                t = clock.perf_counter()
                await session.run(user_input=text)
                took = clock.perf_counter() - t
            samples["booking" if n == BOOKING_TURN else "other"].append(took)
        await asyncio.sleep(0.1)
        await run.heartbeat()  # Redis answers again: the panel catches up
        return await run.finish()


async def run(calls: int) -> None:
    providers = [p.name async for p in Provider.objects.filter(is_active=True)]
    rng = random.Random(9)
    today = timezone.localdate()
    cases = {"healthy": Healthy(), "SIGSTOP": Frozen(), "DEBUG SLEEP": Stalled()}
    records: list[Call] = []
    results = {}
    for case, fault in cases.items():
        samples = {"open": [], "booking": [], "other": []}
        for n in range(calls):
            day = (today + timedelta(days=rng.randint(1, 30))).isoformat()
            word = case.split()[0].capitalize()
            room = f"bench-frozen-{word.lower()}-{n}"
            # A name has letters only (clinic.hygiene): the call's number in letters.
            name = f"Frozen Bench {word} {''.join(chr(ord('a') + int(d)) for d in str(n)).capitalize()}"
            records.append(await one_call(room, script(name, rng.choice(providers), day), fault, samples))
        results[case] = samples
    print(f"{calls} calls per case, {len(TURNS)} turns each; the fault lasts the booking turn "
          f"(DEBUG SLEEP {STALL_SECONDS:g} s)")
    healthy = common.ms(results["healthy"]["booking"])[0]
    for case, samples in results.items():
        slower = "" if case == "healthy" else f"   p50 {common.ms(samples['booking'])[0] - healthy:+.0f} ms"
        print(common.line(f"{case}: booking turn", samples["booking"], extra=slower))
        print(common.line(f"{case}: other turns", samples["other"]))
        print(common.line(f"{case}: answer a call", samples["open"]))
    booked = sum(r.outcome == Call.Outcome.BOOKED for r in records)
    print(f"bookings landed: {booked} of {len(records)}")
    await cleanup(records)
    if booked != len(records):
        sys.exit("Some bookings did not land.")


@sync_to_async
def cleanup(records: list[Call]) -> None:
    """Leave the bench data as it was: drop our bookings, callers and call records."""
    Appointment.objects.filter(pk__in=[r.appointment_id for r in records if r.appointment_id]).delete()
    Patient.objects.filter(full_name__startswith="Frozen Bench ").delete()
    Call.objects.filter(room__startswith="bench-frozen-").delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20, help="calls per case")
    args = parser.parse_args()
    logging.getLogger("livekit").setLevel(logging.ERROR)
    # Each failed write is logged once (a warning, no phone numbers); not the figures' business.
    logging.getLogger("voiceagent").setLevel(logging.ERROR)
    REDIS.start()
    try:
        with common.large_data():
            print(common.describe())
            asyncio.run(run(args.calls))
    finally:
        REDIS.stop()


if __name__ == "__main__":
    main()
