"""A last line of defence for patient data in logs, and the JSON log format.

Code masks phone numbers itself (patients.phone.mask_phone) and never logs
names or transcripts, but some lines are written by libraries: daphne's
request log carries query strings such as a receptionist's search
"?q=Ali+Raza" or "?q=0300-123-4567", and LiveKit puts room names, which for
SIP calls contain the caller's number, in its records' extra fields. This
filter, on every handler, rewrites each record's message and string extras:
- query strings lose their values ("/patients/?q=…"): a search is a
  patient's name or number, and no list of names can catch every name;
- any phone number left is masked to its last three digits: seven or more
  digits, joined by nothing, "-", "." or URL-encoded spaces, or, after a
  leading "+", also by plain spaces ("+92 300 1234567").
Dates (2026-12-02) and IPv4 addresses look like numbers with separators and
are kept.
"""

import logging
import re

# "/path?query" in a request line or URL: the query ends at white space or a quote.
_QUERY = re.compile(r"(/[^\s?\"']*)\?([^\s\"']*)")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}")

# Digits joined by nothing, "-", ".", "+" (a URL-encoded space) or %-escapes of those ...
_LOCAL = r"\d(?:(?:[-.+]|%20|%2D|%2E)?\d){6,}"
# ... and after a leading "+", also by plain spaces: "+92 300 1234567". Not
# without the "+", where "... 200 1234" is a status code and a response size.
_INTERNATIONAL = r"(?:\+|%2B)\d(?:(?:[-.+ ]|%20|%2D|%2E)?\d){6,}"
_LONG_NUMBER = re.compile(f"{_INTERNATIONAL}|{_LOCAL}", re.IGNORECASE)
_NOT_A_PHONE = (re.compile(r"\d{4}-\d{2}-\d{2}"), re.compile(r"\d{1,3}(?:\.\d{1,3}){3}"))


def _mask(match: re.Match) -> str:
    text = match.group(0)
    if any(pattern.fullmatch(text) for pattern in _NOT_A_PHONE):
        return text
    digits = re.sub(r"\D", "", re.sub(r"%2[0BDE]", "", text, flags=re.IGNORECASE))
    return "•" * (len(digits) - 3) + digits[-3:]


def _without_values(match: re.Match) -> str:
    names = []
    for pair in match.group(2).split("&"):
        name = pair.split("=", 1)[0]
        names.append(f"{name}=…" if _PARAM_NAME.fullmatch(name) else "…")
    return f"{match.group(1)}?{'&'.join(names)}"


# What every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    return _LONG_NUMBER.sub(_mask, _QUERY.sub(_without_values, text))


class RedactPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        for key, value in vars(record).items():
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def json_formatter() -> logging.Formatter:
    """LOG_FORMAT=json: one JSON object per record, fields named as LiveKit's own JSON logs name them.

    Extra fields of a record (the phone agent's per-turn latency figures)
    become fields of the object; the redaction filter above has been through
    them first, on the handler.
    """
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level"},
        timestamp=True,
        json_ensure_ascii=False,
    )
