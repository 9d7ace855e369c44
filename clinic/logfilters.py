"""A last line of defence for patient data in logs, and the JSON log format.

Code masks phone numbers itself (patients.phone.mask_phone), but some lines
are written by libraries: daphne's request log carries query strings such as
a receptionist's search "?q=03001234567", and LiveKit puts room names, which
for SIP calls contain the caller's number, in its records' extra fields. This
filter masks any run of seven or more digits in every record's message and
string extras before it is written.
"""

import logging
import re

# Seven or more digits, joined by nothing or by URL-encoded spaces ("+",
# "%20") as a search box sends them; plain spaces are left alone so that
# "... 03001234567 200" keeps its status code.
_LONG_NUMBER = re.compile(r"(?:\+|%2B)?\d(?:(?:\+|%20)?\d){6,}")


def _mask(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0).replace("%20", "").replace("%2B", ""))
    return "•" * (len(digits) - 3) + digits[-3:]


# What every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    return _LONG_NUMBER.sub(_mask, text)


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
