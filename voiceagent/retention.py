"""How long what callers said is kept: CALL_RETENTION_DAYS.

A call's transcript and the message a caller left for staff are health data
that the clinic needs for a while (what was agreed, call-backs) but not
forever. After CALL_RETENTION_DAYS they are blanked; the call itself stays,
with its outcome, times, linked appointment and latency and usage figures,
so reports over the years still add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from voiceagent.models import Call, Callback


@dataclass(frozen=True)
class Purged:
    cutoff: datetime
    calls: int
    callbacks: int


def purge_calls(*, now: datetime | None = None, dry_run: bool = False) -> Purged:
    """Blank transcripts and caller messages of calls started before the retention period.

    Safe to run any number of times: rows already blank are not counted or touched.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.CALL_RETENTION_DAYS)
    calls = Call.objects.filter(started_at__lt=cutoff).filter(~Q(transcript=[]) | ~Q(message=""))
    callbacks = Callback.objects.filter(created_at__lt=cutoff).exclude(message="")
    if dry_run:
        return Purged(cutoff, calls.count(), callbacks.count())
    with transaction.atomic():
        n_calls = calls.update(transcript=[], message="")
        n_callbacks = callbacks.update(message="")
    return Purged(cutoff, n_calls, n_callbacks)
