"""One sign-in lock-out for the dashboard and the admin, safe against bursts and shared addresses."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse

from clinic.proxy import parse_networks
from clinic.signin import USERNAME_LIMIT_FACTOR
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
WRONG = "correct username and password"
LOCKED = "Too many failed sign-in attempts"


def _post(client, path, username, password, **meta):
    return client.post(reverse(path), {"username": username, "password": password}, **meta)


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture(autouse=True)
def quick_hashing(request, settings):
    # Most tests here make dozens of attempts; the burst tests keep the real
    # (slow) hasher, whose long check is the window a racing burst would use.
    if "burst" not in request.node.name:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", is_staff=True)


@pytest.mark.django_db
def test_admin_login_locks_after_the_limit_and_says_when_to_try_again(client, manager):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert WRONG in _text(_post(client, "admin:login", "boss", "nope"))
    response = _post(client, "admin:login", "boss", PASSWORD)
    assert LOCKED in _text(response) and "try again after" in _text(response)
    assert client.get(reverse("admin:index")).status_code == 302  # not signed in


@pytest.mark.django_db
def test_a_user_locked_on_the_dashboard_cannot_get_in_through_the_admin(client, manager):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _post(client, "login", "boss", "nope")
    assert LOCKED in _text(_post(client, "login", "boss", PASSWORD))
    assert LOCKED in _text(_post(client, "admin:login", "boss", PASSWORD))
    assert client.get(reverse("admin:index")).status_code == 302


def _burst(passwords: list[str], path="admin:login") -> list[str]:
    """Each password from its own client, in parallel threads; what each was answered."""

    def attempt(password):
        try:
            return _text(_post(Client(), path, "boss", password))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(attempt, passwords))


@pytest.mark.django_db(transaction=True)
def test_a_parallel_burst_gets_no_more_password_checks_than_the_limit(manager):
    answers = _burst(["guess-%d" % i for i in range(100)])
    checked = sum(WRONG in a for a in answers)
    assert 1 <= checked <= settings.LOGIN_MAX_FAILURES
    assert sum(LOCKED in a for a in answers) == 100 - checked
    # Locked now: the right password is refused too.
    assert LOCKED in _text(_post(Client(), "admin:login", "boss", PASSWORD))


@pytest.mark.django_db(transaction=True)
def test_a_right_password_hidden_in_a_burst_is_checked_only_within_the_limit(manager):
    answers = _burst(["guess-%d" % i for i in range(39)] + [PASSWORD])
    checked = sum(WRONG in a for a in answers)
    signed_in = int(answers[-1] == "")  # a redirect into the admin, no page
    # Only the first LOGIN_MAX_FAILURES attempts to be reserved are checked at all;
    # the right one gets in only if it was one of them, as in a slow, one-by-one guess.
    assert checked + signed_in <= settings.LOGIN_MAX_FAILURES
    if not signed_in:
        assert LOCKED in answers[-1]


@pytest.mark.django_db
def test_a_strangers_failures_at_a_shared_address_lock_out_no_one_else(client, manager):
    colleague = UserFactory(username="rida")
    for i in range(settings.LOGIN_MAX_FAILURES * USERNAME_LIMIT_FACTOR + 1):
        _post(client, "login", f"guess{i % 3}", "nope")  # three made-up names
        _post(client, "login", "boss", "nope")  # and a real one
    # Same address (the clinic's proxy, the front-desk PC): whoever never failed signs in.
    response = _post(Client(), "login", colleague.username, PASSWORD)
    assert response.status_code == 302
    # The attacked account is locked from that address only; its owner elsewhere gets in.
    assert LOCKED in _text(_post(Client(), "login", "boss", PASSWORD))
    assert _post(Client(), "admin:login", "boss", PASSWORD, REMOTE_ADDR="198.51.100.20").status_code == 302


@pytest.mark.django_db
def test_guesses_spread_over_many_addresses_lock_the_username_everywhere(manager):
    addresses = [f"198.51.100.{n}" for n in range(USERNAME_LIMIT_FACTOR)]
    for address in addresses:
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert WRONG in _text(_post(Client(), "login", "boss", "nope", REMOTE_ADDR=address))
    assert LOCKED in _text(_post(Client(), "login", "boss", PASSWORD, REMOTE_ADDR="203.0.113.77"))


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(settings, manager):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.5"])
    via_proxy = {"REMOTE_ADDR": "10.0.0.5"}
    for _ in range(settings.LOGIN_MAX_FAILURES + 2):
        _post(Client(), "login", "boss", "nope", HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)
    assert LOCKED in _text(_post(Client(), "login", "boss", PASSWORD,
                                 HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy))
    assert _post(Client(), "login", "boss", PASSWORD,
                 HTTP_X_FORWARDED_FOR="203.0.113.10", **via_proxy).status_code == 302


@pytest.mark.django_db
def test_a_guesser_cannot_pick_a_fresh_address_by_writing_the_header(settings, manager):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.5"])
    for i in range(settings.LOGIN_MAX_FAILURES):
        _post(Client(), "login", "boss", "nope", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert LOCKED in _text(_post(Client(), "login", "boss", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200"))
