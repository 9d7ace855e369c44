"""Managers see every message to patients, failed ones first to hand; nothing is edited here."""

from django.contrib import admin

from clinic.hygiene import SafeInputAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(SafeInputAdmin, admin.ModelAdmin):
    list_display = ["due_at", "kind", "appointment", "channel", "status", "attempts", "calls", "detail"]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["appointment__patient", "appointment__provider"]
    date_hierarchy = "due_at"
    ordering = ["-due_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
