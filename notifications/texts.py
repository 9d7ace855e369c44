"""The words of confirmations and reminders: managers edit them on the clinic profile.

A text is plain words with a few named placeholders in braces. Only those
names are allowed, each bare ("{day}", not "{day.year}" or "{day!r}"), so a
text can never reach into an object; the admin refuses anything else with a
message that lists the names.
"""

from __future__ import annotations

import string
import unicodedata

from django.core.exceptions import ValidationError

PLACEHOLDERS = {
    "clinic": "the clinic's name",
    "provider": "the provider's name",
    "day": "the day, e.g. Monday 7 December",
    "time": "the time, e.g. 9:30",
    "clinic_phone": "the clinic's phone number",
    "patient": "the patient's name",
}
# Three SMS segments; an email may say more, but one text serves both.
MAX_LENGTH = 480

DEFAULTS = {
    "booked": "{clinic}: your appointment with {provider} is booked for {day} at {time}. "
              "To change or cancel it, call {clinic_phone}.",
    "moved": "{clinic}: your appointment with {provider} is now on {day} at {time}. "
             "To change or cancel it, call {clinic_phone}.",
    "cancelled": "{clinic}: your appointment with {provider} on {day} at {time} is cancelled. "
                 "To book again, call {clinic_phone}.",
    "reminder": "{clinic}: a reminder of your appointment with {provider} on {day} at {time}. "
                "To change or cancel it, call {clinic_phone}.",
}

SUBJECTS = {
    "booked": "Your appointment is booked",
    "moved": "Your appointment has moved",
    "cancelled": "Your appointment is cancelled",
    "reminder": "Reminder of your appointment",
}


def validate_message_text(value: str) -> None:
    """Model-field validator for the clinic profile's message texts."""
    names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    if len(value) > MAX_LENGTH:
        raise ValidationError(f"Keep the text to {MAX_LENGTH} characters (it has {len(value)}).")
    # Line breaks are fine; NUL, zero-width and bidi controls would reach the
    # patient's phone unseen or reverse how the text reads.
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\r\n" for ch in value):
        raise ValidationError("The text has invisible or control characters; please type it again.")
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise ValidationError(f"A brace is not closed. Placeholders are {names}; write {{{{ or }}}} for a brace.")
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            shown = "{" + field[:30] + "}"
            raise ValidationError(f"{shown} is not a placeholder. Use {names}.")


def render(text: str, values: dict[str, str]) -> str:
    """`text` (validated when saved) with the placeholders filled in."""
    return text.format_map({name: values.get(name, "") for name in PLACEHOLDERS})
