"""The production command line (deploy/Procfile's web process: daphne, DEBUG off,
collected static files, behind a TLS proxy) as an operator runs it."""

import json
import re

import pytest
from django.test import override_settings

from tests.clinic.conftest import HOST, OUTSIDER, PROXY, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "Origin": f"https://{HOST}"}


def test_static_files_have_hashed_names_long_cache_headers_and_gzip(production_web):
    page = production_web.request("GET", "/login/").text
    hashed = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert hashed, "pages must name the hashed copy that collectstatic wrote"

    css = production_web.request("GET", hashed.group(1), headers={"Accept-Encoding": "gzip"})
    assert css.status == 200
    assert "max-age=315360000" in css.headers["Cache-Control"] and "immutable" in css.headers["Cache-Control"]
    assert css.headers["Content-Encoding"] == "gzip"

    # The unhashed name still answers (old bookmarks, e-mails) but is cached only briefly.
    plain = production_web.request("GET", "/static/css/app.css")
    assert plain.status == 200 and plain.headers["Cache-Control"] == "max-age=60, public"
    assert production_web.request("GET", "/static/admin/css/base.css").status == 200


def test_sign_in_behind_the_tls_proxy(production_web, receptionist):
    done = sign_in(production_web, receptionist.username, source=PROXY, headers=HTTPS)
    assert done.status == 302 and done.headers["Location"] == "/", done.text[:500]
    session = done.cookies()["sessionid"]
    assert "Secure" in session and "HttpOnly" in session

    overview = production_web.request("GET", "/", headers={**HTTPS, "Cookie": session.split(";", 1)[0]})
    assert overview.status == 200 and "Today's schedule" in overview.text


def test_a_proxy_header_from_an_untrusted_address_is_ignored(production_web, receptionist):
    # Straight to daphne, claiming to be behind TLS: the claim is dropped, the
    # request is plain HTTP, so the https:// origin is a foreign one and refused.
    refused = sign_in(production_web, receptionist.username, source=OUTSIDER, headers=HTTPS)
    assert refused.status == 403 and "sessionid" not in refused.cookies()

    # The same client without the false claim signs in: the refusal was the header's doing.
    plain = sign_in(production_web, receptionist.username, source=OUTSIDER, headers={"Origin": f"http://{HOST}"})
    assert plain.status == 302 and "sessionid" in plain.cookies()


def test_health_answers_a_load_balancer_probing_by_ip(production_web):
    by_ip = f"127.0.0.1:{production_web.port}"
    health = production_web.request("GET", "/health/", host=by_ip)
    assert health.status == 200
    assert json.loads(health.body) == {"database": "ok", "redis": "ok"}
    assert health.headers["Cache-Control"] == "no-store" and not health.cookies()
    # Everything else still holds to ALLOWED_HOSTS.
    assert production_web.request("GET", "/login/", host=by_ip).status == 400


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_health_says_which_part_is_unreachable(client):
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "unreachable"}
