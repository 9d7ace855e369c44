"""Patient forms: they read and shape input; the rules live in patients.services."""

import json

from django import forms
from django.urls import reverse_lazy

from clinic import hygiene
from patients.models import Patient

# Leaving the name or the phone asks whether someone alike is already
# registered under that number (patients.views.patient_similar).
SIMILAR_CHECK = {
    "hx-get": reverse_lazy("patient_similar"), "hx-trigger": "change", "hx-target": "#similar-patients",
    "hx-swap": "innerHTML", "hx-include": "#id_full_name, #id_phone", "autocomplete": "off",
}


class PatientForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=120, widget=forms.TextInput(attrs=SIMILAR_CHECK))
    phone = forms.CharField(
        label="Phone",
        max_length=30,
        help_text="Local (0300 1234567) or international (+44 20 7946 0000).",
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", **SIMILAR_CHECK}),
    )
    date_of_birth = forms.DateField(
        label="Date of birth", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[hygiene.validate_birth_day],
    )
    email = forms.EmailField(label="Email", required=False)
    contact_preference = forms.ChoiceField(
        label="Confirmations and reminders by", choices=Patient.ContactPreference.choices,
        # Not required: a form without it keeps the patient's choice (SMS for a new one).
        initial=Patient.ContactPreference.SMS, required=False,
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # Shown only once a look-alike patient has been pointed out (patients.views._save).
    not_duplicate = forms.BooleanField(label="This is a different person: save anyway", required=False)

    @classmethod
    def for_patient(cls, patient, data=None):
        initial = {
            "full_name": patient.full_name,
            "phone": patient.phone_display,
            "date_of_birth": patient.date_of_birth,
            "email": patient.email,
            "contact_preference": patient.contact_preference,
            "notes": patient.notes,
        }
        form = cls(data, initial=initial)
        for name in ("full_name", "phone"):
            # Their own record is not a look-alike.
            form.fields[name].widget.attrs["hx-vals"] = json.dumps({"patient": str(patient.pk)})
        return form
