"""The Call record of each phone call: opened when the agent answers, closed at hang-up.

Written as the call goes (patient, appointment and outcome the moment a tool
changes them), so a worker that dies mid-call still leaves the booking it
made on record; the transcript, latency medians and usage land at the end.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone as dt_timezone

from django.utils import timezone

from voiceagent.models import Call

Outcome = Call.Outcome


async def call_open(*, room: str, caller_phone: str = "", caller_name: str = "",
                    patient_id: int | None = None, language: str = "") -> Call:
    # A job restarted for the same room continues its record rather than failing.
    call, _ = await Call.objects.aupdate_or_create(
        room=room,
        defaults={
            "caller_phone": caller_phone,
            "caller_name": caller_name,
            "patient_id": patient_id,
            "language": language,
            "started_at": timezone.now(),
            "ended_at": None,
            "outcome": Outcome.IN_PROGRESS,
        },
    )
    return call


async def call_update(call_id: int, **fields) -> None:
    await Call.objects.filter(pk=call_id).aupdate(**fields)


def _median_ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 1) if values else None


def summarise(items) -> dict:
    """Transcript, turn count and latency medians from the session's chat items.

    Only spoken messages go in the transcript; tool calls and their outputs
    stay out (they are in the live state and the linked appointment).
    """
    transcript, eot, ttft, ttfb = [], [], [], []
    turns = 0
    for item in items:
        if getattr(item, "type", "") != "message" or item.role not in ("user", "assistant"):
            continue
        text = (item.text_content or "").strip()
        if not text:
            continue
        transcript.append({
            "role": item.role,
            "text": text,
            "at": datetime.fromtimestamp(item.created_at, tz=dt_timezone.utc).isoformat(),
        })
        metrics = item.metrics or {}
        if item.role == "user":
            turns += 1
            if "end_of_turn_delay" in metrics:
                eot.append(metrics["end_of_turn_delay"])
        else:
            if "llm_node_ttft" in metrics:
                ttft.append(metrics["llm_node_ttft"])
            if "tts_node_ttfb" in metrics:
                ttfb.append(metrics["tts_node_ttfb"])
    return {
        "transcript": transcript,
        "turns": turns,
        "end_of_turn_delay_ms": _median_ms(eot),
        "llm_ttft_ms": _median_ms(ttft),
        "tts_ttfb_ms": _median_ms(ttfb),
    }


def usage_summary(usage) -> dict:
    """session.usage as plain JSON: one entry per model (tokens, characters, audio seconds)."""
    models = []
    for entry in getattr(usage, "model_usage", None) or []:
        data = asdict(entry) if is_dataclass(entry) else (entry.model_dump() if hasattr(entry, "model_dump") else {})
        models.append({k: v for k, v in data.items() if v not in (None, 0, 0.0, "")})
    return {"models": models}


async def call_close(call_id: int, *, outcome: str, items, usage=None, **fields) -> Call:
    summary = summarise(items)
    if outcome == Outcome.INFO and summary["turns"] == 0:
        # Nobody said a word: the caller hung up or the line was silent.
        outcome = Outcome.ABANDONED
    await Call.objects.filter(pk=call_id).aupdate(
        ended_at=timezone.now(),
        outcome=outcome,
        usage=usage_summary(usage) if usage is not None else {},
        **summary,
        **fields,
    )
    return await Call.objects.aget(pk=call_id)
