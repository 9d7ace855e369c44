"""What the running dashboard server logs while a receptionist searches: no name, no number."""

import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import ASGI_SERVER_LOG
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_server_log_of_searches_holds_no_name_or_number(live_server_url, receptionist):
    PatientFactory(full_name="Zarmeena Qizilbash", phone="+923001234567")
    client = Client()
    client.force_login(receptionist)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    log = ASGI_SERVER_LOG["path"]
    before = log.stat().st_size
    searches = [("/patients/", "Zarmeena Qizilbash"), ("/patients/", "0300-123-4567"),
                ("/patients/", "0300.123.4567"), ("/calls/", "+92 300 1234567"), ("/appointments/", "Qizilbash")]
    for path, query in searches:
        request = urllib.request.Request(f"{live_server_url}{path}?{urllib.parse.urlencode({'q': query})}",
                                         headers={"Cookie": cookie})
        response = urllib.request.urlopen(request, timeout=15)
        assert response.status == 200 and "/login/" not in response.geturl()  # signed in, really searched
    with open(log, encoding="utf-8") as f:
        f.seek(before)
        written = f.read()
    assert written.count("/patients/") >= 3, written  # the requests were logged ...
    assert "Zarmeena" not in written and "Qizilbash" not in written  # ... without the name
    for shown in ("1234567", "123-4567", "123.4567", "300+1234567", "300%201234567"):
        assert shown not in written, shown  # ... or the number, however typed
