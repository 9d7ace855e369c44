"""How many patients the clinic has, kept in Redis between changes.

The overview and the patient list show the total on every load, and a
COUNT(*) over every patient costs about 100 ms at 500,000 patients on
PostgreSQL (it reads the whole table). Patients are added or removed a few
times an hour, so the count is taken once and kept until the next change.

A change bumps a generation number; the total is stored under the
generation it was counted in. A page that counted just before a change
commits stores its (old) figure under the old generation, where nobody
reads it again: no race between a count and a change leaves a stale total.

Redis is optional here: when it does not answer, pages count in the
database and a change is logged as missed; the stored total then expires
by itself (TOTAL_TTL_SECONDS). Writes that bypass the model signals
(bulk_create in seed_demo, raw SQL) call forget_patient_total themselves
or wait for that expiry.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import transaction

from clinic import redis_server
from patients.models import Patient

log = logging.getLogger(__name__)

# A change costs the next page one COUNT; a missed change is visible at most this long.
TOTAL_TTL_SECONDS = 600
# Creating a patient (also on a phone call) must not wait long on Redis.
REDIS_TIMEOUT = 0.3


def _client() -> redis.Redis:
    return redis_server.pooled_client(settings.REDIS_URL, timeout=REDIS_TIMEOUT)


def _generation_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:patients:total-generation"


def _total_key(generation: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:patients:total:{generation}"


def patient_total() -> int:
    """The number of patients: from Redis when no patient was added or removed since it was counted."""
    client = _client()
    try:
        generation = client.get(_generation_key()) or "0"
        cached = client.get(_total_key(generation))
    except (redis.RedisError, OSError) as exc:
        log.warning("patient total: Redis unavailable (%s), counting in the database", type(exc).__name__)
        return Patient.objects.count()
    if cached is not None:
        return int(cached)
    total = Patient.objects.count()
    try:
        client.set(_total_key(generation), total, ex=TOTAL_TTL_SECONDS)
    except (redis.RedisError, OSError) as exc:
        log.warning("patient total: not stored, Redis unavailable (%s)", type(exc).__name__)
    return total


def forget_patient_total() -> bool:
    """Patients were added or removed: the next patient_total() counts again. False when Redis did not answer."""
    try:
        _client().incr(_generation_key())
    except (redis.RedisError, OSError) as exc:
        log.warning("patient total: change not recorded, Redis unavailable (%s); the stored total "
                    "expires within %s s", type(exc).__name__, TOTAL_TTL_SECONDS)
        return False
    return True


def _changed() -> None:
    # Now, so that a page read inside this transaction (or a test's) counts
    # again; and after the commit, so that a page that counted in between,
    # before the change was visible, is not believed either. When Redis did
    # not answer the first, the second is not tried: a phone booking that
    # creates a patient must not make the caller wait out a frozen Redis twice.
    if forget_patient_total():
        transaction.on_commit(forget_patient_total)


def _on_save(sender, *, created: bool, **kwargs) -> None:
    if created:
        _changed()


def _on_delete(sender, **kwargs) -> None:
    _changed()


def connect_signals() -> None:
    """From PatientsConfig.ready(): every save or delete of a Patient, whoever makes it (services, admin)."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_on_save, sender=Patient, dispatch_uid="patients.total.saved")
    post_delete.connect(_on_delete, sender=Patient, dispatch_uid="patients.total.deleted")
