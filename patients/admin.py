"""Managers' admin for patients. Saves go through patients.services, which
normalise the phone number and refuse a duplicate name + phone."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from patients import services
from patients.models import Patient
from clinic.hygiene import SafeInputAdmin
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
    list_display = ["full_name", "phone", "date_of_birth", "email", "contact_preference", "created_at"]
    search_fields = ["full_name", "phone", "email"]
    fields = [*EDITABLE, "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
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

    def delete_model(self, request, obj):
        services.patient_delete(patient=obj)
