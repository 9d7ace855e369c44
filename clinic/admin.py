from django import forms
from django.contrib import admin
from django.shortcuts import redirect

from clinic.models import ClinicProfile
from patients.phone import normalize_phone

admin.site.site_header = "Clinic front desk: administration"
admin.site.site_title = "Clinic admin"
admin.site.index_title = "Manage the clinic"


class ClinicProfileForm(forms.ModelForm):
    class Meta:
        model = ClinicProfile
        fields = "__all__"

    # The phone agent dials the transfer number as E.164; store both numbers
    # that way whatever format the manager typed.
    def clean_phone(self):
        value = self.cleaned_data["phone"]
        return normalize_phone(value) if value else ""

    def clean_transfer_phone(self):
        value = self.cleaned_data["transfer_phone"]
        return normalize_phone(value) if value else ""


@admin.register(ClinicProfile)
class ClinicProfileAdmin(admin.ModelAdmin):
    """One profile per installation: no add or delete, the list goes straight to it."""

    form = ClinicProfileForm
    fieldsets = [
        (None, {"fields": ["name", "address", "phone"]}),
        ("Phone agent", {"fields": ["transfer_phone", ("transfer_from", "transfer_until"), "emergency_number"]}),
        ("Booking rules", {"fields": ["min_notice_minutes", "booking_horizon_days"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        ClinicProfile.load()
        return redirect("admin:clinic_clinicprofile_change", 1)
