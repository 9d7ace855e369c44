"""Managers' admin for patients. Saves go through patients.services, which
normalise the phone number and refuse a duplicate name + phone."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from clinic.hygiene import SafeInputAdmin
from patients import services
from patients.models import Patient
from patients.selectors import patient_search
from patients.services import PatientError
from scheduling.models import Appointment


class AppointmentInline(admin.TabularInline):
    model = Appointment
    extra = 0
    fields = ["start", "provider", "status", "reason", "source"]
    readonly_fields = fields
    ordering = ["-start"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # booking goes through the appointment form and its rules


EDITABLE = ("full_name", "phone", "date_of_birth", "email", "contact_preference", "notes")


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = EDITABLE

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        fields = {name: data.get(name) for name in EDITABLE}
        fields["email"] = fields["email"] or ""
        fields["notes"] = fields["notes"] or ""
        try:
            if self.instance.pk:
                self.instance = services.patient_update(patient=self.instance, **fields)
            else:
                self.instance = services.patient_create(**fields)
        except PatientError as exc:
            raise ValidationError({exc.field: exc.message} if exc.field in fields else exc.message) from None
        return data

    def _post_clean(self):
        pass  # validated and saved by the services in clean()


@admin.register(Patient)
class PatientAdmin(SafeInputAdmin, SimpleHistoryAdmin):
    form = PatientAdminForm
    list_display = ["full_name", "phone", "date_of_birth", "email", "contact_preference", "phone_locked_at",
                    "created_at"]
    list_filter = [("date_of_birth", admin.EmptyFieldListFilter), ("phone_locked_at", admin.EmptyFieldListFilter)]
    actions = ["clear_phone_lock"]
    search_fields = ["full_name", "phone", "email"]
    fields = [*EDITABLE, "phone_locked_at", "phone_check_failures", "created_at", "updated_at"]
    readonly_fields = ["phone_locked_at", "phone_check_failures", "created_at", "updated_at"]
    inlines = [AppointmentInline]
    ordering = ["full_name"]

    def search_results(self, request, queryset, search_term):
        # The dashboard's search: "raza 4567" or a national "0300 1234567"
        # finds the patient stored as +923001234567 (also in autocompletes).
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=patient_search(search_term).values("pk")), False

    def save_model(self, request, obj, form, change):
        pass  # saved by the services in PatientAdminForm.clean()

    @admin.action(description="Clear the phone lock of selected patients (after checking who is calling)")
    def clear_phone_lock(self, request, queryset):
        for patient in queryset.filter(phone_locked_at__isnull=False):
            services.patient_phone_unlock(patient=patient)
        self.message_user(request, "Phone access cleared.")

    def delete_model(self, request, obj):
        services.patient_delete(patient=obj)
