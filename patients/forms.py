"""Patient forms: they read and shape input; the rules live in patients.services."""

from django import forms


class PatientForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=120)
    phone = forms.CharField(
        label="Phone",
        max_length=30,
        help_text="Local (0300 1234567) or international (+44 20 7946 0000).",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    date_of_birth = forms.DateField(
        label="Date of birth", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    email = forms.EmailField(label="Email", required=False)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def for_patient(cls, patient, data=None):
        initial = {
            "full_name": patient.full_name,
            "phone": patient.phone_display,
            "date_of_birth": patient.date_of_birth,
            "email": patient.email,
            "notes": patient.notes,
        }
        return cls(data, initial=initial)
