"""Phone numbers: one canonical form (E.164) for storage, matching and logs.

"0300 1234567", "+92 300 1234567" and "923001234567" are one number for a
Pakistani clinic; storing them as typed would split one caller into three
patients and break caller recognition.
"""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


class InvalidPhoneNumber(ValidationError):
    pass


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the number in E.164 ("+923001234567"), or raise InvalidPhoneNumber."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("Please give a phone number.")
    region = region or settings.PHONE_REGION
    digits = "".join(ch for ch in text if ch.isdigit())
    candidates = [text]
    # A number written with its country code but no "+" ("923001234567") reads
    # as a local number in the clinic's region and fails; retry it as
    # international before giving up.
    if not text.startswith("+") and not text.startswith("00") and digits:
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhoneNumber(
        f"{text!r} is not a phone number we can dial; please give it with the area code."
    )


def try_normalize_phone(raw: str | None) -> str:
    """E.164, or "" for a missing or unreadable number (a withheld caller ID)."""
    try:
        return normalize_phone(raw or "")
    except InvalidPhoneNumber:
        return ""


def format_phone(e164: str) -> str:
    """How staff read a stored number: national form for local numbers."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(parsed) == settings.PHONE_REGION:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str) -> str:
    """For logs: health data stays out of them, so only the last 3 digits show."""
    if not e164:
        return "(none)"
    return "*" * max(len(e164) - 3, 0) + e164[-3:]


def spoken_digits(e164: str) -> str:
    """Digits grouped for reading back on the phone: "+923001234567" -> "0 3 0 0, 1 2 3, 4 5 6 7"."""
    groups = "".join(ch for ch in format_phone(e164) if ch.isdigit() or ch == " ").split()
    if not groups:
        return ""
    # Long blocks are hard to follow by ear: read the rest in threes, with a
    # last group of four rather than a lone digit or two.
    head, rest = groups[0], "".join(groups[1:])
    chunks = []
    while len(rest) > 4:
        chunks.append(rest[:3])
        rest = rest[3:]
    chunks.append(rest)
    return ", ".join(" ".join(group) for group in [head, *chunks] if group)
