"""The voice agent's own time per turn on the large demo data, with a scripted model: p50/p95.

    uv run python bench/voice_bench.py               # SQLite (var/bench.sqlite3), private Redis
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench REDIS_URL=redis://127.0.0.1:6379/0 \
        uv run python bench/voice_bench.py

Whole calls run through a real AgentSession in text mode (tests/voiceagent/scripted.py
plays the model and answers in well under a millisecond, after formatting the chat and
the tools' schemas as the OpenAI plugin does), so what is measured is ours: tools,
database, call context in Redis, live-call events, plus LiveKit's own turn handling.
Target: tool time per turn p95 < 20 ms.
"""

import argparse
import asyncio
import logging
import random
import time as clock
from datetime import timedelta

import common

common.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.utils import timezone  # noqa: E402

from patients.models import Patient  # noqa: E402
from scheduling.models import Appointment, Provider  # noqa: E402
from tests.voiceagent.scripted import ScriptedLLM, call, first_appointment, first_slot, say  # noqa: E402
from voiceagent.agent import CallRun, build_session, open_call  # noqa: E402
from voiceagent.models import Call  # noqa: E402


def script_returning(patient: Patient, provider: str, day: str, part: str) -> tuple[list, list[str]]:
    dob = patient.date_of_birth.isoformat() if patient.date_of_birth else ""
    steps = [
        call("identify_patient", full_name=patient.full_name, date_of_birth=dob), say("Thank you."),
        call("list_appointments"), say("Here are your appointments."),
        call("find_free_times", provider=provider, day=day, time_of_day=part), say("I have these times."),
        call("book_appointment", slot_id=first_slot, confirmed=False), say("Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True), say("Booked."),
        call("clinic_information"), say("We are open on weekdays."),
        say("Goodbye."),
    ]
    turns = ["It's me", "My appointments?", "A new time please", "That one", "Yes", "Your hours?", "Bye"]
    return steps, turns


def script_new(name: str, provider: str, day: str) -> tuple[list, list[str]]:
    steps = [
        call("identify_patient", full_name=name, date_of_birth="1990-01-01"), say("Welcome."),
        call("find_free_times", provider=provider, day=day), say("I have these times."),
        call("book_appointment", slot_id=first_slot, confirmed=False), say("Shall I book it?"),
        call("book_appointment", slot_id=first_slot, confirmed=True), say("Booked."),
        say("Goodbye."),
    ]
    return steps, ["I'm new", "Any time that day", "The first", "Yes", "Bye"]


def letters(n: int) -> str:
    """n as letters (0 -> "Aa", 1 -> "Ab", ...): a name may not hold digits, so "Bench Caller 7" would be refused."""
    word = ""
    while True:
        n, r = divmod(n, 26)
        word = chr(ord("a") + r) + word
        if not n:
            return "A" + word


def script_move(patient: Patient, day: str) -> tuple[list, list[str]]:
    dob = patient.date_of_birth.isoformat() if patient.date_of_birth else ""
    steps = [
        call("identify_patient", full_name=patient.full_name, date_of_birth=dob), say("Thank you."),
        call("list_appointments"), say("Which one?"),
        call("find_free_times", provider="anyone", day=day), say("I have these."),
        call("reschedule_appointment", appointment_id=first_appointment, slot_id=first_slot, confirmed=False),
        say("Shall I move it?"),
        call("reschedule_appointment", appointment_id=first_appointment, slot_id=first_slot, confirmed=True),
        say("Moved."),
        say("Goodbye."),
    ]
    return steps, ["It's me", "Move my appointment", "That day", "The first", "Yes", "Bye"]


ENGINE: list[float] = []


def time_engine() -> None:
    """Time the scheduling engine's own calls inside the tools, to tell its share from ours."""
    import functools

    from voiceagent import tools

    def timed(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t = clock.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                ENGINE.append(clock.perf_counter() - t)
        return wrapper

    tools.selectors = type("TimedSelectors", (), {})()
    import scheduling.selectors as real_selectors
    import scheduling.services as real_services
    for name in dir(real_selectors):
        setattr(tools.selectors, name, getattr(real_selectors, name))
    tools.selectors.find_free_times = timed(real_selectors.find_free_times)
    timed_services = type("TimedServices", (), {})()
    for name in dir(real_services):
        setattr(timed_services, name, getattr(real_services, name))
    for name in ("appointment_book", "appointment_reschedule", "appointment_cancel", "slot_refusal"):
        setattr(timed_services, name, timed(getattr(real_services, name)))
    tools.services = timed_services


async def one_call(n: int, steps: list, turns: list[str], caller: str, samples: dict) -> Call:
    t = clock.perf_counter()
    desk = await open_call(f"bench-call-{n}", caller_id=caller)
    samples["open"].append(clock.perf_counter() - t)
    session = build_session(desk, llm=ScriptedLLM(steps))
    run = CallRun(desk, session)
    async with session:
        await run.start(wait_for_greeting=True)
        # On the phone the greeting plays for seconds before the caller says a
        # word, and the call reads the clinic (providers, hours) meanwhile. Text
        # mode has no playout: wait for that read here rather than count it in
        # the first turn, and report it on its own line.
        t = clock.perf_counter()
        await desk.read_clinic()
        samples["greeting"].append(clock.perf_counter() - t)
        for text in turns:
            before, engine_before = len(desk.tool_seconds), len(ENGINE)
            t = clock.perf_counter()
            await session.run(user_input=text)
            samples["turn"].append(clock.perf_counter() - t)
            tools_s = sum(seconds for _, seconds in desk.tool_seconds[before:])
            engine_s = sum(ENGINE[engine_before:])
            samples["tools"].append(tools_s)
            samples["engine"].append(engine_s)
            samples["ours"].append(tools_s - engine_s)
        for name, seconds in desk.tool_seconds:
            samples.setdefault(f"tool {name}", []).append(seconds)
        t = clock.perf_counter()
        record = await run.finish()
        samples["finish"].append(clock.perf_counter() - t)
    return record


async def run(calls: int) -> None:
    rng = random.Random(4)
    providers = [p.name async for p in Provider.objects.filter(is_active=True)]
    # Callers with upcoming appointments exercise list and reschedule on real data.
    with_upcoming = [a.patient async for a in Appointment.objects.filter(
        start__gte=timezone.now() + timedelta(days=2), status=Appointment.Status.BOOKED,
    ).select_related("patient").order_by("?")[: calls]]
    patients = [p async for p in Patient.objects.order_by("?")[: calls]]
    today = timezone.localdate()
    samples = {"open": [], "greeting": [], "turn": [], "tools": [], "engine": [], "ours": [], "finish": []}
    records, started = [], clock.perf_counter()
    for n in range(calls):
        day = (today + timedelta(days=rng.randint(1, 30))).isoformat()
        kind = n % 3
        if kind == 0:
            patient = patients[n]
            steps, turns = script_returning(patient, rng.choice(providers), day, rng.choice(["morning", "afternoon"]))
            caller = patient.phone
        elif kind == 1:
            steps, turns = script_new(f"Bench Caller {letters(n)}", rng.choice(providers), day)
            caller = f"+92345{rng.randint(1000000, 9999999)}"
        else:
            patient = with_upcoming[n]
            steps, turns = script_move(patient, day)
            caller = patient.phone
        records.append(await one_call(n, steps, turns, caller, samples))
    elapsed = clock.perf_counter() - started
    outcomes = {}
    for r in records:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    print(f"{calls} calls, {len(samples['turn'])} turns in {elapsed:.1f} s; outcomes {outcomes}")
    print(common.line("tools per turn (all of it)", samples["tools"], target_ms=20))
    print(common.line("  of which scheduling engine (search, book)", samples["engine"]))
    print(common.line("  of which ours (DB reads, context, live)", samples["ours"], target_ms=20))
    print(common.line("whole turn through AgentSession (model excluded)", samples["turn"]))
    print(common.line("answer a call (profile, Call record, live)", samples["open"]))
    print(common.line("clinic read left after the greeting's start", samples["greeting"]))
    print(common.line("end a call (record, profile, live)", samples["finish"]))
    for name in sorted(k for k in samples if k.startswith("tool ")):
        print(common.line(f"  {name}", samples[name]))
    await cleanup(records)
    new_callers = range(1, calls, 3)
    unbooked = [n for n in new_callers if records[n].outcome != Call.Outcome.BOOKED]
    if unbooked:
        # The figures would then miss the booking turns they claim to include.
        raise SystemExit(f"{len(unbooked)} of {len(new_callers)} new callers did not book: the script no longer "
                         "matches the tools' rules, so these figures are not the ones the README quotes.")


@sync_to_async
def cleanup(records: list[Call]) -> None:
    """Leave the bench data as it was: drop our bookings, new callers and call records.

    Rescheduled appointments keep their new times (they belong to the data set)."""
    booked = [r.appointment_id for r in records if r.outcome == Call.Outcome.BOOKED]
    Appointment.objects.filter(pk__in=booked, source=Appointment.Source.PHONE).delete()
    Patient.objects.filter(full_name__startswith="Bench Caller ").delete()
    Call.objects.filter(room__startswith="bench-call-").delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    logging.getLogger("livekit").setLevel(logging.ERROR)
    with common.large_data():
        print(common.describe())
        time_engine()
        asyncio.run(run(args.calls))


if __name__ == "__main__":
    main()
