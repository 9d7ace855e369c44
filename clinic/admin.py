from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.shortcuts import redirect

from clinic.forms import LockoutAdminAuthenticationForm
from clinic.hygiene import SafeInputAdmin
from clinic.models import ClinicProfile
from patients.phone import normalize_phone

admin.site.site_header = "Clinic front desk: administration"
admin.site.site_title = "Clinic admin"
admin.site.index_title = "Manage the clinic"
# The admin's sign-in shows the same lock-out message as the dashboard's
# (the lock-out itself is in the authentication backend, clinic.signin).
admin.site.login_form = LockoutAdminAuthenticationForm

User = get_user_model()


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
class ClinicProfileAdmin(SafeInputAdmin, admin.ModelAdmin):
    """One profile per installation: no add or delete, the list goes straight to it."""

    form = ClinicProfileForm
    fieldsets = [
        (None, {"fields": ["name", "address", "phone"]}),
        ("Phone agent", {"fields": ["transfer_phone", ("transfer_from", "transfer_until"), "emergency_number"]}),
        ("Booking rules", {"fields": ["min_notice_minutes", "booking_horizon_days"]}),
        ("Messages to patients", {
            "fields": ["booked_text", "moved_text", "cancelled_text", "reminder_text"],
            "description": "Sent by SMS or email, as each patient chose, after every booking, move and "
                           "cancellation, and as a reminder before the visit.",
        }),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        ClinicProfile.load()
        return redirect("admin:clinic_clinicprofile_change", 1)


admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin):
    """Staff accounts. Superusers see Django's full form; a manager (staff
    with user permissions, not a superuser) manages receptionists and
    managers only: no superuser accounts in the list, no superuser flag or
    raw permissions on the form, and the staff flag follows the Managers
    group, so a manager can hand out no more than their own role."""

    list_display = ["username", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["groups", "is_active"]

    _manager_fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Access", {"fields": ["is_active", "groups"],
                    "description": "Receptionists use the dashboard; Managers also use this admin."}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]

    @admin.display(description="Role")
    def role(self, obj):
        if obj.is_superuser:
            return "Superuser"
        return ", ".join(g.name for g in obj.groups.all()) or "-"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("groups")
        if not request.user.is_superuser:
            queryset = queryset.filter(is_superuser=False)
        return queryset

    def get_fieldsets(self, request, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self._manager_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ["last_login", "date_joined"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(
                name__in=[settings.RECEPTIONIST_GROUP, settings.MANAGER_GROUP])
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.is_superuser = False
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        if not request.user.is_superuser:
            # Groups are saved only now; the admin is open to Managers alone.
            is_manager = user.groups.filter(name=settings.MANAGER_GROUP).exists()
            if user.is_staff != is_manager:
                user.is_staff = is_manager
                user.save(update_fields=["is_staff"])
