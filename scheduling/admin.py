"""Managers' admin for providers, hours, closures and appointments.

Appointment saves, deletes and actions go through scheduling.services, so
the admin obeys the same booking rules as the dashboard and the phone agent:
a refused change shows the service's message on the form and saves nothing.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from clinic.hygiene import SafeInputAdmin
from patients.selectors import patient_search

from scheduling import services
from scheduling.models import Appointment, Closure, Provider, WorkingHours
from scheduling.services import BookingError

Status = Appointment.Status


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0
    fields = ["weekday", "start_time", "end_time"]


class ClosureInline(SafeInputAdmin, admin.TabularInline):
    model = Closure
    extra = 0
    fields = ["start_date", "end_date", "reason"]


@admin.register(Provider)
class ProviderAdmin(SafeInputAdmin, admin.ModelAdmin):
    list_display = ["name", "specialty", "appointment_minutes", "is_active"]
    list_filter = ["is_active", "specialty"]
    search_fields = ["name", "specialty"]
    inlines = [WorkingHoursInline, ClosureInline]


@admin.register(Closure)
class ClosureAdmin(SafeInputAdmin, admin.ModelAdmin):
    list_display = ["__str__", "provider", "start_date", "end_date", "reason"]
    list_filter = [("provider", admin.EmptyFieldListFilter), "provider"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["provider"]
    search_fields = ["reason", "provider__name"]


class AppointmentAdminForm(forms.ModelForm):
    """Hands the whole change to the booking services during validation.

    The services check and write in one transaction; doing it in clean()
    lets a refusal land on the form like any other validation error.
    """

    # As in the dashboard: a start off the provider's slot grid only when ticked.
    off_grid = forms.BooleanField(
        label="Other time", required=False,
        help_text="Tick to book or move to a start time off the provider's slot grid on purpose.",
    )

    class Meta:
        model = Appointment
        fields = ["patient", "provider", "start", "status", "reason"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.instance.pk:
                self.instance = services.appointment_edit(
                    appointment=self.instance,
                    provider=data["provider"],
                    start=data["start"],
                    status=data["status"],
                    reason=data.get("reason", ""),
                    off_grid=data.get("off_grid", False),
                )
            else:
                self.instance = services.appointment_book(
                    patient=data["patient"],
                    provider=data["provider"],
                    start=data["start"],
                    status=data["status"],
                    reason=data.get("reason", ""),
                    source=Appointment.Source.ADMIN,
                    off_grid=data.get("off_grid", False),
                )
        except BookingError as exc:
            raise ValidationError(exc.message, code=exc.code) from None
        return data

    def _post_clean(self):
        # The services validated and saved in clean(); ModelForm's own model
        # validation would only repeat a weaker version of their checks.
        pass


def _apply(modeladmin, request, queryset, status: str) -> None:
    done, refused = 0, []
    for appointment in queryset.select_related("patient", "provider"):
        try:
            services.appointment_set_status(appointment=appointment, status=status)
            done += 1
        except BookingError as exc:
            refused.append(f"{appointment}: {exc.message}")
    label = Status(status).label.lower()
    if done:
        modeladmin.message_user(request, f"{done} appointment{'s' * (done != 1)} marked {label}.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.register(Appointment)
class AppointmentAdmin(SafeInputAdmin, SimpleHistoryAdmin):
    form = AppointmentAdminForm
    list_display = ["start", "end", "patient", "provider", "status", "source", "reason"]
    list_filter = ["status", "provider", "source", ("start", admin.DateFieldListFilter)]
    list_select_related = ["patient", "provider"]
    date_hierarchy = "start"
    search_fields = ["patient__full_name", "patient__phone", "reason"]
    autocomplete_fields = ["patient", "provider"]
    readonly_fields = ["end", "source", "created_at", "updated_at", "arrived_at", "cancelled_at",
                       "confirmed_at", "confirmed_via", "patient_messages"]
    fields = ["patient", "provider", "start", "off_grid", "end", "status", "reason", "source",
              "created_at", "updated_at", "arrived_at", "cancelled_at", "confirmed_at", "confirmed_via", "patient_messages"]
    actions = ["mark_arrived", "mark_completed", "mark_no_show", "cancel"]
    ordering = ["-start"]

    @admin.display(description="messages to the patient")
    def patient_messages(self, obj):
        # The notifications app's rows, through their reverse relation (scheduling does not import it).
        rows = obj.notifications.all() if obj.pk else []
        return format_html_join(
            mark_safe("<br>"), "{}{}: {} {}",
            ((n.get_kind_display(), f" by {n.get_channel_display()}" if n.channel else "", n.get_status_display(),
              f"({n.detail})" if n.detail else "") for n in rows),
        ) or "none"

    def search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        matches = Q(patient__in=patient_search(search_term)) | Q(reason__icontains=search_term.strip())
        return queryset.filter(matches), False

    def save_model(self, request, obj, form, change):
        pass  # saved by the services in AppointmentAdminForm.clean()

    def delete_model(self, request, obj):
        services.appointment_delete(appointment=obj)

    def delete_queryset(self, request, queryset):
        for appointment in queryset:
            services.appointment_delete(appointment=appointment)

    @admin.action(description="Mark selected appointments arrived (checked in)")
    def mark_arrived(self, request, queryset):
        _apply(self, request, queryset, Status.ARRIVED)

    @admin.action(description="Mark selected appointments completed")
    def mark_completed(self, request, queryset):
        _apply(self, request, queryset, Status.COMPLETED)

    @admin.action(description="Mark selected appointments no-show")
    def mark_no_show(self, request, queryset):
        _apply(self, request, queryset, Status.NO_SHOW)

    @admin.action(description="Cancel selected appointments")
    def cancel(self, request, queryset):
        _apply(self, request, queryset, Status.CANCELLED)
