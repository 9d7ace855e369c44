"""The audit trail of patients and appointments: who did what, when, from which interface.

django-simple-history writes a historical row on every save and delete of
`Patient` and `Appointment` (model signals, so the services, the admin and
cascades alike are seen). Its author:
- a signed-in user: `HistoryRequestMiddleware` hands the request's user over
  (dashboard and admin);
- the phone agent: no user; the call's tools run their writes inside
  `acting("phone agent, call 42")`, which becomes the row's change reason;
- anything else (a background job): neither, and it reads "system".

`history_rows()` turns the rows into what the pages show: when, who, what
happened and which fields changed from what to what.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.dispatch import receiver
from django.utils import timezone
from simple_history.signals import pre_create_historical_record

_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_actor", default=None)

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
# Bookkeeping fields that change on every save and say nothing of their own.
QUIET_FIELDS = {"updated_at", "created_at"}


@contextlib.contextmanager
def acting(who: str) -> Iterator[None]:
    """Writes inside this block are recorded as made by `who` (no user signed in)."""
    token = _actor.set(who[:100])
    try:
        yield
    finally:
        _actor.reset(token)


@receiver(pre_create_historical_record)
def _name_the_actor(sender, history_instance, **kwargs):
    who = _actor.get()
    if who and not history_instance.history_change_reason:
        history_instance.history_change_reason = who


def _value(record, field) -> str:
    value = getattr(record, field.attname)
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        try:
            return str(getattr(record, field.name))
        except Exception:  # noqa: BLE001 - the related row is gone; its id still says which
            return f"#{value}"
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def author(record) -> str:
    if record.history_user_id:
        user = record.history_user
        return user.get_username() if user else f"user #{record.history_user_id}"
    return record.history_change_reason or "system"


def history_rows(obj, *, limit: int = 50) -> list[dict]:
    """The newest `limit` audit records of `obj`, newest first, each with its field changes."""
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[:limit + 1])
    fields = [f for f in obj._meta.concrete_fields if f.attname not in QUIET_FIELDS and not f.primary_key]
    rows = []
    for record, older in zip(records[:limit], records[1:limit + 1] + [None]):
        changes = []
        if record.history_type == "~" and older is not None:
            for field in fields:
                if getattr(record, field.attname) != getattr(older, field.attname):
                    changes.append({"field": field.verbose_name, "old": _value(older, field),
                                    "new": _value(record, field)})
        rows.append({"when": record.history_date, "who": author(record),
                     "action": ACTIONS.get(record.history_type, record.history_type), "changes": changes})
    return rows
