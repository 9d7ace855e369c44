"""The demo clinic: believable data for a first run, and large data for benchmarks.

Rows are written with bulk_create on purpose: the generator places every
appointment inside its provider's hours, off closures and off other bookings
itself (using the availability engine's slot grid), and the database
constraints would still refuse a clash. Going through the booking services
would refuse the past appointments a believable history needs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clinic import roles
from clinic.models import ClinicProfile
from patients.models import Patient
from patients.totals import forget_patient_total
from scheduling.availability import Schedule, day_grid
from scheduling.models import Appointment, Closure, Provider, WorkingHours
from voiceagent.models import Call

Status = Appointment.Status

FIRST_NAMES = (
    "Ali Ahmed Ayesha Fatima Hassan Hina Imran Iqra Kamran Khadija Mahnoor Maryam Moiz "
    "Muhammad Nadia Naveed Noor Omar Rabia Saad Sadia Saima Salman Sana Shahid Sidra "
    "Tariq Usman Zainab Zara Bilal Farhan Hamza Junaid Kiran Mehwish Nimra Rizwan Samina "
    "Shazia Talha Umair Waqas Yasir Zubair Amna Bushra Danish Erum Faisal Ghulam Huma"
).split()
LAST_NAMES = (
    "Khan Ahmed Malik Hussain Raza Qureshi Sheikh Butt Chaudhry Siddiqui Mirza Baig "
    "Abbasi Akhtar Anwar Aslam Bhatti Iqbal Javed Latif Mahmood Nawaz Rana Rehman "
    "Shah Tariq Yousaf Zafar Ansari Farooq Gill Hashmi Kazmi Naqvi Rizvi Saleem"
).split()
REASONS = [
    "Follow-up", "Fever and cough", "Blood pressure check", "Vaccination", "Back pain",
    "Skin rash", "Annual check-up", "Diabetes review", "Knee pain", "Sore throat",
    "Prescription renewal", "Lab results", "Child growth check", "Headaches", "",
]
# National holidays with a fixed date (Pakistan); the demo closes the clinic
# on the next one when it falls inside the booking window.
FIXED_HOLIDAYS = [
    (2, 5, "Kashmir Day"), (3, 23, "Pakistan Day"), (5, 1, "Labour Day"),
    (8, 14, "Independence Day"), (11, 9, "Iqbal Day"), (12, 25, "Quaid-e-Azam Day"),
]

DEMO_PROVIDERS = [
    # name, specialty, minutes, {weekday: [(start, end), ...]}
    ("Dr Ayesha Khan", "General practice", 20,
     {**{d: [(time(9), time(13)), (time(14), time(17))] for d in range(5)}, 5: [(time(9), time(12))]}),
    ("Dr Omar Farooq", "Paediatrics", 30,
     {d: [(time(10), time(13)), (time(14), time(18))] for d in (0, 2, 4)}),
    ("Dr Sara Malik", "Dermatology", 30, {d: [(time(12), time(19))] for d in (1, 3)}),
    ("Bilal Ahmed", "Physiotherapy", 45, {d: [(time(8), time(12))] for d in range(6)}),
]

DEMO_RECEPTIONIST = ("reception", "frontdesk-demo")
DEMO_MANAGER = ("manager", "manager-demo")


@dataclass(frozen=True)
class Size:
    patients: int
    appointments: int
    providers: int
    days_back: int
    days_ahead: int


DEMO = Size(patients=220, appointments=0, providers=len(DEMO_PROVIDERS), days_back=14, days_ahead=16)
LARGE = Size(patients=50_000, appointments=100_000, providers=50, days_back=240, days_ahead=59)
# A clinic group's two years: ten times the patients and appointments of LARGE.
XLARGE = Size(patients=500_000, appointments=1_000_000, providers=50, days_back=670, days_ahead=59)


def _phone(rng: random.Random) -> str:
    # Pakistani mobile numbers: +92 3xx xxxxxxx
    return f"+923{rng.choice('0123456')}{rng.randrange(10)}{rng.randrange(10_000_000):07d}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def create_logins() -> list[tuple[str, str, str]]:
    """Create the demo receptionist and manager where no such account exists.

    Only for a freshly seeded demo database with DEBUG on (`manage.py up`).
    An existing account of either name is never touched: its password,
    groups and flags are someone's choice. Returns (role, username,
    password) for the logins that work with the demo password.
    """
    User = get_user_model()
    for username, password, group, staff in (
        (*DEMO_RECEPTIONIST, roles.RECEPTIONISTS, False),
        (*DEMO_MANAGER, roles.MANAGERS, True),
    ):
        if User.objects.filter(username=username).exists():
            continue
        user = User.objects.create_user(username=username, password=password, is_staff=staff)
        user.groups.add(Group.objects.get(name=group))
    return working_logins()


def working_logins() -> list[tuple[str, str, str]]:
    """The demo logins whose demo password still works, to print (a read: nothing is re-hashed or saved)."""
    User = get_user_model()
    out = []
    for role, (username, password) in (("receptionist", DEMO_RECEPTIONIST), ("manager (admin)", DEMO_MANAGER)):
        user = User.objects.filter(username=username, is_active=True).first()
        if user and check_password(password, user.password):
            out.append((role, username, password))
    return out


def _closures(today: date) -> list[Closure]:
    holiday = None
    for year in (today.year, today.year + 1):
        for month, day, reason in FIXED_HOLIDAYS:
            d = date(year, month, day)
            if today < d <= today + timedelta(days=45):
                holiday = holiday or (d, reason)
    if holiday is None:
        holiday = (today + timedelta(days=12), "Staff training day")
    return [Closure(provider=None, start_date=holiday[0], end_date=holiday[0], reason=holiday[1])]


def _schedule(provider: Provider, hours: dict, closures: list[Closure]) -> Schedule:
    return Schedule(
        provider_id=provider.pk,
        length=timedelta(minutes=provider.appointment_minutes),
        hours=hours,
        closures=[(c.start_date, c.end_date, c.reason, c.provider_id is None)
                  for c in closures if c.provider_id in (None, provider.pk)],
    )


def _appointments(rng, schedules, patients, first: date, last: date, fill: float, now: datetime):
    tz = timezone.get_default_timezone()
    # Latest first: SQLite's overlap trigger (scheduling 0002) looks for a clash
    # among the provider's appointments that start before the new one ends, so
    # writing history forwards re-reads all of it for every row (38 minutes for
    # half of xlarge); backwards, each check finds nothing at once.
    day = last
    while day >= first:
        for schedule in schedules:
            if schedule.closure_on(day):
                continue
            # Busier in the past and the next few days, thinning out further ahead.
            ahead = (day - now.astimezone(tz).date()).days
            chance = fill if ahead <= 3 else fill * max(0.25, 1 - ahead / 25)
            for start in reversed(day_grid(schedule, day, tz)):
                if rng.random() > chance:
                    continue
                past = start < now
                if past:
                    status = rng.choices([Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED], [80, 8, 12])[0]
                else:
                    status = rng.choices(
                        [Status.BOOKED, Status.PENDING, Status.RESCHEDULED, Status.CANCELLED], [75, 10, 5, 10])[0]
                created = start - timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
                yield Appointment(
                    patient_id=rng.choice(patients),
                    provider_id=schedule.provider_id,
                    start=start,
                    end=start + schedule.length,
                    status=status,
                    reason=rng.choice(REASONS),
                    source=rng.choices([Appointment.Source.PHONE, Appointment.Source.DASHBOARD], [60, 40])[0],
                    cancelled_at=min(created + timedelta(days=1), now) if status == Status.CANCELLED else None,
                )
        day -= timedelta(days=1)


def _patients(rng: random.Random, count: int):
    """`count` made-up patients, one at a time (half a million would not fit in memory as objects)."""
    made, seen, phones = 0, set(), []
    while made < count:
        name = _name(rng)
        # About one patient in eight is booked under a relative's number.
        phone = rng.choice(phones) if phones and rng.random() < 0.12 else _phone(rng)
        if (name.lower(), phone) in seen:
            continue
        seen.add((name.lower(), phone))
        phones.append(phone)
        dob = date(1950, 1, 1) + timedelta(days=rng.randrange(70 * 365)) if rng.random() < 0.7 else None
        made += 1
        yield Patient(full_name=name, phone=phone, date_of_birth=dob)


def _call_time(rng: random.Random, now: datetime, tz) -> datetime:
    """Some moment in office hours (8:00-20:00) during the last three days, before now."""
    while True:
        day = timezone.localdate(now) - timedelta(days=rng.randint(0, 2))
        moment = datetime.combine(day, time(rng.randint(8, 19), rng.randint(0, 59)), tz)
        if moment < now - timedelta(minutes=10):
            return moment


def _script(outcome: str, *, clinic: str, name: str, provider: str, when: str) -> list[tuple[str, str]]:
    hello = ("assistant", f"Assalam-o-alaikum, {clinic}. I'm the clinic's automated receptionist. How can I help?")
    return [hello] + {
        Call.Outcome.BOOKED: [
            ("user", f"I'd like an appointment with {provider}."),
            ("assistant", f"The first free time is {when}. Shall I book {name} with {provider} then?"),
            ("user", "Yes, please."),
            ("assistant", f"Done: {name} with {provider}, {when}. Anything else?"),
            ("user", "No, that's all, thank you."),
        ],
        Call.Outcome.RESCHEDULED: [
            ("user", "I need to move my appointment."),
            ("assistant", "Of course. Can you confirm the patient's name and date of birth?"),
            ("user", f"{name}."),
            ("assistant", f"Thank you. I've moved {name}'s appointment with {provider} to {when}."),
        ],
        Call.Outcome.CANCELLED: [
            ("user", "I can't make my appointment, please cancel it."),
            ("assistant", "Can you confirm the patient's name?"),
            ("user", f"{name}."),
            ("assistant", f"{name}'s appointment with {provider} on {when} is cancelled."),
        ],
        Call.Outcome.INFO: [
            ("user", "What time do you close on Saturday?"),
            ("assistant", "On Saturdays the clinic is open from 8 in the morning until noon."),
        ],
        Call.Outcome.TRANSFERRED: [
            ("user", "Can I speak to someone at the front desk, please?"),
            ("assistant", "Of course, I'm putting you through to the front desk now."),
        ],
        Call.Outcome.ABANDONED: [
            ("assistant", "Are you still there?"),
        ],
    }[outcome]


def _calls(rng: random.Random, appointments: list[Appointment], providers: dict[int, Provider],
           patients: dict[int, Patient], clinic: str, now: datetime) -> list[Call]:
    """A few days of phone-agent calls; bookings, moves and cancellations point
    at the phone-sourced appointments they made."""
    tz = timezone.get_default_timezone()
    by_status = {
        Call.Outcome.BOOKED: Status.BOOKED,
        Call.Outcome.RESCHEDULED: Status.RESCHEDULED,
        Call.Outcome.CANCELLED: Status.CANCELLED,
    }
    pools = {
        outcome: [a for a in appointments
                  if a.source == Appointment.Source.PHONE and a.status == status and a.start > now]
        for outcome, status in by_status.items()
    }
    weights = {Call.Outcome.BOOKED: 40, Call.Outcome.RESCHEDULED: 10, Call.Outcome.CANCELLED: 10,
               Call.Outcome.INFO: 20, Call.Outcome.TRANSFERRED: 10, Call.Outcome.ABANDONED: 6}
    outcomes = list(weights)
    calls = []
    for i in range(24):
        outcome = rng.choices(outcomes, [weights[o] for o in outcomes])[0]
        appointment = None
        if outcome in pools and pools[outcome]:
            appointment = pools[outcome].pop(rng.randrange(len(pools[outcome])))
            patient = patients[appointment.patient_id]
        else:
            if outcome in pools:
                outcome = Call.Outcome.INFO
            patient = rng.choice(list(patients.values())) if rng.random() < 0.7 else None
        started = _call_time(rng, now, tz)
        provider = providers[appointment.provider_id].name if appointment else ""
        when = appointment.start.astimezone(tz).strftime("%A %-d %B at %-H:%M") if appointment else ""
        lines = _script(outcome, clinic=clinic, name=patient.full_name if patient else "",
                        provider=provider, when=when)
        length = timedelta(seconds=rng.randint(25, 60) * len(lines) // 2 + 20)
        calls.append(Call(
            room=f"demo-call-{i:03d}",
            caller_phone=patient.phone if patient else _phone(rng),
            caller_name=patient.full_name if patient else "",
            patient=patient,
            appointment=appointment,
            started_at=started,
            ended_at=started + length,
            outcome=outcome,
            transcript=[
                {"role": role, "text": text, "at": (started + length * n / len(lines)).isoformat()}
                for n, (role, text) in enumerate(lines)
            ],
            turns=sum(1 for role, _ in lines if role == "user"),
            end_of_turn_delay_ms=rng.uniform(350, 700),
            llm_ttft_ms=rng.uniform(250, 600),
            tts_ttfb_ms=rng.uniform(150, 350),
        ))
    return calls


@transaction.atomic
def seed_demo(*, seed: int = 7, now: datetime | None = None) -> dict[str, int]:
    """Create the demo clinic unless it exists. Returns what was created."""
    if Provider.objects.filter(name=DEMO_PROVIDERS[0][0]).exists():
        return {}
    rng = random.Random(seed)
    now = now or timezone.now()
    today = timezone.localdate(now)

    profile = ClinicProfile.load()
    profile.name = "Shifa Family Clinic"
    profile.address = "12 Jail Road, Lahore"
    profile.phone = "+924235761234"
    profile.transfer_phone = "+923001112233"
    profile.save()

    closures = _closures(today)
    schedules = []
    for name, specialty, minutes, hours in DEMO_PROVIDERS:
        provider = Provider.objects.create(name=name, specialty=specialty, appointment_minutes=minutes)
        WorkingHours.objects.bulk_create(
            WorkingHours(provider=provider, weekday=d, start_time=a, end_time=b)
            for d, intervals in hours.items() for a, b in intervals
        )
        schedules.append((provider, hours))
    sara = schedules[2][0]
    leave = today + timedelta(days=8)
    closures.append(Closure(provider=sara, start_date=leave, end_date=leave + timedelta(days=6),
                            reason="Annual leave"))
    Closure.objects.bulk_create(closures)

    patients = Patient.objects.bulk_create(_patients(rng, DEMO.patients))
    # bulk_create sends no signals: the kept patient total is told here.
    transaction.on_commit(forget_patient_total)
    appointments = Appointment.objects.bulk_create(_appointments(
        rng, [_schedule(p, h, closures) for p, h in schedules], [p.pk for p in patients],
        today - timedelta(days=DEMO.days_back), today + timedelta(days=DEMO.days_ahead), 0.55, now,
    ))
    calls = Call.objects.bulk_create(_calls(
        rng, appointments, {p.pk: p for p, _ in schedules}, {p.pk: p for p in patients}, profile.name, now,
    ))
    return {"providers": len(schedules), "patients": len(patients),
            "appointments": len(appointments), "calls": len(calls)}


def seed_large(*, size: Size = LARGE, seed: int = 11, now: datetime | None = None, log=print,
               progress=None) -> dict[str, int]:
    """Grow the database to a benchmark size (LARGE or XLARGE), on top of the demo clinic.

    `progress(what, done, total)` is told after every batch, for a progress bar.
    Rows go in batches of BATCH, each its own transaction, so memory stays flat
    and a long run shows its progress.
    """
    created = seed_demo(now=now)
    rng = random.Random(seed)
    now = now or timezone.now()
    today = timezone.localdate(now)
    progress = progress or (lambda what, done, total: None)
    busy = size is XLARGE

    missing = size.providers - Provider.objects.count()
    new_providers = []
    for i in range(max(missing, 0)):
        start = time(rng.choice([8, 9, 10]))
        if busy:
            # A million visits in two years is 27 a provider a day: long days, six a week, short slots.
            hours = {d: [(time(8), time(13)), (time(14), time(19 + rng.randint(0, 1)))] for d in range(6)}
        else:
            hours = {d: [(start, time(13)), (time(14), time(17 + rng.randint(0, 2)))]
                     for d in rng.sample(range(6), rng.choice([4, 5, 5, 6]))}
        provider = Provider.objects.create(
            name=f"Dr {_name(rng)}", specialty=rng.choice(["General practice", "Paediatrics", "Dermatology",
                                                           "Cardiology", "Gynaecology", "ENT"]),
            appointment_minutes=rng.choice([10, 15, 15, 20] if busy else [15, 20, 30, 30]),
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(provider=provider, weekday=d, start_time=a, end_time=b)
            for d, intervals in hours.items() for a, b in intervals
        )
        new_providers.append((provider, hours))
    log(f"providers: {Provider.objects.count()}")

    missing = size.patients - Patient.objects.count()
    if missing > 0:
        _insert(Patient, _patients(rng, missing), missing, "patients", progress)
        forget_patient_total()
    log(f"patients: {Patient.objects.count()}")

    missing = size.appointments - Appointment.objects.count()
    if missing > 0 and new_providers:
        closures = list(Closure.objects.all())
        patient_ids = list(Patient.objects.values_list("pk", flat=True))
        schedules = [_schedule(p, h, closures) for p, h in new_providers]
        slots_per_day = sum(len(day_grid(s, today + timedelta(days=d), timezone.get_default_timezone()))
                            for s in schedules for d in range(7)) / 7
        days = size.days_back + size.days_ahead + 1
        fill = min(0.95, missing / (slots_per_day * days * 0.88))
        rows = _appointments(rng, schedules, patient_ids, today - timedelta(days=size.days_back),
                             today + timedelta(days=size.days_ahead), fill, now)
        _insert(Appointment, rows, missing, "appointments", progress)
    log(f"appointments: {Appointment.objects.count()}")
    # Fresh planner statistics: right after a bulk load the database still
    # plans for the empty tables it last measured. On PostgreSQL, VACUUM too:
    # it marks the new rows visible to all, so that counts (a week's 10,000
    # appointments on the list) and a patient search's page
    # (patients.selectors.read_page) read an index alone instead of every row.
    # (VACUUM cannot run inside a transaction, such as a test's.)
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
    return created


BATCH = 5000


def _insert(model, rows, expected: int, what: str, progress) -> None:
    batch, done = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            model.objects.bulk_create(batch)
            done += len(batch)
            batch = []
            progress(what, done, expected)
    model.objects.bulk_create(batch)
    # `expected` was an estimate (the slot grid decides how many appointments fit): end the bar full.
    progress(what, done + len(batch), done + len(batch))
