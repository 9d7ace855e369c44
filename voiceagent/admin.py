"""Managers' admin for call records: read-only, because calls are written by the phone agent.

Managers see full caller numbers here (they are staff with access to patient
records anyway); logs are where numbers are masked.
"""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join

from clinic.hygiene import SafeInputAdmin
from patients.selectors import phone_match
from voiceagent.models import Call, Callback

SPEAKERS = {"user": "Caller", "assistant": "Agent"}


@admin.register(Call)
class CallAdmin(SafeInputAdmin, admin.ModelAdmin):
    list_display = ["started_at", "direction", "caller", "patient", "outcome", "duration", "turns", "first_audio"]
    list_display_links = ["started_at", "caller"]
    list_filter = ["direction", "outcome", "language", "started_at"]
    date_hierarchy = "started_at"
    search_fields = ["caller_name", "patient__full_name", "room"]
    search_help_text = "Caller or patient name, phone number however written, or room."
    list_select_related = ["patient"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["started_at", "ended_at", "duration", "direction", "outcome", "language", "room"]}),
        ("Caller", {"fields": ["caller_phone_display", "caller_name", "patient_link", "appointment_link"]}),
        ("Latency (median per turn)", {
            "fields": ["turns", "end_of_turn_delay_ms", "llm_ttft_ms", "tts_ttfb_ms", "first_audio"],
            "description": "Time from the caller's last word to the agent's first sound is about "
                           "end-of-turn delay + LLM time to first token + TTS time to first byte.",
        }),
        ("Transcript", {"fields": ["transcript_display"]}),
        ("Usage", {"fields": ["usage_display"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "started_at", "ended_at", "duration", "direction", "outcome", "language", "room", "caller_phone_display", "caller_name",
        "patient_link", "appointment_link", "turns", "end_of_turn_delay_ms", "llm_ttft_ms", "tts_ttfb_ms",
        "first_audio", "transcript_display", "usage_display",
    ]

    def has_add_permission(self, request):
        return False  # a call record is the phone agent's account of a real call

    def has_change_permission(self, request, obj=None):
        return False  # ...and editing it would falsify that account; managers may view and delete

    def search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().search_results(request, queryset, search_term)
        # "0300 1234567" is stored as +923001234567: every word that is part
        # of a number must be in it, as on the dashboard's Calls page.
        words = [phone_match("caller_phone", word) for word in search_term.split()]
        if words and all(words):
            found |= queryset.filter(*words)  # the filtered list, not every call
        return found, may_have_duplicates

    @admin.display(description="caller", ordering="caller_phone")
    def caller(self, call):
        if call.caller_name and call.caller_phone:
            return f"{call.caller_name} · {call.caller_phone_display}"
        return call.caller_name or call.caller_phone_display or "Number withheld"

    @admin.display(description="caller number")
    def caller_phone_display(self, call):
        return call.caller_phone_display or "Withheld"

    @admin.display(description="duration")
    def duration(self, call):
        seconds = call.duration_seconds
        if seconds is None:
            return "In progress" if call.outcome == Call.Outcome.IN_PROGRESS else "-"
        return f"{seconds // 60}:{seconds % 60:02d}"

    @admin.display(description="first audio ≈ (ms)")
    def first_audio(self, call):
        parts = (call.end_of_turn_delay_ms, call.llm_ttft_ms, call.tts_ttfb_ms)
        if any(part is None for part in parts):
            return "-"
        return f"{sum(parts):.0f}"

    @admin.display(description="patient")
    def patient_link(self, call):
        if not call.patient_id:
            return "-"
        url = reverse("admin:patients_patient_change", args=[call.patient_id])
        return format_html('<a href="{}">{}</a>', url, call.patient)

    @admin.display(description="appointment")
    def appointment_link(self, call):
        if not call.appointment_id:
            return "-"
        url = reverse("admin:scheduling_appointment_change", args=[call.appointment_id])
        return format_html('<a href="{}">{}</a>', url, call.appointment)

    @admin.display(description="transcript")
    def transcript_display(self, call):
        if not call.transcript:
            return "No transcript."
        rows = format_html_join(
            "\n",
            '<div style="margin:0 0 .5em"><strong>{}</strong> <span style="color:var(--body-quiet-color)">{}'
            '</span><br>{}</div>',
            ((SPEAKERS.get(line.get("role"), line.get("role", "?")), _clock(line.get("at")), line.get("text", ""))
             for line in call.transcript),
        )
        return format_html('<div style="max-width:60em">{}</div>', rows)

    @admin.display(description="usage")
    def usage_display(self, call):
        if not call.usage:
            return "-"
        return format_html("<pre>{}</pre>", json.dumps(call.usage, indent=2, sort_keys=True))


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    """Read-only for managers: receptionists work call-backs on the dashboard, through its services."""

    list_display = ["created_at", "caller_name", "phone", "reason", "status", "assigned_to", "done_at"]
    list_filter = ["status", "reason", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["caller_name", "patient__full_name", "message", "done_note"]
    list_select_related = ["assigned_to"]
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _clock(at: str | None) -> str:
    moment = parse_datetime(at) if at else None
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment and timezone.is_aware(moment) else ""
