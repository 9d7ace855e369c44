"""Forms of the appointment pages. They read and check what was typed; the
booking rules themselves stay in scheduling.services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as dt_time

from django import forms
from django.db.models import Q
from django.utils import timezone

from clinic import hygiene
from patients.models import Patient
from scheduling import selectors
from scheduling.models import Appointment, Provider

Status = Appointment.Status

# Whitelisted sort keys of the appointment table -> ORM ordering. Anything
# else in the query string falls back to the default, never reaches order_by.
SORTS = {
    "start": ("start", "id"),
    "patient": ("patient__full_name", "start", "id"),
    "provider": ("provider__name", "start", "id"),
    "status": ("status", "start", "id"),
}
DEFAULT_SORT = "start"
DEFAULT_DAYS = 7

# Dates a query string may name: far enough for any diary, near enough that
# a week or a day after them is still a date (9999-12-31 + 1 day is not).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


DATE_ERRORS = {"invalid": "Enter the date as YYYY-MM-DD, for example 2025-12-01."}


class AppointmentFilterForm(forms.Form):
    """The filters above the appointment table, read from the query string."""

    date_from = forms.DateField(label="From", required=False, widget=DateInput(), error_messages=DATE_ERRORS)
    date_to = forms.DateField(label="To", required=False, widget=DateInput(), error_messages=DATE_ERRORS)
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.order_by("name"), required=False, empty_label="All providers",
        error_messages={"invalid_choice": "That provider does not exist."},
    )
    status = forms.ChoiceField(choices=[("", "All statuses"), *Status.choices], required=False)
    q = forms.CharField(
        label="Patient", required=False, max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or phone digits", "autocomplete": "off"}),
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)

    def clean_q(self) -> str:
        return hygiene.cleaned(hygiene.clean_search, self.cleaned_data.get("q"))

    def clean_sort(self) -> str:
        sort = self.cleaned_data.get("sort") or ""
        return sort if sort.lstrip("-") in SORTS else DEFAULT_SORT

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            # A year like 9999 would overflow the day's end (and the CSV export's).
            if data.get(name) and not FIRST_DAY <= data[name] <= LAST_DAY:
                self.add_error(name, f"Enter a date between {FIRST_DAY.year} and {LAST_DAY.year}.")
                data.pop(name, None)
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict:
        """The filters to apply: the valid ones as typed, defaults for the rest.

        A bad value (a mistyped date) shows its error next to the field while
        the table still shows something sensible instead of nothing.
        """
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        today = timezone.localdate()
        first = data.get("date_from") or today
        last = data.get("date_to") if "date_to" not in self.errors else None
        last = last or first + timedelta(days=DEFAULT_DAYS - 1)
        return {
            "date_from": first,
            "date_to": last,
            "provider": data.get("provider"),
            "status": data.get("status") or "",
            "status_label": Status(data["status"]).label if data.get("status") else "",
            "q": (data.get("q") or "").strip(),
            "sort": data.get("sort") or DEFAULT_SORT,
        }


class AppointmentForm(forms.Form):
    """Book a new appointment (appointment=None) or edit one.

    A new appointment's patient is either picked (`patient`, an id from the
    picker) or typed in as a new patient (name + phone, optional date of
    birth), who the view creates in the same transaction as the booking.
    """

    patient = forms.IntegerField(required=False, widget=forms.HiddenInput)
    new_name = forms.CharField(label="Full name", required=False, max_length=120)
    new_phone = forms.CharField(
        label="Phone", required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    new_date_of_birth = forms.DateField(
        label="Date of birth (optional)", required=False, widget=DateInput(), error_messages=DATE_ERRORS,
        validators=[hygiene.validate_birth_day],
    )
    # After a look-alike patient was pointed out: book for them instead (a
    # button's value), or confirm the new one is someone else.
    use_patient = forms.IntegerField(required=False, widget=forms.HiddenInput)
    new_is_different = forms.BooleanField(label="This is a different person: register them as new", required=False)
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.none(), empty_label="Choose a provider",
        error_messages={"required": "Choose a provider.", "invalid_choice": "Choose one of the listed providers."},
    )
    date = forms.DateField(widget=DateInput(), error_messages={"required": "Choose a date.", **DATE_ERRORS},
                           validators=[hygiene.validate_day])
    time = forms.TimeField(
        required=False, input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"invalid": "Enter the time as HH:MM, for example 09:30."},
    )
    # A time off the provider's slot grid, booked only when "Other time" is
    # ticked: typed without the tick, it is refused with the nearest grid
    # times (scheduling.services), so a slip of the keyboard wastes no slots.
    off_grid = forms.BooleanField(label="Other time", required=False)
    other_time = forms.TimeField(
        label="Other time", required=False, input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"invalid": "Enter the other time as HH:MM, for example 10:05."},
    )
    status = forms.ChoiceField(choices=Status.choices, required=False)
    reason = forms.CharField(label="Reason for visit", required=False, max_length=255)

    def __init__(self, *args, appointment: Appointment | None = None, **kwargs):
        # Its own ids: the modal opens over pages whose filter forms have
        # fields of the same names, and a label must find its own field.
        kwargs.setdefault("auto_id", "appt_%s")
        super().__init__(*args, **kwargs)
        self.appointment = appointment
        providers = Q(is_active=True)
        if appointment:
            # An appointment with a provider who has since left stays editable.
            providers |= Q(pk=appointment.provider_id)
            for name in ("patient", "new_name", "new_phone", "new_date_of_birth", "use_patient", "new_is_different"):
                del self.fields[name]
            self.fields["status"].required = True
        else:
            del self.fields["status"]
        self.fields["provider"].queryset = Provider.objects.filter(providers).order_by("name")

    @property
    def is_new(self) -> bool:
        return self.appointment is None

    def clean_new_name(self) -> str:
        name = self.cleaned_data.get("new_name")
        return hygiene.cleaned(hygiene.clean_name, name) if name else ""

    def clean_reason(self) -> str:
        return hygiene.cleaned(hygiene.clean_reason, self.cleaned_data.get("reason"))

    def clean_patient(self) -> Patient | None:
        pk = self.cleaned_data.get("patient")
        if pk is None:
            return None
        patient = Patient.objects.filter(pk=pk).first()
        if patient is None:
            raise forms.ValidationError("That patient no longer exists; search again or add them as new.")
        return patient

    def clean(self):
        data = super().clean()
        if self.is_new and data.get("use_patient"):
            chosen = Patient.objects.filter(pk=data["use_patient"]).first()
            if chosen:
                # "Book for Ali Raza" under the look-alike warning: the typed new patient goes.
                data["patient"] = chosen
                for name in ("new_name", "new_phone", "new_date_of_birth"):
                    data[name] = None if name == "new_date_of_birth" else ""
        if self.is_new and not self.errors.get("patient"):
            typed_new = any(data.get(f) for f in ("new_name", "new_phone", "new_date_of_birth"))
            if data.get("patient") and typed_new:
                self.add_error("patient", "Pick an existing patient or enter a new one, not both.")
            elif not data.get("patient") and not typed_new:
                self.add_error("patient", "Pick a patient from the search, or enter a new patient's name and phone.")
            elif typed_new:
                if not data.get("new_name"):
                    self.add_error("new_name", "Enter the new patient's full name.")
                if not data.get("new_phone"):
                    self.add_error("new_phone", "Enter the new patient's phone number.")
        # The other time, when typed, is the one meant; the list's choice
        # (preselected when editing) gives way to it.
        field = "other_time" if data.get("other_time") or data.get("off_grid") else "time"
        at = data.get(field)
        if field in self.errors:
            pass  # not a time; its own message says so
        elif at and at.second:
            self.add_error(field, f"Enter the time as HH:MM, without seconds: {at:%H:%M:%S} is not a slot start.")
        elif at is None:
            self.add_error(field, "Type the other time as HH:MM." if field == "other_time"
                           else "Choose one of the free times.")
        elif data.get("date"):
            # Times are typed on the clinic's wall clock; services want an
            # aware instant.
            data["start"] = datetime.combine(data["date"], at, tzinfo=selectors.clinic_tz())
        return data


def parse_day(raw: str | None) -> date | None:
    """A YYYY-MM-DD date from a query string, or None."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def parse_id(raw: str | None) -> int | None:
    """A database id from a query string or a post, or None ("12" yes; "", "1 OR 1=1" and 5,000 nines no)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def parse_time(raw: str | None) -> dt_time | None:
    """An HH:MM time from a query string or a calendar post, or None."""
    raw = (raw or "").strip()
    if len(raw) != 5:
        return None
    try:
        return datetime.strptime(raw, "%H:%M").time()
    except ValueError:
        return None
