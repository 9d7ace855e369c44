"""Fixtures for the voice agent: a clinic, its providers, and conversations through a real AgentSession.

Only the language model is scripted (tests/voiceagent/scripted.py) and the
telephone transfer is a recorder; the agent, its tools, the database, Redis,
the live-call store and the channel layer are real.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field

import pytest

from tests.factories import ProviderFactory, clinic_profile
from tests.voiceagent.scripted import ScriptedLLM

CALLER = "+923001234567"
_rooms = itertools.count(1)


@pytest.fixture(autouse=True)
def _close_async_orm_connection():
    """Close the connection of asgiref's ORM thread after each test.

    An async test's `a...` ORM calls and sync_to_async functions run on
    asgiref's single thread, whose connection pytest-django never closes: on
    PostgreSQL it would stop the test database from being dropped at the end.
    (A call closes it at its end, as production needs; a test that queries
    after the call opens it again.)
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def clinic(db):
    return clinic_profile(
        name="Sunrise Family Clinic", address="12 Canal Road, Lahore", phone="+924235761234",
        transfer_phone="+923009998887", emergency_number="1122",
    )


@pytest.fixture
def dr_khan(db):
    return ProviderFactory(name="Dr Ayesha Khan")


@pytest.fixture
def dr_malik(db):
    return ProviderFactory(name="Dr Omar Malik")


@pytest.fixture
def booked(db, dr_khan, monday):
    """Imran Qureshi (born 3 May 1980, on file) has Monday 11:00 with Dr Khan."""
    from datetime import date

    from tests.factories import AppointmentFactory, PatientFactory
    from tests.when import local_dt

    patient = PatientFactory(full_name="Imran Qureshi", phone=CALLER, date_of_birth=date(1980, 5, 3))
    appointment = AppointmentFactory(patient=patient, provider=dr_khan,
                                     start=local_dt(monday, 11), end=local_dt(monday, 11, 30))
    return appointment


@dataclass
class Transfers:
    """Stands in for LiveKit's SIP transfer: records the numbers dialled, or fails like a refused REFER."""

    dialled: list[str] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, number: str) -> None:
        self.dialled.append(number)
        if self.fail:
            raise RuntimeError("SIP transfer refused (status 603)")


@pytest.fixture
def transfers():
    return Transfers()


@dataclass
class Conversation:
    run: object
    llm: ScriptedLLM

    @property
    def session(self):
        return self.run.session

    @property
    def desk(self):
        return self.run.desk

    async def say(self, text: str):
        """One caller turn; returns LiveKit's RunResult (its events and `expect`)."""
        return await self.session.run(user_input=text)

    def agent_lines(self) -> list[str]:
        return [i.text_content for i in self.session.history.items
                if i.type == "message" and i.role == "assistant" and i.text_content]


@pytest.fixture
def conversation(transfers):
    """`async with conversation(script, caller_id=...) as convo:`; the call is recorded on exit.

    `reminder=` (a voiceagent.outbound.Reminder, with room= the reminder's room): a reminder call the clinic placed.
    """

    @contextlib.asynccontextmanager
    async def start(steps, *, caller_id: str = CALLER, room: str | None = None, max_seconds: float | None = None,
                    reminder=None):
        from voiceagent.agent import CallRun, build_session, open_call

        room = room or f"call-test-{next(_rooms)}"
        llm = ScriptedLLM(steps)
        desk = await open_call(room, caller_id=caller_id, transfer=transfers, reminder=reminder)
        session = build_session(desk, llm=llm)
        run = CallRun(desk, session, max_seconds=max_seconds)
        async with session:
            await run.start(wait_for_greeting=True)
            convo = Conversation(run=run, llm=llm)
            try:
                yield convo
            finally:
                await run.finish()
        assert not llm.exhausted, "the conversation ran past its script"

    return start


@pytest.fixture
def outbound_livekit(settings, monkeypatch):
    """LiveKit's API as voiceagent.outbound sees it, with an outbound trunk set up; two lines, two attempts."""
    import contextlib

    from tests.voiceagent.fake_livekit import FakeLiveKit
    from voiceagent import outbound

    settings.VOICE_AGENT_NAME = "clinic-receptionist"
    settings.REMINDER_CALLS_AT_ONCE, settings.REMINDER_CALL_ATTEMPTS = 2, 2
    fake = FakeLiveKit()

    @contextlib.asynccontextmanager
    async def fake_api():
        yield fake

    monkeypatch.setattr(outbound, "livekit_api", fake_api)
    return fake
