"""Behind a reverse proxy: the client's address and "https" are believed only from trusted proxies."""

import pytest
from django.test import RequestFactory

from clinic.proxy import TrustedProxyMiddleware, parse_networks

PROXY = "10.0.0.5"


def through_middleware(**meta):
    request = RequestFactory().get("/", **meta)
    TrustedProxyMiddleware(lambda r: None).process_request(request)
    return request


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = parse_networks([PROXY, "10.1.0.0/16"])


def test_a_trusted_proxy_gives_the_client_address_and_scheme(behind_proxy):
    request = through_middleware(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9",
                                 HTTP_X_FORWARDED_PROTO="https")
    assert request.META["REMOTE_ADDR"] == "203.0.113.9"
    assert request.is_secure()


def test_the_client_cannot_choose_its_address_by_writing_the_header_itself(behind_proxy):
    # The client sent "X-Forwarded-For: 198.51.100.1"; two of our proxies appended what they saw.
    request = through_middleware(REMOTE_ADDR=PROXY,
                                 HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9:5123, 10.1.2.3")
    assert request.META["REMOTE_ADDR"] == "203.0.113.9"


def test_ipv6_clients_are_read_with_or_without_brackets(behind_proxy):
    assert through_middleware(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="[2001:db8::7]:443").META[
        "REMOTE_ADDR"] == "2001:db8::7"
    assert through_middleware(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="2001:db8::7").META[
        "REMOTE_ADDR"] == "2001:db8::7"


def test_a_garbled_header_from_the_proxy_leaves_the_proxy_address(behind_proxy):
    request = through_middleware(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-address")
    assert request.META["REMOTE_ADDR"] == PROXY


@pytest.mark.parametrize("trusted", [[], ["10.9.9.9"]])
def test_headers_from_anyone_else_are_dropped(settings, trusted):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    request = through_middleware(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.9.9.9",
                                 HTTP_X_FORWARDED_PROTO="https", HTTP_FORWARDED="for=10.9.9.9;proto=https")
    assert request.META["REMOTE_ADDR"] == "198.51.100.1"
    assert not request.is_secure()
    assert "HTTP_X_FORWARDED_FOR" not in request.META and "HTTP_FORWARDED" not in request.META


@pytest.mark.django_db
def test_an_https_redirect_trusts_only_the_proxy(client, settings, behind_proxy):
    settings.SECURE_SSL_REDIRECT = True
    # A stranger claiming https is still sent to https...
    response = client.get("/login/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    # ...while the proxy's word is taken and the page is served.
    response = client.get("/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9",
                          HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["10.0.0.300", "proxy.internal", "10.0.0.0/33"])
def test_a_bad_trusted_proxy_entry_stops_start_up_naming_the_variable(value):
    from tests.clinic.test_settings import start

    result = start(TRUSTED_PROXIES=value)
    assert result.returncode != 0
    assert f"TRUSTED_PROXIES must list IP addresses or networks such as 10.0.0.5 or 10.0.0.0/24, not {value!r}." in result.stderr
