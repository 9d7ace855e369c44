"""How messages leave: email through Django's email backend, SMS through a sender.

An SMS sender is anything with `send(to, body)` that raises SendError when
the message did not go. `SMS_BACKEND` picks one: "log" (development: writes
the message to the log, without the number) or "twilio" (Twilio's REST API,
keys from the environment).
"""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail

logger = logging.getLogger(__name__)


class SendError(Exception):
    """The message did not go; `str()` is safe to show the desk (no number, no address)."""


class SmsSender(Protocol):
    def send(self, to: str, body: str) -> None: ...


class LogSmsSender:
    """Development: the message goes to the log instead of a phone."""

    def send(self, to: str, body: str) -> None:
        logger.info("SMS (not sent, SMS_BACKEND=log) to a number ending %s: %s", to[-3:], body)


class TwilioSmsSender:
    """Twilio's Messages API: one form-encoded POST per message, basic auth with the account's keys."""

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, base_url: str,
                 timeout: float = 10):
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(account_sid)}/Messages.json"
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}",
                        "Content-Type": "application/x-www-form-urlencoded"}
        self.from_number = from_number
        self.timeout = timeout

    def send(self, to: str, body: str) -> None:
        data = urllib.parse.urlencode({"To": to, "From": self.from_number, "Body": body}).encode()
        request = urllib.request.Request(self.url, data=data, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SendError(f"the SMS provider refused it (HTTP {exc.code}{_twilio_reason(exc)})") from None
        except (OSError, ValueError) as exc:
            raise SendError(f"the SMS provider could not be reached ({type(exc).__name__})") from None
        if answer.get("status") in ("failed", "undelivered"):
            raise SendError(f"the SMS provider could not deliver it (error {answer.get('error_code')})")


def _twilio_reason(exc: urllib.error.HTTPError) -> str:
    # Twilio explains a refusal in JSON ("code" 21211: not a valid number);
    # its message may quote the number, so only the code is kept.
    try:
        code = json.loads(exc.read() or b"{}").get("code")
    except (OSError, ValueError, AttributeError):
        return ""
    return f", code {int(code)}" if isinstance(code, int) else ""


def sms_sender() -> SmsSender:
    if settings.SMS_BACKEND == "twilio":
        return TwilioSmsSender(account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN,
                               from_number=settings.TWILIO_FROM_NUMBER, base_url=settings.TWILIO_BASE_URL)
    return LogSmsSender()


def send_email(to: str, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, None, [to])
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"the mail server refused or could not be reached ({type(exc).__name__})") from None
