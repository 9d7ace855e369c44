"""factory-boy factories. Appointments made here skip the services on purpose:
they set up a world; tests of the rules go through scheduling.services."""

from datetime import time, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from clinic.models import ClinicProfile
from patients.models import Patient
from scheduling.models import Appointment, Closure, Provider, WorkingHours
from voiceagent.models import Call


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    full_name = factory.Faker("name")
    # Valid Pakistani mobile numbers, distinct per patient.
    phone = factory.Sequence(lambda n: f"+92300{n:07d}")


class ProviderFactory(factory.django.DjangoModelFactory):
    """A provider working Monday-Friday 9:00-13:00 and 14:00-17:00 unless told otherwise."""

    class Meta:
        model = Provider
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Dr Provider {n}")
    specialty = "General practice"
    appointment_minutes = 30

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create:
            return
        weekly = extracted if extracted is not None else {
            wd: [(time(9), time(13)), (time(14), time(17))] for wd in range(5)
        }
        WorkingHours.objects.bulk_create(
            WorkingHours(provider=self, weekday=wd, start_time=a, end_time=b)
            for wd, intervals in weekly.items()
            for a, b in intervals
        )


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    provider = None
    start_date = factory.LazyFunction(timezone.localdate)
    end_date = factory.SelfAttribute("start_date")
    reason = "Public holiday"


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    provider = factory.SubFactory(ProviderFactory)
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(minutes=o.provider.appointment_minutes))
    status = Appointment.Status.BOOKED


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def receptionist(self, create, extracted, **kwargs):
        if create and extracted is not False:
            group, _ = Group.objects.get_or_create(name="Receptionists")
            self.groups.add(group)
        self.save()


def clinic_profile(**fields) -> ClinicProfile:
    profile = ClinicProfile.load()
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save()
    return profile


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    room = factory.Sequence(lambda n: f"call-test-{n}")
    caller_phone = factory.Sequence(lambda n: f"+92301{n:07d}")
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    ended_at = factory.LazyFunction(timezone.now)
    outcome = Call.Outcome.INFO
