"""The production processes of deploy/Procfile, started as an operator would, on the test database.

Shared by the production-serving and the replica tests: static files are
collected once per run, web processes are started once per run and reused.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.parse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import RECEPTIONIST_PASSWORD, _database_url_of, _free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "clinic.test"
PROXY = "127.0.0.1"  # the test plays the TLS proxy from here ...
OUTSIDER = "127.0.0.2"  # ... and a client that reaches daphne directly from here


def procfile_command(name: str) -> str:
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise LookupError(f"deploy/Procfile has no {name!r} process")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def cookies(self) -> dict[str, str]:
        """name -> the whole Set-Cookie line."""
        return {line.split("=", 1)[0]: line for line in self.headers.get_all("Set-Cookie") or []}


@dataclass
class Web:
    """One web process of the Procfile, listening on its own port."""

    port: int
    process: subprocess.Popen
    log: Path
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
                source: str = PROXY, host: str = HOST) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15, source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            reply = conn.getresponse()
            return Response(reply.status, reply.headers, reply.read())
        finally:
            conn.close()


def start_web(env: dict[str, str], tmp: Path) -> Web:
    port = _free_port()
    log = tmp / f"web-{port}.log"
    with open(log, "w") as out:
        # exec: the test signals daphne itself, not a shell around it.
        process = subprocess.Popen(["/bin/sh", "-c", "exec " + procfile_command("web")], cwd=ROOT,
                                   env={**env, "PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT)
    web = Web(port, process, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if web.request("GET", "/health/").status == 200:
                return web
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_web(web)
            raise RuntimeError(f"daphne did not become healthy:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def stop_web(web: Web) -> None:
    web.process.terminate()
    try:
        web.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        web.process.kill()
        web.process.wait()


@pytest.fixture(scope="session")
def production_env(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, str]:
    """The environment of README "Deploying" (DEBUG off, behind a trusted proxy) on the
    test database and the run's Redis, after `collectstatic`."""
    from django.db import connection

    with django_db_blocker.unblock():
        db_url = _database_url_of(connection)
    var = tmp_path_factory.mktemp("production")
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}", "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": db_url, "CLINIC_VAR_DIR": str(var), "DEBUG": "false",
           "SECRET_KEY": "production-test-" + "k" * 40, "ALLOWED_HOSTS": HOST, "TRUSTED_PROXIES": PROXY}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return env


@pytest.fixture(scope="session")
def production_webs(production_env, tmp_path_factory):
    """Two replicas of the Procfile's web process on one database and one Redis."""
    tmp = tmp_path_factory.mktemp("webs")
    webs = [start_web(production_env, tmp)]
    try:
        webs.append(start_web(production_env, tmp))
        yield webs
    finally:
        for web in webs:
            stop_web(web)


@pytest.fixture
def production_web(production_webs, transactional_db):
    """The first replica; the test's data is committed so the process sees it."""
    return production_webs[0]


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def sign_in(web, username, *, source, headers):
    """GET the form, POST it as a browser would; the POST's response."""
    form = web.request("GET", "/login/", source=source, headers=headers)
    assert form.status == 200, form.text
    csrf_cookie = form.cookies()["csrftoken"].split(";", 1)[0]
    body = urllib.parse.urlencode({"username": username, "password": RECEPTIONIST_PASSWORD,
                                   "csrfmiddlewaretoken": csrf_token(form.text), "next": "/"}).encode()
    return web.request("POST", "/login/", source=source, body=body, headers={
        **headers, "Cookie": csrf_cookie, "Content-Type": "application/x-www-form-urlencoded"})


def session_cookie(web, user) -> str:
    """Signed in through the form on `web` (the processes' SECRET_KEY is not the test's); "sessionid=..."."""
    done = sign_in(web, user.username, source=PROXY, headers={"Origin": f"http://{HOST}"})
    assert done.status == 302, done.text[:500]
    return done.cookies()["sessionid"].split(";", 1)[0]
