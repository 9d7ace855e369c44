"""The receptionist's tools, rule by rule, against the real database, Redis and live-call store."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from livekit.agents import ToolError

from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import ProviderFactory, clinic_profile
from tests.voiceagent.conftest import CALLER
from tests.when import local_dt
from voiceagent.agent import open_call, transfer_request
from voiceagent.livecalls import active_calls
from voiceagent.models import Call
from voiceagent.tools import ASK_BIRTH_DATE, FAILURES_BEFORE_TRANSFER, IDENTITY_FAILED

pytestmark = pytest.mark.django_db(transaction=True)
_rooms = itertools.count(1)


@pytest.fixture
async def desk_for(transfers):
    """Opens calls as the agent does (Call record, live panel, context); closes them after the test."""
    opened = []

    async def open_desk(caller_id: str = CALLER):
        desk = await open_call(f"call-tools-{next(_rooms)}", caller_id=caller_id, transfer=transfers)
        opened.append(desk)
        return desk

    yield open_desk
    for desk in opened:
        await desk.close()
        await desk.live.end()
        await desk.store.close()


def stage(desk) -> str:
    return next(c for c in active_calls() if c["room"] == desk.context.room)["stage"]


async def agreed(desk, write, *args, **kwargs) -> str:
    """A write as a call makes it: read back (confirmed=False), the caller's yes, then confirmed=True."""
    await write(*args, False, **kwargs)
    await desk.follow_caller("Yes please")
    return await write(*args, True, **kwargs)


async def offer(desk, provider="Dr Khan", day: date | None = None, at="10:00") -> str:
    out = await desk.find_free_times(provider, day.isoformat() if day else "", "", at if day else "")
    return out.split(": ")[1].split(" ")[0] if "slot-" in out else ""


async def test_booking_needs_an_offered_slot_a_name_and_a_yes(desk_for, clinic, dr_khan, monday):
    desk = await desk_for()
    with pytest.raises(ToolError, match='"slot-1" is not a time offered'):
        await desk.book_appointment("slot-1", True)
    slot = await offer(desk, day=monday)
    assert stage(desk) == "choosing_slot"
    with pytest.raises(ToolError, match="full name first"):
        await desk.book_appointment(slot, True)
    assert await desk.identify_patient("Nadia Khan") == ASK_BIRTH_DATE
    with pytest.raises(ToolError, match="date of birth first"):
        await desk.book_appointment(slot, False)
    await desk.identify_patient("Nadia Khan", "1990-04-01")
    readback = await desk.book_appointment(slot, False)
    assert readback.startswith(f"Not booked yet (Nadia Khan with Dr Ayesha Khan on {monday:%A}")
    assert f"«That's Nadia Khan with Dr Ayesha Khan, {monday:%A} the " in readback
    assert "at 10 in the morning. Shall I book it?»" in readback
    assert await Appointment.objects.acount() == 0 and await Patient.objects.acount() == 0
    await agreed(desk, desk.book_appointment, slot, reason="  cough for a week ")
    appointment = await Appointment.objects.select_related("patient").aget()
    assert (appointment.start, appointment.source, appointment.reason) == (
        local_dt(monday, 10), Appointment.Source.PHONE, "cough for a week")
    assert (appointment.patient.full_name, appointment.patient.phone) == ("Nadia Khan", CALLER)
    assert appointment.patient.date_of_birth == date(1990, 4, 1)  # the next call can check who they are
    with pytest.raises(ToolError, match="not a time offered"):
        await desk.book_appointment(slot, True)  # an id books once


async def test_existing_patient_is_reused_not_duplicated(desk_for, clinic, dr_khan, monday):
    patient = await Patient.objects.acreate(full_name="Nadia Khan", phone=CALLER)
    desk = await desk_for()
    await desk.identify_patient("NADIA   khan")
    await agreed(desk, desk.book_appointment, await offer(desk, day=monday))
    assert await Patient.objects.acount() == 1
    assert (await Appointment.objects.aget()).patient_id == patient.pk


async def test_refused_booking_offers_alternatives_and_counts_failures(desk_for, clinic, dr_khan, monday):
    desk = await desk_for()
    await desk.identify_patient("Nadia Khan", "1990-04-01")
    slot = await offer(desk, day=monday)
    await Appointment.objects.acreate(patient=await Patient.objects.acreate(full_name="X Y", phone="+923331234567"),
                                      provider=dr_khan, start=local_dt(monday, 10), end=local_dt(monday, 10, 30))
    with pytest.raises(ToolError) as refused:
        await agreed(desk, desk.book_appointment, slot)
    assert "already booked at 10:00" in str(refused.value) and "Offer these instead" in str(refused.value)
    assert "offer to transfer" not in str(refused.value)
    desk.context.failures = FAILURES_BEFORE_TRANSFER - 1
    with time_machine.travel(local_dt(monday, 10), tick=True), \
            pytest.raises(ToolError, match="offer to transfer them to a member of staff"):
        await desk.find_free_times("Dr Nobody")
    # After hours nobody answers a transfer: a message is offered instead.
    with time_machine.travel(local_dt(monday, 20), tick=True), pytest.raises(ToolError) as refused:
        await desk.find_free_times("Dr Nobody")
    assert "offer to transfer" not in str(refused.value)
    assert "«I'm sorry this is taking a while. Would you like me to take a message" in str(refused.value)


async def test_identification_needs_birth_date_when_on_file(desk_for, clinic):
    await Patient.objects.acreate(full_name="Imran Qureshi", phone=CALLER, date_of_birth=date(1980, 5, 3))
    desk = await desk_for()
    asked = await desk.identify_patient("Imran Qureshi")
    assert asked == ASK_BIRTH_DATE and not desk.context.verified
    assert await desk.identify_patient("Imran Qureshi", "1980-03-05") == IDENTITY_FAILED
    assert not desk.context.verified and desk.context.identity_failures == 1
    with pytest.raises(ToolError, match="not a date"):
        await desk.identify_patient("Imran Qureshi", "3rd May")
    with pytest.raises(ToolError, match="in the future"):
        await desk.identify_patient("Imran Qureshi", (timezone.localdate() + timedelta(days=2)).isoformat())
    await desk.identify_patient("imran qureshi", "1980-05-03")
    assert desk.context.verified and desk.context.patient_name == "Imran Qureshi"


async def test_same_name_on_another_number_is_a_new_patient(desk_for, clinic):
    await Patient.objects.acreate(full_name="Imran Qureshi", phone="+923339876543")
    desk = await desk_for()
    assert await desk.identify_patient("Imran Qureshi") == ASK_BIRTH_DATE
    assert await desk.identify_patient("Imran Qureshi", "1970-01-01") == IDENTITY_FAILED
    assert not desk.context.verified
    with pytest.raises(ToolError, match="not identified"):
        await desk.list_appointments()


async def test_appointments_listed_moved_cancelled_only_for_the_identified_patient(desk_for, clinic, dr_khan, monday):
    me = await Patient.objects.acreate(full_name="Imran Qureshi", phone=CALLER)
    sibling = await Patient.objects.acreate(full_name="Sara Qureshi", phone=CALLER)
    mine = await Appointment.objects.acreate(patient=me, provider=dr_khan, start=local_dt(monday, 9),
                                             end=local_dt(monday, 9, 30))
    theirs = await Appointment.objects.acreate(patient=sibling, provider=dr_khan, start=local_dt(monday, 15),
                                               end=local_dt(monday, 15, 30))
    await Appointment.objects.acreate(patient=me, provider=dr_khan, start=local_dt(monday, 16),
                                      end=local_dt(monday, 16, 30), status=Appointment.Status.CANCELLED)
    desk = await desk_for()
    await desk.identify_patient("Imran Qureshi")
    listed = await desk.list_appointments()
    assert listed.count("appt-") == 1 and "9:00" in listed and "15:00" not in listed
    # A forged id, or one pointing at a sibling's appointment, changes nothing.
    with pytest.raises(ToolError, match="not one of the caller's appointments"):
        await desk.cancel_appointment("appt-9", True)
    desk.context.listed["appt-50"] = theirs.pk
    with pytest.raises(ToolError, match="no longer exists"):
        await desk.cancel_appointment("appt-50", True)
    assert (await Appointment.objects.aget(pk=theirs.pk)).status == Appointment.Status.BOOKED
    [appt_id] = [k for k, v in desk.context.listed.items() if v == mine.pk]
    slot = await offer(desk, day=monday, at="12:00")
    moved = await agreed(desk, desk.reschedule_appointment, appt_id, slot)
    assert moved.startswith("Moved: the appointment is now on")
    await mine.arefresh_from_db()
    assert (mine.start, mine.status) == (local_dt(monday, 12), Appointment.Status.RESCHEDULED)
    assert stage(desk) == "wrapping_up"
    await agreed(desk, desk.cancel_appointment, appt_id)
    await mine.arefresh_from_db()
    assert mine.status == Appointment.Status.CANCELLED
    record = await Call.objects.aget(pk=desk.call_id)
    assert (record.outcome, record.appointment_id) == (Call.Outcome.CANCELLED, mine.pk)


async def test_a_visit_checked_in_at_the_desk_is_out_of_the_callers_reach(desk_for, clinic, dr_khan, monday):
    me = await Patient.objects.acreate(full_name="Imran Qureshi", phone=CALLER)
    mine = await Appointment.objects.acreate(patient=me, provider=dr_khan, start=local_dt(monday, 9),
                                             end=local_dt(monday, 9, 30))
    desk = await desk_for()
    await desk.identify_patient("Imran Qureshi")
    await desk.list_appointments()
    [appt_id] = [k for k, v in desk.context.listed.items() if v == mine.pk]
    # Meanwhile the patient walked in and the desk checked them in.
    await Appointment.objects.filter(pk=mine.pk).aupdate(status=Appointment.Status.ARRIVED,
                                                         arrived_at=timezone.now())
    with pytest.raises(ToolError, match="already arrived for this appointment, so it can no longer be cancelled"):
        await agreed(desk, desk.cancel_appointment, appt_id)
    slot = await offer(desk, day=monday, at="12:00")
    with pytest.raises(ToolError, match="already arrived for this appointment, so it can no longer be moved"):
        await agreed(desk, desk.reschedule_appointment, appt_id, slot)
    assert "no upcoming appointments" in await desk.list_appointments()
    await mine.arefresh_from_db()
    assert (mine.status, mine.start) == (Appointment.Status.ARRIVED, local_dt(monday, 9))


async def test_free_times_explain_bad_requests(desk_for, clinic, dr_khan, monday):
    desk = await desk_for()
    with pytest.raises(ToolError, match='No provider called "Dr Nobody".*Dr Ayesha Khan'):
        await desk.find_free_times("Dr Nobody")
    with pytest.raises(ToolError, match="YYYY-MM-DD"):
        await desk.find_free_times("anyone", "next monday")
    with pytest.raises(ToolError, match="which day"):
        await desk.find_free_times("anyone", "", "", "10:00")
    with pytest.raises(ToolError, match="morning, afternoon, evening"):
        await desk.find_free_times("anyone", monday.isoformat(), "teatime")
    from asgiref.sync import sync_to_async

    await sync_to_async(ProviderFactory)(name="Dr Omar Khan")
    # A call reads the provider list once, while its greeting plays: the next call knows Dr Omar Khan.
    desk = await desk_for()
    with pytest.raises(ToolError, match='Several providers match "Khan": Dr Ayesha Khan, Dr Omar Khan'):
        await desk.find_free_times("Khan")
    sunday = monday + timedelta(days=6)
    said = await desk.find_free_times("Ayesha", sunday.isoformat())
    assert said.startswith("Dr Ayesha Khan is not in on Sundays.") and "slot-1" in said
    said = await desk.find_free_times("Ayesha", monday.isoformat(), "", "13:15")
    assert "outside those hours" in said


async def test_provider_closure_is_the_reason_given(desk_for, clinic, dr_khan, monday):
    from scheduling.models import Closure

    await Closure.objects.acreate(provider=dr_khan, start_date=monday, end_date=monday, reason="conference")
    desk = await desk_for()
    said = await desk.find_free_times("Dr Khan", monday.isoformat())
    assert said.startswith(f"Dr Ayesha Khan is away on {monday:%A}") and "(conference)" in said


async def test_phone_number_given_by_the_caller(desk_for, clinic):
    desk = await desk_for(caller_id="")
    with pytest.raises(ToolError, match="not a phone number"):
        await desk.set_caller_phone("12")
    said = await desk.set_caller_phone("+92 321 7654321")
    assert said.endswith("0 3 2 1, 7 6 5, 4 3 2 1.")
    assert desk.context.caller_phone == "+923217654321" and not desk.context.phone_from_caller_id


async def test_transfer_without_a_number_offers_a_message(desk_for, transfers, dr_khan):
    await clinic_profile_async(transfer_phone="")
    desk = await desk_for()
    with pytest.raises(ToolError, match="«I'm sorry, no one can take calls right now. I can take a message"):
        await desk.transfer_to_staff("asked for a person")
    assert transfers.dialled == [] and stage(desk) == "transferring"


async def clinic_profile_async(**fields):
    from asgiref.sync import sync_to_async

    return await sync_to_async(clinic_profile)(**fields)


async def test_message_needs_a_number_to_call_back(desk_for, clinic):
    desk = await desk_for(caller_id="")
    with pytest.raises(ToolError, match="callback_phone"):
        await desk.take_message("Please call me about my results")
    await desk.take_message("Please call me about my results", callback_phone="0300 7654321")
    record = await Call.objects.aget(pk=desk.call_id)
    assert record.message == "The caller asks to be called back on +923007654321: Please call me about my results"


async def test_clinic_information_from_profile_and_schedule(desk_for, clinic, dr_khan):
    await ProviderFactory._meta.model.objects.filter(pk=dr_khan.pk).aupdate(specialty="Family medicine")
    from scheduling.models import Closure

    soon = timezone.localdate() + timedelta(days=3)
    await Closure.objects.acreate(start_date=soon, end_date=soon, reason="Independence Day")
    desk = await desk_for()
    info = await desk.clinic_information()
    assert "Clinic: Sunrise Family Clinic." in info and "Address: 12 Canal Road, Lahore." in info
    assert "Opening hours: Monday 09:00-17:00" in info and "closed Saturday, Sunday" in info
    assert "Dr Ayesha Khan (Family medicine): Monday 09:00-13:00, 14:00-17:00" in info
    assert "(Independence Day)" in info
    assert stage(desk) == "info"


def test_transfer_request_is_a_cold_sip_transfer_to_the_clinic_number():
    request = transfer_request("call-abc", "sip_923001234567", "+923009998887")
    assert (request.room_name, request.participant_identity, request.transfer_to) == (
        "call-abc", "sip_923001234567", "tel:+923009998887")


async def test_a_phone_booking_is_on_the_audit_trail_as_the_agent_and_its_call(desk_for, clinic, dr_khan, monday):
    desk = await desk_for()
    await desk.identify_patient("Nadia Khan", "1990-04-01")
    await agreed(desk, desk.book_appointment, await offer(desk, day=monday))
    appointment = await Appointment.objects.aget()
    record = await appointment.history.aget()
    assert record.history_type == "+" and record.history_user_id is None
    assert record.history_change_reason == f"phone agent, call {desk.call_id}"
    patient = await Patient.history.aget()
    assert patient.history_change_reason == f"phone agent, call {desk.call_id}"


@pytest.mark.parametrize("provider", ["Dr Khan", "anyone"])
async def test_a_day_past_the_horizon_says_until_when_and_offers_the_last_free_times(desk_for, clinic, dr_khan,
                                                                                      provider):
    from datetime import datetime as dt

    from django.utils.formats import date_format

    desk = await desk_for()
    last = timezone.localdate() + timedelta(days=clinic.booking_horizon_days)
    said = await desk.find_free_times(provider, (last + timedelta(days=30)).isoformat())
    assert f"the clinic books up to {date_format(last, 'l j F Y')} ({clinic.booking_horizon_days} days ahead)" in said
    assert ("with Dr Ayesha Khan" if provider == "Dr Khan" else "with anyone") in said
    offered = [dt.fromisoformat(s["start"]) for s in desk.context.offered.values()]
    assert offered and all(last - timedelta(days=7) < o.date() <= last for o in offered)
    assert "no free times in the coming weeks" not in said


async def test_asking_for_an_off_grid_time_offers_and_books_only_grid_times(desk_for, clinic, monday):
    from datetime import datetime as dt, time

    from asgiref.sync import sync_to_async

    await sync_to_async(ProviderFactory)(
        name="Dr Ayesha Khan", appointment_minutes=20,
        hours={wd: [(time(9), time(12)), (time(13, 30), time(17))] for wd in range(5)})
    desk = await desk_for()
    said = await desk.find_free_times("Dr Khan", monday.isoformat(), "", "10:07")
    assert said.startswith("10:07 is not on Dr Ayesha Khan's 20-minute grid; the nearest times are 10:00 and 10:20.")
    assert "That time is free" not in said
    offered = {slot_id: dt.fromisoformat(s["start"]) for slot_id, s in desk.context.offered.items()}
    assert sorted(f"{timezone.localtime(t):%H:%M}" for t in offered.values()) == ["09:40", "10:00", "10:20", "10:40"]
    # The afternoon grid starts at 13:30: 13:40 offers 13:30 and 13:50.
    said = await desk.find_free_times("Dr Khan", monday.isoformat(), "", "13:40")
    assert "the nearest times are 13:30 and 13:50." in said
    # For anyone, the offered times are on each provider's grid too.
    await desk.find_free_times("anyone", monday.isoformat(), "", "10:07")

    def on_grid(t: dt) -> bool:
        minutes = timezone.localtime(t).hour * 60 + timezone.localtime(t).minute
        return (minutes - 9 * 60) % 20 == 0 if minutes < 12 * 60 else (minutes - 13 * 60 - 30) % 20 == 0

    assert all(on_grid(dt.fromisoformat(s["start"])) for s in desk.context.offered.values())

    # Booking takes an offered id, never a time: a raw time is not an id.
    await desk.identify_patient("Nadia Khan", "1990-04-01")
    for raw in ("10:07", f"{monday.isoformat()}T10:07", "slot-999"):
        with pytest.raises(ToolError, match="is not a time offered"):
            await desk.book_appointment(raw, True)
    ten = next(i for i, t in offered.items() if f"{timezone.localtime(t):%H:%M}" == "10:00")
    await agreed(desk, desk.book_appointment, ten)
    appointment = await Appointment.objects.aget()
    assert appointment.start == local_dt(monday, 10)
