"""The receptionist's tools: thin async wrappers around the clinic's services and selectors.

`FrontDesk` is one call's desk: its context, live-call handle and Call
record. Each method is one thing the model may do; it returns a sentence for
the model, or raises ToolError with a sentence the model can act on (the
caller hears a sensible reply, never "an internal error"). The booking rules
live in scheduling.services; here we only check who may do what on this
call: the model books only slots this call offered (opaque ids), and moves or
cancels only appointments of a patient identified by phone, name and date of
birth.

Database work runs through sync_to_async, one function per write, because
the job's event loop must never run the sync ORM.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time as time_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from asgiref.sync import sync_to_async
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from livekit.agents import ToolError

from clinic import audit, hygiene
from clinic.models import ClinicProfile
from patients.models import Patient
from patients.phone import mask_phone, spoken_digits
from patients.selectors import patients_for_phone
from patients.services import (
    PatientError, clean_name, clean_phone, patient_correct, patient_find_or_create, patient_identity_failed,
)
from scheduling import selectors, services
from scheduling.availability import PartOfDay, Slot
from scheduling.models import Appointment, Closure, Provider, WorkingHours
from scheduling.services import BookingError, say_day, say_time
from voiceagent import calls, languages, prompts, spoken
from voiceagent.callbacks import callback_request
from voiceagent.context import CallContext, CallerProfile, ContextStore, profile_refresh
from voiceagent.livecalls import LiveCall, Stage
from voiceagent.models import Call, Callback
from voiceagent.outbound import Reminder

log = logging.getLogger(__name__)

# After this many refused or failed tool calls the model is told to offer a
# person: a caller going round in circles wants a human.
FAILURES_BEFORE_TRANSFER = 3
# Wrong identity answers one call may give before it gets no more tries
# (patients.services.PHONE_FAILURES_PER_DAY limits them per patient and day).
IDENTITY_TRIES = 3
# The one reply to every identification that fails, whatever failed: a caller
# must not learn whether a name is registered, or which answer was wrong.
IDENTITY_FAILED = (
    "These details do not match a patient registered under this number. Do not say whether anyone is "
    "registered, and share no appointment details. If the caller is new, book them as a new patient with this "
    "name and date of birth. Otherwise ask them to check the spelling and the date of birth, or offer to "
    "transfer them to staff."
)
ASK_BIRTH_DATE = (
    "Name noted. Ask for the patient's date of birth and call identify_patient again with the name and the date "
    "of birth: it is needed before any appointment is discussed, and a new patient's booking records it."
)
IDENTITY_LIMIT = (
    "No more identity checks on this call: do not ask for other details and share no appointment details. "
    "Offer to transfer the caller to staff, or to take a message."
)
OFFER_LIMIT = 4
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

Transfer = Callable[[str], Awaitable[None]]


def _slot_text(slot_id: str, start: datetime, provider: str) -> str:
    return f"{slot_id}: {say_day(start)} at {say_time(start)} with {provider}"


def _text(raw) -> str:
    """A tool argument as text: the model may send a number, a list or nothing where text belongs."""
    return raw.strip() if isinstance(raw, str) else ""


def _parse_day(raw: str, latest: date) -> date | None:
    try:
        return hygiene.parse_day(_text(raw), latest=latest)
    except hygiene.Refused as exc:
        raise ToolError(exc.message) from None


def _parse_time(raw: str) -> time | None:
    raw = _text(raw)
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ToolError(f"{hygiene.quote(raw)} is not a time: give it as HH:MM on the 24-hour clock.") from None


def _parse_part(raw: str) -> PartOfDay | None:
    raw = _text(raw).lower()
    if not raw or raw in ("any", "anytime", "any time"):
        return None
    try:
        return PartOfDay(raw)
    except ValueError:
        raise ToolError("time_of_day must be morning, afternoon, evening or empty.") from None


def _find_provider(name: str, providers: list[Provider]) -> Provider | None:
    """The active provider the caller means, None for "anyone"; ToolError when unclear."""
    words = [w for w in re.findall(r"[\w'-]+", _text(name).lower()[:hygiene.NAME_MAX]) if w not in ("dr", "doctor", "the")]
    if not words or words in (["anyone"], ["anybody"], ["any"], ["first", "available"]):
        return None
    matches = [p for p in providers if all(w in p.name.lower() for w in words)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(p.name for p in (matches or providers))
    if matches:
        raise ToolError(f"Several providers match {hygiene.quote(name)}: {names}. Ask which one.")
    raise ToolError(f"No provider called {hygiene.quote(name)} works here. Our providers are: {names}.")


@dataclass
class FrontDesk:
    """One call's tools and state. `transfer` dials staff (SIP in production)."""

    store: ContextStore
    live: LiveCall
    call_id: int
    clinic: ClinicProfile
    profile: CallerProfile | None = None
    transfer: Transfer | None = None
    # Set on a reminder call the clinic placed (voiceagent.outbound): whom we rang, about which visit.
    reminder: Reminder | None = None
    tool_seconds: list[tuple[str, float]] = field(default_factory=list)
    _info: asyncio.Task | None = field(default=None, repr=False)
    _providers: list[Provider] = field(default_factory=list, repr=False)
    _heard_language: str | None = field(default=None, repr=False)
    # The caller's turns so far: a yes must come in a turn after the read-back it answers.
    caller_turns: int = 0
    _opening: tuple | None = field(default=None, repr=False)
    _opening_read: asyncio.Task | None = field(default=None, repr=False)
    _opening_read_at: float = field(default=0.0, repr=False)

    def prefetch(self) -> None:
        """Read the providers, the clinic's hours and whether it is open now while the greeting plays, not in a turn."""
        self._info = asyncio.create_task(sync_to_async(self._read_clinic)(), name="clinic-info")
        self._opening_read = asyncio.create_task(self.opening(timezone.localtime()), name="clinic-open")

    async def read_clinic(self) -> str:
        """The clinic's text (and the call's provider list), read once per call."""
        if self._info is None or (self._info.done() and (self._info.cancelled() or self._info.exception())):
            self.prefetch()  # never started, or the database failed the first time: try again
        return await self._info

    async def close(self) -> None:
        await asyncio.gather(*(task for task in (self._info, self._opening_read) if task), return_exceptions=True)

    @property
    def context(self) -> CallContext:
        return self.store.context

    # --- the caller's language and the clock -------------------------------------

    def heard(self, language: str | None) -> None:
        """The language the speech recogniser detected in the caller's last words, when it says."""
        self._heard_language = language or None

    async def follow_caller(self, words: str | None) -> bool:
        """Follow the caller into the language of `words` (their latest turn); True when it changed."""
        if words is None:
            return False
        self.caller_turns += 1
        self.store.guard.new_turn()
        ctx = self.context
        spoken_in, self._heard_language = self._heard_language, None
        language = languages.follow(ctx.language or languages.fallback(), text=words, stt_language=spoken_in)
        if language == ctx.language:
            return False
        ctx.language = language
        log.info("call %s: the caller speaks %s", ctx.room, languages.SUPPORTED[language])
        await asyncio.gather(self.store.save(), calls.call_update(self.call_id, language=language))
        return True

    async def now_instructions(self) -> str:
        """This turn's clock, opening hours and language for the model (voiceagent.prompts.now)."""
        await self._opening_prefetched()
        moment = timezone.localtime()
        opening, today = await self.opening(moment)
        return prompts.now(moment=moment, language=self.context.language, opening=opening, today_hours=today,
                           transfers=await self.transfers_open(moment))

    async def _opening_prefetched(self) -> None:
        if self._opening_read is not None:  # the read started while the greeting played
            await asyncio.gather(self._opening_read, return_exceptions=True)
            self._opening_read = None

    async def after_hours(self) -> str:
        """What the caller hears after the greeting while the clinic is closed ("" while it is open)."""
        await self._opening_prefetched()
        if self.reminder:
            return ""  # we rang them: our hours are not the news
        opening, _ = await self.opening(timezone.localtime())
        if opening is None or opening.is_open or opening.opens_at is None:
            return ""
        return prompts.line(self.context.language, "after_hours", when=self._when(opening.opens_at))

    async def transfers_open(self, moment: datetime | None = None) -> bool:
        """Whether a transfer to staff can be offered now: a number to dial, the clinic open, within the
        profile's transfer hours."""
        if not self.clinic.transfer_phone or self.transfer is None:
            return False
        moment = moment or timezone.localtime()
        opening, _ = await self.opening(moment)
        if opening is None or (not opening.is_open and opening.opens_at is None):
            return True  # no hours known (none read, or none set up): the desk decides by answering or not
        return opening.is_open and self.clinic.answers_transfers_at(selectors.local(moment).time())

    async def opening(self, moment: datetime) -> tuple[selectors.ClinicOpen | None, list[tuple[datetime, datetime]]]:
        """Whether the clinic is open at `moment`, and today's opening hours; read again only when that can
        have changed: at the next opening or closing, on another day, or after a few minutes (a closure added)."""
        known = self._opening
        boundary = known and (known[0].closes_at if known[0].is_open else known[0].opens_at)
        if (known is None or selectors.local(known[0].at).date() != moment.date()
                or (boundary and moment >= boundary) or time_module.monotonic() - self._opening_read_at > 300):
            try:
                self._opening = await sync_to_async(self._read_opening)(moment)
            except DatabaseError as exc:
                # The turn goes on without the hours (the model still has the clock and clinic_information).
                log.warning("call %s: opening hours not read (%s)", self.context.room, type(exc).__name__)
                return None, []
            self._opening_read_at = time_module.monotonic()
        return self._opening

    @staticmethod
    def _read_opening(moment: datetime):
        today = selectors.local(moment).date()
        return selectors.clinic_open(moment), selectors.clinic_hours(today, today)[today]

    def _words(self, key: str, **values) -> str:
        """A fixed line in the caller's language, quoted for the model to say as it is."""
        return f"«{prompts.line(self.context.language, key, **values)}»"

    def _when(self, moment: datetime) -> str:
        return spoken.say_when(selectors.local(moment), self.context.language, today=timezone.localdate())

    # --- bookkeeping ----------------------------------------------------------

    async def _stage(self, stage: str, record: dict | None = None, **live) -> None:
        """Tell the context store, the live panel and (with `record`) the Call record, all at once.

        None of them may stall the call: the store and the panel keep what
        Redis missed and send it again later.
        """
        self.context.stage = stage
        if "requested_slot" in live:
            self.context.requested_slot = live["requested_slot"].isoformat() if live["requested_slot"] else ""
        if "provider" in live:
            self.context.provider = live["provider"]
        work = [self.store.save(), self.live.update(stage=stage, **live)]
        if record:
            work.append(calls.call_update(self.call_id, **record))
        await asyncio.gather(*work)

    def _who(self) -> dict:
        return {"caller_name": self.context.patient_name, "patient_id": self.context.patient_id}

    async def _failed(self, message: str) -> ToolError:
        """Count a failure; after a few, steer the model towards a person."""
        self.context.failures += 1
        await self.store.save()
        if self.context.failures >= FAILURES_BEFORE_TRANSFER:
            if await self.transfers_open():
                message += (" This is not going well for the caller: offer to transfer them to a member of staff, "
                            f"in these words: {self._words('failing')}")
            else:
                message += (" This is not going well for the caller, and nobody can take a transfer now: offer to "
                            f"take a message, in these words: {self._words('failing_message')}")
        return ToolError(message)

    async def failed_unexpectedly(self) -> ToolError:
        """What the model hears when a tool broke (voiceagent.agent.Receptionist._timed): nothing was
        changed that it can rely on, so apologise and offer a person."""
        return await self._failed(
            "That did not work because of a fault on our side; do not retry it. Apologise and offer to take a "
            f"message or to transfer the caller to staff, in these words: {self._words('tool_error')}"
        )

    def _offer(self, slots: list[Slot], providers: dict[int, Provider]) -> list[str]:
        lines = []
        for slot in slots[:OFFER_LIMIT]:
            slot_id = self.context.new_id("slot")
            provider = providers[slot.provider_id]
            self.context.offered[slot_id] = {
                "provider_id": provider.pk, "provider": provider.name, "start": slot.start.isoformat(),
            }
            lines.append(_slot_text(slot_id, slot.start, provider.name))
        return lines

    async def _yes_given(self, change: dict, confirmed) -> bool:
        """Whether the caller has said yes to the read-back of exactly this change: the yes is the code's
        rule, not only the prompt's.

        A change with `confirmed` other than a JSON true, or one not read back
        yet, is the read-back (remembered now, False); a confirmation before
        the caller has spoken since that read-back is refused (ToolError).
        """
        ctx = self.context
        # For this patient only: a yes never carries over to another patient identified meanwhile.
        change = {**change, "patient_id": ctx.patient_id, "patient": ctx.patient_name}
        if confirmed is not True or ctx.pending_change != change:
            ctx.pending_change, ctx.pending_since_turn = change, self.caller_turns
            await self.store.save()
            return False
        if self.caller_turns <= ctx.pending_since_turn:
            raise ToolError("Not done: the caller has not answered the read-back yet. Wait for their yes, then "
                            "call again with confirmed set to true.")
        ctx.pending_change = {}
        return True

    # --- the caller ------------------------------------------------------------

    async def set_caller_phone(self, phone: str) -> str:
        try:
            e164 = clean_phone(phone)
        except PatientError as exc:
            raise await self._failed(exc.message) from None
        ctx = self.context
        if e164 != ctx.caller_phone:
            # Another number is another set of patients: identify again.
            ctx.caller_phone, ctx.phone_from_caller_id = e164, False
            ctx.verified, ctx.patient_id, ctx.listed = False, None, {}
        await self._stage(Stage.IDENTIFYING, record={"caller_phone": e164}, caller_phone=e164)
        return f"Phone number noted. Read it back digit by digit to check it: {spoken_digits(e164)}."

    async def identify_patient(self, full_name: str, date_of_birth: str = "") -> str:
        """Who the caller is. Every way of failing gets the same reply (IDENTITY_FAILED), so a caller learns
        nothing about who is registered; wrong answers are limited per call and per patient per day."""
        ctx = self.context
        if not ctx.caller_phone:
            raise ToolError("Ask for the patient's phone number first (set_caller_phone).")
        if ctx.identity_failures >= IDENTITY_TRIES:
            raise await self._failed(IDENTITY_LIMIT + f" Say: {self._words('identity_limit')}")
        try:
            name = clean_name(full_name)
        except PatientError as exc:
            raise await self._failed(exc.message) from None
        dob = _parse_day(date_of_birth, hygiene.NO_OVERFLOW_DAY)  # a future one: its own message below
        if dob and dob > timezone.localdate():
            raise await self._failed("That date of birth is in the future; ask the caller again.")
        ctx.patient_id, ctx.verified, ctx.listed = None, False, {}
        ctx.patient_name, ctx.date_of_birth = name, dob.isoformat() if dob else ""
        match, upcoming = await sync_to_async(self._check_identity)(ctx.caller_phone, name, dob,
                                                                    ctx.phone_from_caller_id)
        if match is None:
            await self._stage(Stage.IDENTIFYING, record=self._who(), **self._who())
            if dob is None:
                return ASK_BIRTH_DATE
            ctx.identity_failures += 1
            await self.store.save()
            log.info("call %s: identity not confirmed (%s of %s)", ctx.room, ctx.identity_failures, IDENTITY_TRIES)
            if ctx.identity_failures >= IDENTITY_TRIES:
                raise await self._failed(IDENTITY_LIMIT + f" Say: {self._words('identity_limit')}")
            return IDENTITY_FAILED
        ctx.patient_id, ctx.patient_name, ctx.verified = match.pk, match.full_name, True
        await self._stage(Stage.IDENTIFYING, record=self._who(), **self._who())
        if self.reminder and self.reminder.patient_id == match.pk:
            return f"Identified {match.full_name}. " + await self._reminder_visit()
        return (
            f"Identified the patient {hygiene.as_data(match.full_name)}. They have {upcoming} upcoming appointment"
            f"{'s' * (upcoming != 1)}; use list_appointments when they ask about them."
        )

    async def _reminder_visit(self) -> str:
        """The visit this reminder call is about, for the identified patient, under an id the tools accept."""
        ctx = self.context
        appointment = await Appointment.objects.select_related("provider").aget(pk=self.reminder.appointment_id)
        appt_id = next((k for k, v in ctx.listed.items() if v == appointment.pk), None) or ctx.new_id("appt")
        ctx.listed[appt_id] = appointment.pk
        await self.store.save()
        words = self._words("reminder_visit", when=self._when(appointment.start), provider=appointment.provider.name)
        return (f"This call is about {appt_id}: {say_day(appointment.start)} at {say_time(appointment.start)} with "
                f"{appointment.provider.name}. Tell them in these words: {words} If they will come, call "
                f"confirm_appointment. To move it, find_free_times then reschedule_appointment with {appt_id}; "
                f"to cancel it, cancel_appointment with {appt_id}.")

    async def confirm_reminder(self) -> str:
        """The identified patient says they will come to the visit this reminder call is about."""
        self._require_verified()
        ctx = self.context
        if self.reminder is None or ctx.patient_id != self.reminder.patient_id:
            raise ToolError("There is no appointment to confirm on this call for this patient.")
        try:
            appointment = await sync_to_async(services.appointment_confirm)(
                self.reminder.appointment_id, by=Appointment.Source.PHONE)
        except BookingError as exc:
            raise await self._failed(exc.message) from None
        ctx.appointment_id, ctx.outcome = appointment.pk, Call.Outcome.CONFIRMED
        await self._stage(Stage.WRAPPING_UP, record={"appointment_id": appointment.pk,
                                                     "outcome": Call.Outcome.CONFIRMED})
        return (f"Confirmed: {say_day(appointment.start)} at {say_time(appointment.start)} with "
                f"{appointment.provider.name}. Thank them, say goodbye and call end_call.")

    async def voicemail(self) -> str:
        """A voicemail greeting answered the reminder call: the words to leave (nothing about the visit)."""
        ctx = self.context
        ctx.outcome = Call.Outcome.VOICEMAIL
        await self._stage(Stage.WRAPPING_UP, record={"outcome": Call.Outcome.VOICEMAIL})
        digits = spoken.say_digits(spoken_digits(self.clinic.phone), ctx.language) if self.clinic.phone else ""
        return prompts.line(ctx.language, "voicemail" if digits else "voicemail_no_number",
                            clinic=self.clinic.name, digits=digits)

    @staticmethod
    def _check_identity(phone: str, name: str, dob: date | None, from_caller_id: bool) -> tuple[Patient | None, int]:
        """The patient these details identify (with their upcoming appointments), or None: one trip.

        A patient with a date of birth on file needs it; one without needs
        the call's own caller ID (not a number said on the call) to be their
        phone. A wrong answer for a registered name counts against that
        patient (patient_identity_failed); a locked patient is never identified.
        """
        match = patients_for_phone(phone).filter(full_name__iexact=name).first()
        if match is None:
            return None, 0
        if match.date_of_birth:
            passed = dob == match.date_of_birth
        else:
            passed = from_caller_id
        if passed and match.phone_locked_at is None:
            return match, selectors.upcoming_for_patient(match.pk).count()
        if dob is not None:
            # A guess (or a claim from a line that is not the patient's): it counts.
            patient_identity_failed(patient_id=match.pk)
        return None, 0

    # --- information ------------------------------------------------------------

    async def clinic_information(self) -> str:
        await self._stage(Stage.INFO)
        return await self.read_clinic()

    def _read_clinic(self) -> str:
        # Kept for the call: find_free_times matches the caller's provider
        # against it instead of reading all providers again in every turn.
        self._providers = list(Provider.objects.filter(is_active=True).order_by("name", "pk"))
        return self._clinic_text(self._providers)

    def _clinic_text(self, providers: list[Provider]) -> str:
        clinic = self.clinic
        lines = [f"Clinic: {clinic.name}."]
        if clinic.address:
            lines.append(f"Address: {clinic.address}.")
        if clinic.phone:
            lines.append(f"Phone: {spoken_digits(clinic.phone)}.")
        # Plain rows, not model instances: this runs in the first second of every call.
        rows = WorkingHours.objects.filter(provider__in=providers).values_list(
            "provider_id", "weekday", "start_time", "end_time").order_by("weekday", "start_time")
        week_of: dict[int, dict[int, list[str]]] = {}
        open_days: dict[int, tuple[time, time]] = {}
        for provider_id, weekday, start, end in rows:
            week_of.setdefault(provider_id, {}).setdefault(weekday, []).append(f"{start:%H:%M}-{end:%H:%M}")
            first, last = open_days.get(weekday, (start, end))
            open_days[weekday] = (min(first, start), max(last, end))
        for p in providers:
            hours = week_of.get(p.pk, {})
            week = "; ".join(f"{WEEKDAYS[d]} {', '.join(h)}" for d, h in sorted(hours.items()))
            specialty = f" ({p.specialty})" if p.specialty else ""
            lines.append(f"{p.name}{specialty}: {week or 'no regular hours'}.")
        if open_days:
            clinic_hours = "; ".join(
                f"{WEEKDAYS[d]} {a:%H:%M}-{b:%H:%M}" for d, (a, b) in sorted(open_days.items())
            )
            closed = [WEEKDAYS[d] for d in range(7) if d not in open_days]
            lines.insert(1, f"Opening hours: {clinic_hours}" + (f"; closed {', '.join(closed)}." if closed else "."))
        today = timezone.localdate()
        for c in Closure.objects.filter(provider__isnull=True, end_date__gte=today,
                                        start_date__lte=today + timedelta(days=30)):
            lines.append(f"Closed {date_format(c.start_date, 'l j F')}"
                         f"{' to ' + date_format(c.end_date, 'l j F') if c.end_date != c.start_date else ''}"
                         f" ({c.reason}).")
        return " ".join(lines)

    # --- finding and booking -----------------------------------------------------

    async def find_free_times(self, provider: str = "", day: str = "", time_of_day: str = "",
                              at: str = "") -> str:
        wanted_day = _parse_day(day, hygiene.last_day(self.clinic.booking_horizon_days))
        wanted_time, part = _parse_time(at), _parse_part(time_of_day)
        if wanted_time and not wanted_day:
            raise ToolError("Ask which day they want that time on, and pass it as day.")
        today = timezone.localdate()
        if wanted_day and wanted_day < today:
            raise await self._failed(
                f"{date_format(wanted_day, 'l j F')} has already passed (today is "
                f"{date_format(today, 'l j F Y')}). Ask for a day from today on."
            )
        await self.read_clinic()  # the call's provider list, read while the greeting played
        try:
            who = _find_provider(provider, self._providers)
        except ToolError as exc:
            raise await self._failed(str(exc)) from None
        horizon = today + timedelta(days=self.clinic.booking_horizon_days)
        if wanted_day and wanted_day > horizon:
            return await self._past_horizon(who, wanted_day)
        try:
            result, refusal = await sync_to_async(self._free_times)(who, wanted_day, wanted_time, part)
        except ToolError as exc:
            raise await self._failed(str(exc)) from None
        requested = (
            datetime.combine(wanted_day, wanted_time, tzinfo=selectors.clinic_tz()) if wanted_time else None
        )
        await self._stage(Stage.CHOOSING_SLOT, provider=who.name if who else "", requested_slot=requested)
        lines = self._offer(result.slots, result.providers)
        if not lines:
            raise await self._failed(
                (refusal + " " if refusal else "") + "There are no free times in the coming weeks; "
                "offer to take a message or transfer the caller to staff."
            )
        intro = ""
        if requested and result.requested_free:
            intro = "That time is free. "
        elif refusal:
            intro = refusal + " "
        return (
            intro + "Offer these times (use the id to book; never offer a time that is not listed): "
            + "; ".join(lines) + "."
        )

    async def _past_horizon(self, who: Provider | None, day: date) -> str:
        """A day past the booking horizon: until when the clinic books, and the last free times before then."""
        horizon = await sync_to_async(services.past_horizon)(day=day, provider=who, limit=OFFER_LIMIT)
        await self._stage(Stage.CHOOSING_SLOT, provider=who.name if who else "")
        said = horizon.said + " Tell the caller."
        lines = self._offer(horizon.slots, horizon.providers)
        if not lines:
            raise await self._failed(said + " There are no free times before then either; offer to take a message "
                                            "or transfer the caller to staff.")
        return (said + f" The last free times before then {horizon.who} (use the id to book; never offer a time "
                f"that is not listed): " + "; ".join(lines) + ".")

    def _free_times(self, who: Provider | None, day: date | None, at: time | None, part: PartOfDay | None):
        result = selectors.find_free_times(provider=who, day=day, at=at, part_of_day=part, limit=OFFER_LIMIT)
        refusal = ""
        if day and not result.requested_free:
            on_day = [s for s in result.slots if selectors.local(s.start).date() == day]
            if at or not on_day:
                refusal = self._why_not(who, day, at, result)
        return result, refusal

    @staticmethod
    def _why_not(who: Provider | None, day: date, at: time | None, result) -> str:
        """The booking rule's reason that the day or time asked for is not on offer."""
        when = date_format(day, "l j F") + (f" at {at:%H:%M}" if at else "")
        if who is None:
            closure = Closure.objects.filter(provider__isnull=True, start_date__lte=day, end_date__gte=day).first()
            if closure:
                return f"The clinic is closed on {date_format(day, 'l j F')} ({closure.reason})."
            return f"No one has a free time on {when}."
        start = datetime.combine(day, at or time(12), tzinfo=selectors.clinic_tz())
        refusal = services.slot_refusal(provider=who, start=start)
        day_wide = ("closed", "not_working_day", "past", "too_soon", "beyond_horizon")
        if refusal and (at or refusal.code in day_wide):
            return refusal.message
        return f"{who.name} has no free time on {when}."

    def _offered(self, slot_id: str) -> dict:
        slot = self.context.offered.get(_text(slot_id))
        if slot is None:
            raise ToolError(
                f"{hygiene.quote(slot_id)} is not a time offered on this call. Only book a slot id that find_free_times "
                "gave you; call it again if the caller wants another time."
            )
        return slot

    async def book_appointment(self, slot_id: str, confirmed: bool, reason: str = "",
                               before_write: Callable[[], None] | None = None) -> str:
        ctx = self.context
        slot = self._offered(slot_id)
        if not ctx.patient_name:
            raise ToolError("Ask for the patient's full name first (identify_patient).")
        if not ctx.caller_phone:
            raise ToolError("Ask for a phone number for the booking first (set_caller_phone).")
        start = datetime.fromisoformat(slot["start"])
        try:
            reason = hygiene.clean_reason(reason)
        except hygiene.Refused as exc:
            raise await self._failed(exc.message + " Ask for the reason in a few words, or leave it out.") from None
        if not ctx.patient_id and not ctx.date_of_birth:
            # The next call can then check who they are (identify_patient).
            raise ToolError("Ask for the new patient's date of birth first and call identify_patient with the "
                            "name and the date of birth.")
        if not await self._yes_given({"book": slot_id, "reason": reason}, confirmed):
            await self._stage(Stage.BOOKING, provider=slot["provider"], requested_slot=start)
            return (
                f"Not booked yet ({ctx.patient_name} with {slot['provider']} on {say_day(start)} at "
                f"{say_time(start)}). Read it back to the caller in these words: "
                f"{self._words('readback_booking', name=ctx.patient_name, provider=slot['provider'], when=self._when(start))} "
                "Only after they say yes, call book_appointment again with confirmed set to true."
            )
        if before_write:
            before_write()
        await self._stage(Stage.BOOKING, provider=slot["provider"], requested_slot=start)
        try:
            appointment = await sync_to_async(self._as_agent)(self._book, slot, start, reason)
        except BookingError as exc:
            raise await self._refused(exc, slot["provider_id"]) from None
        except PatientError as exc:
            raise await self._failed(exc.message) from None
        ctx.appointment_id, ctx.patient_id, ctx.outcome = appointment.pk, appointment.patient_id, Call.Outcome.BOOKED
        ctx.offered.pop(slot_id, None)
        await self._stage(Stage.WRAPPING_UP, record={**self._who(), "appointment_id": appointment.pk,
                                                     "outcome": Call.Outcome.BOOKED}, **self._who())
        log.info("call %s: booked appointment %s for caller %s", ctx.room, appointment.pk, mask_phone(ctx.caller_phone))
        return (
            f"Booked: {ctx.patient_name} with {slot['provider']} on {say_day(start)} at {say_time(start)}. "
            "Tell the caller, and ask if there is anything else."
        )

    def _as_agent(self, write: Callable, /, *args, **kwargs):
        """Run one write with the audit trail naming this call as its author."""
        with audit.acting(f"phone agent, call {self.call_id}"):
            return write(*args, **kwargs)

    def _book(self, slot: dict, start: datetime, reason: str) -> Appointment:
        ctx = self.context
        dob = date.fromisoformat(ctx.date_of_birth) if ctx.date_of_birth else None
        with transaction.atomic():
            if ctx.patient_id:
                patient = Patient.objects.get(pk=ctx.patient_id)
            else:
                patient, created = patient_find_or_create(full_name=ctx.patient_name, phone=ctx.caller_phone,
                                                          date_of_birth=dob)
                if not created:
                    # Registered after all: only the details that identify them book for them.
                    match, _ = self._check_identity(ctx.caller_phone, ctx.patient_name, dob, ctx.phone_from_caller_id)
                    if match is None:
                        raise PatientError(IDENTITY_FAILED)
            return services.appointment_book(
                patient=patient, provider=Provider.objects.get(pk=slot["provider_id"]), start=start,
                reason=reason, source=Appointment.Source.PHONE,
            )

    async def _refused(self, exc: BookingError, provider_id: int) -> ToolError:
        message = exc.message.split(" The nearest free times are")[0]
        alternatives = exc.alternatives
        if not alternatives:
            result = await sync_to_async(selectors.find_free_times)(
                provider=await Provider.objects.aget(pk=provider_id), limit=3)
            alternatives = result.slots
        providers = {p.pk: p async for p in Provider.objects.filter(pk__in={s.provider_id for s in alternatives})}
        lines = self._offer(alternatives, providers)
        if lines:
            message += " Offer these instead (book only these ids): " + "; ".join(lines) + "."
        return await self._failed(message)

    # --- the caller's appointments -------------------------------------------------

    def _require_verified(self) -> None:
        if not self.context.verified or not self.context.patient_id:
            raise ToolError(
                "The caller is not identified yet. Ask for the patient's full name and date of birth and "
                "call identify_patient; until it succeeds, say nothing about any appointment."
            )

    async def list_appointments(self) -> str:
        self._require_verified()
        ctx = self.context
        rows = [a async for a in selectors.upcoming_for_patient(ctx.patient_id)[:5]]
        if not rows:
            await self._stage(Stage.IDENTIFYING)
            return f"{ctx.patient_name} has no upcoming appointments."
        lines = []
        for appointment in rows:
            known = next((k for k, v in ctx.listed.items() if v == appointment.pk), None)
            appt_id = known or ctx.new_id("appt")
            ctx.listed[appt_id] = appointment.pk
            lines.append(f"{appt_id}: {say_day(appointment.start)} at {say_time(appointment.start)} "
                         f"with {appointment.provider.name}")
        await self._stage(Stage.IDENTIFYING)
        return f"Upcoming appointments of {ctx.patient_name}: " + "; ".join(lines) + "."

    async def _own_appointment(self, appointment_id: str) -> Appointment:
        self._require_verified()
        pk = self.context.listed.get(_text(appointment_id))
        if pk is None:
            raise ToolError(f"{hygiene.quote(appointment_id)} is not one of the caller's appointments: call "
                            "list_appointments and use an id from it.")
        try:
            # Ownership is checked again against the database, not only our ids.
            return await Appointment.objects.select_related("provider").aget(pk=pk, patient_id=self.context.patient_id)
        except Appointment.DoesNotExist:
            raise ToolError("That appointment no longer exists; list the appointments again.") from None

    async def reschedule_appointment(self, appointment_id: str, slot_id: str, confirmed: bool,
                                     before_write: Callable[[], None] | None = None) -> str:
        appointment = await self._own_appointment(appointment_id)
        slot = self._offered(slot_id)
        start = datetime.fromisoformat(slot["start"])
        old = f"{say_day(appointment.start)} at {say_time(appointment.start)}"
        await self._stage(Stage.RESCHEDULING, provider=slot["provider"], requested_slot=start)
        if not await self._yes_given({"move": appointment.pk, "slot": slot_id}, confirmed):
            words = self._words("readback_reschedule", old=self._when(appointment.start),
                                old_provider=appointment.provider.name, new=self._when(start),
                                provider=slot["provider"])
            return (f"Not moved yet (the appointment on {old} with {appointment.provider.name} would move to "
                    f"{say_day(start)} at {say_time(start)} with {slot['provider']}). Read it back to the caller "
                    f"in these words: {words} Only after they say yes, call reschedule_appointment again with "
                    "confirmed set to true.")
        if before_write:
            before_write()
        try:
            provider = await Provider.objects.aget(pk=slot["provider_id"])
            moved = await sync_to_async(self._as_agent)(
                services.appointment_reschedule, appointment=appointment, start=start, provider=provider)
        except BookingError as exc:
            raise await self._refused(exc, slot["provider_id"]) from None
        ctx = self.context
        ctx.appointment_id, ctx.outcome = moved.pk, Call.Outcome.RESCHEDULED
        ctx.offered.pop(slot_id, None)
        await self._stage(Stage.WRAPPING_UP, record={"appointment_id": moved.pk, "outcome": Call.Outcome.RESCHEDULED})
        return (f"Moved: the appointment is now on {say_day(start)} at {say_time(start)} with {slot['provider']}. "
                "Tell the caller.")

    async def cancel_appointment(self, appointment_id: str, confirmed: bool,
                                 before_write: Callable[[], None] | None = None) -> str:
        appointment = await self._own_appointment(appointment_id)
        when = f"{say_day(appointment.start)} at {say_time(appointment.start)} with {appointment.provider.name}"
        await self._stage(Stage.CANCELLING, provider=appointment.provider.name, requested_slot=appointment.start)
        if not await self._yes_given({"cancel": appointment.pk}, confirmed):
            words = self._words("readback_cancel", when=self._when(appointment.start),
                                provider=appointment.provider.name)
            return (f"Not cancelled yet (the appointment on {when}). Read it back to the caller in these words: "
                    f"{words} Only after they say yes, call cancel_appointment again with confirmed set to true.")
        if before_write:
            before_write()
        try:
            await sync_to_async(self._as_agent)(services.appointment_cancel, appointment=appointment)
        except BookingError as exc:
            raise await self._failed(exc.message) from None
        ctx = self.context
        ctx.appointment_id, ctx.outcome = appointment.pk, Call.Outcome.CANCELLED
        ctx.listed = {k: v for k, v in ctx.listed.items() if v != appointment.pk}
        await self._stage(Stage.WRAPPING_UP, record={"appointment_id": appointment.pk,
                                                     "outcome": Call.Outcome.CANCELLED})
        return f"Cancelled the appointment on {when}. Tell the caller, and offer to book a new time."

    # --- the caller's own details ----------------------------------------------------

    async def correct_name(self, full_name: str, confirmed: bool,
                           before_write: Callable[[], None] | None = None) -> str:
        self._require_verified()
        try:
            name = clean_name(full_name)
        except PatientError as exc:
            raise await self._failed(exc.message) from None
        spelling = " ".join("-".join(word.upper()) for word in name.split())
        words = self._words("readback_name", name=name, spelling=spelling)
        return await self._correct({"full_name": name}, confirmed, "correct_name_spelling", words, before_write)

    async def change_phone(self, phone: str, confirmed: bool, before_write: Callable[[], None] | None = None) -> str:
        self._require_verified()
        try:
            e164 = clean_phone(phone)
        except PatientError as exc:
            raise await self._failed(exc.message) from None
        digits = spoken.say_digits(spoken_digits(e164), self.context.language)
        words = self._words("readback_phone", digits=digits)
        return await self._correct({"phone": e164}, confirmed, "change_phone_number", words, before_write)

    async def _correct(self, change: dict, confirmed: bool, tool: str, words: str,
                       before_write: Callable[[], None] | None) -> str:
        """Read the change back; write it only on a later call with confirmed=true, after the caller spoke."""
        ctx = self.context
        if not await self._yes_given(change, confirmed):
            return (f"Not changed yet. Read it back to the caller in these words: {words} Only after they say "
                    f"yes, call {tool} again with the same value and confirmed set to true.")
        if before_write:
            before_write()
        old_phone = ctx.caller_phone
        try:
            patient = await sync_to_async(self._as_agent)(self._correct_patient, change)
        except PatientError as exc:
            raise await self._failed(exc.message) from None
        ctx.pending_change, ctx.patient_name = {}, patient.full_name
        await self._stage(ctx.stage, record=self._who(), **self._who())
        # The caller profile follows: greeted by the new name, recognised on the new number.
        await asyncio.gather(*(profile_refresh(phone, self.store.redis, self.store.guard) for phone in {old_phone, patient.phone}))
        log.info("call %s: the caller corrected their %s", ctx.room, " and ".join(change).replace("_", " "))
        now = (f"name is now {patient.full_name}" if "full_name" in change
               else f"phone number is now {spoken_digits(patient.phone)}")
        return f"Changed: the patient's {now}. Tell the caller it is done."

    def _correct_patient(self, change: dict) -> Patient:
        with transaction.atomic():
            patient = Patient.objects.select_for_update().get(pk=self.context.patient_id)
            return patient_correct(patient=patient, **change)

    # --- people ------------------------------------------------------------------

    async def transfer_to_staff(self, reason: str = "") -> str:
        await self._stage(Stage.TRANSFERRING)
        number = self.clinic.transfer_phone
        if not await self.transfers_open():
            opening, _ = await self.opening(timezone.localtime())
            closed = number and self.transfer is not None and opening is not None and not opening.is_open
            raise await self._failed(
                f"No member of staff can take calls by phone right now. Say: "
                f"{self._words('transfer_closed' if closed else 'no_transfer')} "
                "Then take a message (take_message) if they want one, so that staff call back."
            )
        try:
            await self.transfer(number)
        except Exception as exc:  # noqa: BLE001 - any telephony failure means the same to the caller
            log.warning("call %s: transfer failed (%s)", self.context.room, type(exc).__name__)
            if self.context.caller_phone:
                # Staff see it on the Call-backs page even if the caller hangs up now.
                await self._callback(Callback.Reason.TRANSFER_FAILED, self.context.caller_phone)
            raise await self._failed(
                f"The transfer did not go through. Say: {self._words('transfer_failed')} Then take a message "
                "(take_message) if they want one, so that staff call back."
            ) from None
        self.context.outcome = Call.Outcome.TRANSFERRED
        await asyncio.gather(self.store.save(),
                             calls.call_update(self.call_id, outcome=Call.Outcome.TRANSFERRED))
        return "The caller has been transferred to staff. Say nothing more."

    async def take_message(self, message: str, callback_phone: str = "") -> str:
        try:
            text = hygiene.clean_message(message)
        except hygiene.Refused as exc:
            raise await self._failed(exc.message + " Take the message again, in short.") from None
        if len(text) < 3:
            raise ToolError("Ask the caller what the message is.")
        phone = self.context.caller_phone
        if callback_phone:
            try:
                phone = clean_phone(callback_phone)
            except PatientError as exc:
                raise ToolError(exc.message) from None
        if not phone:
            raise ToolError("Ask for a number staff can call back on, and pass it as callback_phone.")
        who = self.context.patient_name or "The caller"
        note = f"{who} asks to be called back on {phone}: {text}"
        await asyncio.gather(self._stage(Stage.WRAPPING_UP, record={"message": note}),
                             self._callback(Callback.Reason.MESSAGE, phone, text))
        return f"Message saved for staff. Tell the caller, in these words: {await self._callback_promise(phone)}"

    async def _callback(self, reason: str, phone: str, message: str = "") -> None:
        ctx = self.context
        await sync_to_async(callback_request)(
            call_id=self.call_id, phone=phone, reason=reason, message=message, caller_name=ctx.patient_name,
            patient_id=ctx.patient_id if ctx.verified else None,
        )

    async def _callback_promise(self, phone: str) -> str:
        """When the caller can expect the call back: today while the clinic is open, else when it next opens."""
        digits = spoken.say_digits(spoken_digits(phone), self.context.language)
        opening, today = await self.opening(timezone.localtime())
        if opening is not None and opening.is_open:
            # Before the day's last closing, not the next break: staff ring back when they can.
            closes = max([opening.closes_at, *(end for _, end in today)])
            return self._words("callback_today", digits=digits,
                               time=spoken.say_time(selectors.local(closes), self.context.language))
        if opening is not None and opening.opens_at is not None:
            return self._words("callback_when_open", digits=digits, when=self._when(opening.opens_at))
        return self._words("callback_soon", digits=digits)

    async def wrap_up(self) -> None:
        await self._stage(Stage.WRAPPING_UP)
