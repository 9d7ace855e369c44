"""Call-backs: writes and reads for the callers the clinic owes a call (voiceagent.models.Callback).

The phone agent records one when it takes a message or a transfer fails;
receptionists take one ("assign to me") and close it with a note. Every
change is announced after commit as a `callback.changed` event on the
live-calls group, so open Call-backs pages and the navigation's count follow
without a reload. The rules live here; views, admin and tools only call in.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinic import hygiene
from voiceagent import livecalls
from voiceagent.models import Callback

NOTE_MAX = 1000
MESSAGE_MAX = hygiene.MESSAGE_MAX


class CallbackError(Exception):
    """A refused change; `message` is meant for the receptionist who asked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def open_callbacks() -> QuerySet[Callback]:
    return Callback.objects.filter(status=Callback.Status.OPEN)


def open_count() -> int:
    return open_callbacks().count()


def _announce(callback: Callback) -> None:
    """After commit: tell open dashboards (ids and the count only; pages re-read the rest with their login)."""

    def send():
        livecalls.announce({"type": "callback.changed",
                            "callback": {"id": callback.pk, "status": callback.status},
                            "open": open_count()})

    transaction.on_commit(send)


def clean_note(raw: str) -> str:
    try:
        return hygiene.clean_text(raw, what="note", max_length=NOTE_MAX)
    except hygiene.Refused as exc:
        raise CallbackError(exc.message) from None


def callback_request(*, call_id: int | None, phone: str, reason: str, caller_name: str = "",
                     patient_id: int | None = None, message: str = "") -> Callback:
    """Record that this call's caller wants a call back (one call-back per call; a later message adds to it,
    and the reason stays how it began: a failed transfer followed by a message is still a failed transfer).

    `phone` is E.164, already checked by the caller of this function.
    """
    # A caller's words: invisible characters dropped (nobody can retype them), the rest kept as said.
    message = hygiene.clean_message((message or "")[: MESSAGE_MAX * 2])[:MESSAGE_MAX]
    with transaction.atomic():
        callback = (Callback.objects.select_for_update().filter(call_id=call_id).first()
                    if call_id is not None else None)
        if callback is None:
            callback = Callback(call_id=call_id, reason=reason)
        elif callback.status == Callback.Status.DONE:
            # Done earlier in the same call (a receptionist was quick) and asked again: open again.
            callback.status, callback.done_at, callback.done_by = Callback.Status.OPEN, None, None
        callback.phone = phone
        callback.caller_name = caller_name or callback.caller_name
        callback.patient_id = patient_id or callback.patient_id
        if message and message not in callback.message:
            callback.message = f"{callback.message} {message}".strip()[:MESSAGE_MAX]
        callback.full_clean()
        callback.save()
        _announce(callback)
    return callback


def callback_assign(*, callback: Callback, user) -> Callback:
    """Take an open call-back. One receptionist per call-back: the update only matches an untaken one."""
    with transaction.atomic():
        now = timezone.now()
        taken = Callback.objects.filter(
            pk=callback.pk, status=Callback.Status.OPEN, assigned_to__isnull=True,
        ).update(assigned_to=user, assigned_at=now)
        fresh = Callback.objects.select_related("assigned_to").get(pk=callback.pk)
        if not taken:
            if fresh.status == Callback.Status.DONE:
                raise CallbackError("This call-back is already done.")
            if fresh.assigned_to_id == user.pk:
                return fresh
            raise CallbackError(f"{_name(fresh.assigned_to)} has already taken this call-back.")
        _announce(fresh)
    return fresh


def callback_done(*, callback: Callback, user, note: str = "") -> Callback:
    """Close a call-back with what came of it. Anyone may close it (a colleague may have rung back)."""
    note = clean_note(note)
    with transaction.atomic():
        now = timezone.now()
        closed = Callback.objects.filter(pk=callback.pk, status=Callback.Status.OPEN).update(
            status=Callback.Status.DONE, done_at=now, done_by=user, done_note=note,
        )
        fresh = Callback.objects.select_related("done_by").get(pk=callback.pk)
        if not closed:
            raise CallbackError(f"This call-back was already marked done by {_name(fresh.done_by)}.")
        _announce(fresh)
    return fresh


def _name(user) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()
