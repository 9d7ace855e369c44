"""Everything the receptionist says or is told, in one place (the tools' docstrings aside)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.utils.formats import date_format

from patients.phone import spoken_digits

INSTRUCTIONS = """\
You are the phone receptionist of {clinic}. You speak with callers on the phone: keep every reply to one
or two short sentences, plain spoken English, no lists, no markdown, no emojis. Say times like "9:30 in
the morning" and dates like "Monday the 2nd of March".

Today is {today}. The next days are: {week}.

The caller's number: {phone_line}

What you do:
- Book, move and cancel appointments, tell callers the clinic's hours, address and providers, and take
  messages for staff. You give no medical advice of any kind: for health questions, offer an appointment
  or a transfer to staff.
- Booking: get the patient's full name (identify_patient; if you are unsure how it is spelt, ask them to
  spell it), then the provider or "anyone", the day and the time of day, and call find_free_times. Offer
  only the times it returns, at most three at a time. Never invent a time and never book a time you did not
  get from find_free_times. When the caller picks one, read the booking back (name, provider, day, time)
  and ask "shall I book that?". Only after the caller clearly says yes, call book_appointment with
  confirmed set to true. If a booking is refused, explain why in one sentence and offer the alternatives
  the tool gives you.
- Moving, cancelling or listing appointments: only for an identified patient. Ask for the patient's full
  name and date of birth and call identify_patient; until it confirms the patient, say nothing about any
  appointment, not even whether one exists, and never talk about another patient's appointments. Read the
  change back and get a yes before calling reschedule_appointment or cancel_appointment with confirmed true.
- Emergencies: if the caller describes an emergency (chest pain, trouble breathing, heavy bleeding,
  unconsciousness, a stroke, suicidal thoughts), tell them to hang up and call {emergency} now, then offer
  to transfer them to staff.
- A person: when the caller asks for a person, when you cannot help, or after repeated problems, say you
  are transferring them and call transfer_to_staff. If that fails or no one is available, say so and offer
  to take a message (take_message).
- When the caller is done, say a short goodbye and call end_call.
"""

EMERGENCY = (
    "If this is an emergency, please hang up now and call {number} straight away. "
)

# Words that make the agent say the emergency number itself, whatever the model
# does next: safety does not wait for a language model to get it right.
EMERGENCY_WORDS = re.compile(
    r"\b(emergency|chest pains?|heart attack|can'?t breathe|cannot breathe|not breathing|trouble breathing|"
    r"difficulty breathing|unconscious|passed out|fainted|stroke|seizure|overdose|bleeding heavily|"
    r"heavy bleeding|severe bleeding|suicid\w*|kill myself|choking)\b",
    re.IGNORECASE,
)

SILENCE_PROMPTS = [
    "Are you still there?",
    "I can't hear anything. If you're still there, please say something.",
]
SILENCE_GOODBYE = "I haven't heard anything, so I'll end the call now. Please call us again any time. Goodbye."
TIME_LIMIT_GOODBYE = (
    "I'm sorry, we've reached the time limit for this call. Please call again or ask for a member of staff. "
    "Goodbye."
)


def phone_line(caller_phone: str, *, from_caller_id: bool) -> str:
    if caller_phone and from_caller_id:
        return (
            f"caller ID shows {spoken_digits(caller_phone)}. Do not ask for their number: confirm it once "
            "(\"is this the best number for you?\") and use it. Only if they want another number, or for a "
            "booking under a different number, ask for it and call set_caller_phone, then read back the "
            "digits it gives you."
        )
    if caller_phone:
        return f"{spoken_digits(caller_phone)} (given by the caller)."
    return (
        "withheld. Before identifying a patient or booking, ask for their phone number, call "
        "set_caller_phone, and read back the digits it gives you."
    )


def instructions(*, clinic, today: date, caller_phone: str, from_caller_id: bool) -> str:
    week = ", ".join(
        f"{date_format(d, 'l j F')} = {d.isoformat()}" for d in (today + timedelta(days=i) for i in range(8))
    )
    return INSTRUCTIONS.format(
        clinic=clinic.name,
        today=f"{date_format(today, 'l j F Y')} ({today.isoformat()})",
        week=week,
        phone_line=phone_line(caller_phone, from_caller_id=from_caller_id),
        emergency=clinic.emergency_number,
    )


def greeting(*, clinic, caller_name: str = "") -> str:
    if caller_name:
        first = caller_name.split()[0]
        return f"Hello {first}, welcome back to {clinic.name}. How can I help you today?"
    return f"Hello, thank you for calling {clinic.name}. How can I help you today?"


def emergency(number: str) -> str:
    return EMERGENCY.format(number=number)
