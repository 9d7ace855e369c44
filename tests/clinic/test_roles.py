"""Roles (Receptionists, Managers), the staff-accounts admin, demo logins, create_manager."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from clinic import demo, roles
from clinic.management.commands.up import Command as Up
from scheduling.models import Provider
from tests.factories import CallFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def quick_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _manager(username="boss"):
    user = UserFactory(username=username, is_staff=True, receptionist=False)
    user.groups.add(Group.objects.get(name=roles.MANAGERS))
    return user


@pytest.fixture
def manager_client(client):
    client.force_login(_manager())
    return client


def test_the_migration_creates_both_roles_with_the_managers_permissions():
    managers = Group.objects.get(name=roles.MANAGERS)
    granted = set(managers.permissions.values_list("content_type__app_label", "codename"))
    assert ("scheduling", "add_appointment") in granted and ("voiceagent", "view_call") in granted
    assert ("voiceagent", "change_call") not in granted and ("auth", "delete_user") not in granted
    assert Group.objects.filter(name=roles.RECEPTIONISTS).exists()


def test_a_manager_does_the_managers_work_in_the_admin(manager_client):
    index = manager_client.get(reverse("admin:index")).content.decode()
    for section in ("Providers", "Appointments", "Patients", "Calls", "Users", "Clinic profile"):
        assert section in index, section
    add = reverse("admin:scheduling_provider_add")
    inlines = re.findall(r'name="([\w-]+)-TOTAL_FORMS"', manager_client.get(add).content.decode())
    data = {"name": "Dr New", "specialty": "ENT", "appointment_minutes": 20, "is_active": "on"}
    for prefix in inlines:
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = manager_client.post(add, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Provider.objects.filter(name="Dr New").exists()
    call = CallFactory()
    assert manager_client.get(reverse("admin:voiceagent_call_change", args=[call.pk])).status_code == 200
    assert manager_client.get(reverse("overview")).status_code == 200


def test_a_manager_creates_a_receptionist_but_grants_no_superuser_or_permissions(manager_client):
    response = manager_client.post(reverse("admin:auth_user_add"), {
        "username": "newdesk", "usable_password": "true",
        "password1": "a-long-new-password-42", "password2": "a-long-new-password-42",
    })
    assert response.status_code == 302
    user = User.objects.get(username="newdesk")
    change = reverse("admin:auth_user_change", args=[user.pk])
    form = manager_client.get(change).content.decode()
    assert 'name="is_superuser"' not in form and 'name="user_permissions"' not in form
    receptionists = Group.objects.get(name=roles.RECEPTIONISTS)
    response = manager_client.post(change, {
        "username": "newdesk", "first_name": "Nadia", "last_name": "", "email": "", "is_active": "on",
        "groups": [receptionists.pk],
        # What a manager might forge on the form; none of it is on the manager's form.
        "is_superuser": "on", "is_staff": "on",
        "user_permissions": list(Group.objects.get(name=roles.MANAGERS).permissions.values_list("pk", flat=True)),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.first_name == "Nadia" and list(user.groups.all()) == [receptionists]
    assert not user.is_superuser and not user.is_staff and not user.user_permissions.exists()


def test_a_manager_cannot_see_or_edit_a_superuser(manager_client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert "root" not in manager_client.get(reverse("admin:auth_user_changelist")).content.decode()
    change = reverse("admin:auth_user_change", args=[root.pk])
    assert manager_client.get(change).status_code in (302, 404)
    manager_client.post(change, {"username": "root", "is_active": ""})
    manager_client.post(reverse("admin:auth_user_password_change", args=[root.pk]),
                        {"password1": "taken-over-123", "password2": "taken-over-123"})
    root.refresh_from_db()
    assert root.is_active and root.check_password(PASSWORD)


def test_making_someone_a_manager_gives_them_the_admin(manager_client):
    desk = UserFactory(username="desk")
    managers = Group.objects.get(name=roles.MANAGERS)
    manager_client.post(reverse("admin:auth_user_change", args=[desk.pk]), {
        "username": "desk", "is_active": "on", "groups": [managers.pk]})
    desk.refresh_from_db()
    assert desk.is_staff and not desk.is_superuser


def test_receptionists_get_the_dashboard_not_the_admin(client):
    client.force_login(UserFactory(username="desk"))
    assert client.get(reverse("overview")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302


# --- demo logins and `up` ------------------------------------------------------


def _up_lines() -> list[str]:
    out = io.StringIO()
    return Up(stdout=out)._demo()


def test_up_on_a_fresh_debug_database_creates_a_manager_who_is_not_superuser(settings):
    settings.DEBUG = True
    lines = "\n".join(_up_lines())
    assert "reception / frontdesk-demo" in lines and "manager / manager-demo" in lines
    manager = User.objects.get(username="manager")
    assert manager.is_staff and not manager.is_superuser
    assert manager.groups.filter(name=roles.MANAGERS).exists()


def test_a_changed_demo_account_is_left_alone_on_restart(settings):
    settings.DEBUG = True
    _up_lines()
    manager = User.objects.get(username="manager")
    manager.set_password("the-clinics-own-secret")
    manager.is_active = False
    manager.save()
    manager.groups.clear()

    lines = "\n".join(_up_lines())  # a restart

    manager.refresh_from_db()
    assert manager.check_password("the-clinics-own-secret") and not manager.is_active
    assert not manager.groups.exists() and not manager.is_superuser
    assert "manager-demo" not in lines and "reception / frontdesk-demo" in lines


def test_an_existing_account_with_a_demo_name_is_never_touched(settings):
    settings.DEBUG = True
    mine = UserFactory(username="manager", receptionist=False)
    _up_lines()
    mine.refresh_from_db()
    assert mine.check_password(PASSWORD) and not mine.is_staff and not mine.groups.exists()


def test_with_debug_off_up_creates_no_demo_data_or_logins_and_says_how_to_make_a_manager(settings):
    settings.DEBUG = False
    lines = "\n".join(_up_lines())
    assert not Provider.objects.exists() and not User.objects.exists()
    assert "manage.py create_manager" in lines


def test_create_manager_makes_a_staff_manager_from_a_validated_password(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-long-passphrase\n"))
    call_command("create_manager", "amina", "--password-stdin", stdout=io.StringIO())
    amina = User.objects.get(username="amina")
    assert amina.is_staff and not amina.is_superuser and amina.check_password("a-good-long-passphrase")
    assert amina.groups.filter(name=roles.MANAGERS).exists()

    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("create_manager", "weak", "--password-stdin")
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_manager", "amina", "--password-stdin")
    assert not User.objects.filter(username="weak").exists()
    assert demo.working_logins() == []
