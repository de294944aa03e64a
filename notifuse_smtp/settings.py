"""Settings for notifuse-smtp, read from the environment (and `.env`) through django-environ.

Every variable is listed with a comment in `.env.example`. A malformed value stops start-up
with an error that names the variable.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

# Development keys, the defaults only while DEBUG is on: every start with DEBUG off
# (notifuse_smtp.checks) refuses them, like a missing key.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
DEV_FERNET_KEY = "dev-insecure-fernet-key-change-me"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Production unless told otherwise: ./scripts/run and ./scripts/test set DEBUG=true.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
# Rotation: the new key in SECRET_KEY, the old one here until links signed with it expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The HTTP API's interactive docs are served from ninja's static files, not a CDN.
    "ninja",
    "notifuse_smtp.apps.NotifuseSmtpConfig",
    "integrations",
    "senders",
    "delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "notifuse_smtp.middleware.RefuseNulCharacters",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "delivery.http_api.request_log.LogApiRequests",
]

ROOT_URLCONF = "notifuse_smtp.urls"
WSGI_APPLICATION = "notifuse_smtp.wsgi.application"

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
            ],
        },
    },
]

VAR_DIR = BASE_DIR / "var"
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# Kept open between requests and tasks (checked before reuse, so a restarted database is
# survived): a new PostgreSQL connection costs a worker ~20 ms and the server a process.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL: the INSERTs of the hot paths (delivery/inserts.py) are prepared once per
# connection. Turn this off behind a pooler that cannot keep prepared statements (PgBouncer
# in transaction mode before 1.21). Django's own queries are never prepared.
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(exist_ok=True)  # the zero-setup default keeps its file here
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The admin login asks for the email: it also finds an account whose username is not it.
AUTHENTICATION_BACKENDS = ["notifuse_smtp.admin_site.EmailOrUsernameBackend"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# One date format in the admin and the portal (notifuse_smtp/formats/en/formats.py).
FORMAT_MODULE_PATH = ["notifuse_smtp.formats"]

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
if DEBUG:
    # WhiteNoise warns when the root is missing; in development collectstatic never ran.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Production hardening (on whenever DEBUG is off) --------------------------------------
# Whether a request came over HTTPS: gunicorn sets the scheme from X-Forwarded-Proto only
# when the proxy's address is in FORWARDED_ALLOW_IPS. Django cannot tell who sent the header,
# so it reads it only when the operator says every request comes through a proxy that sets
# it (docs/operations.md, "Behind a proxy"); otherwise anyone could claim HTTPS.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # /healthz is polled over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LOGIN_URL = "admin:login"
# /healthz shows each probe's details to a request carrying "Authorization: Bearer <token>"
# (and to logged-in staff); everyone else gets only ok or fail. Empty: staff only.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")

# --- Secrets at rest ---------------------------------------------------------------------
# The first key encrypts; every key decrypts (rotation: put the new key first).
FERNET_KEYS = env.list("FERNET_KEYS", default=[DEV_FERNET_KEY] if DEBUG else [])

# --- Redis, Celery -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="notifuse_smtp")

# --- OAuth2 providers --------------------------------------------------------------------
MICROSOFT_AUTHORITY_HOST = env.str(
    "MICROSOFT_AUTHORITY_HOST", default="https://login.microsoftonline.com"
)
GOOGLE_TOKEN_URL = env.str("GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_AUTH_URL = env.str(
    "GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth"
)

# --- Tracking ----------------------------------------------------------------------------
TRACKING_BASE_URL = env.str("TRACKING_BASE_URL", default="http://localhost:8000")
TRACKING_ENABLED = env.bool("TRACKING_ENABLED", default=True)
# What a token holder can add to the statistics (delivery/tracking/recording.py): one open
# per message and one click per link per window, and so many events per message an hour.
TRACKING_OPEN_WINDOW_SECONDS = env.int("TRACKING_OPEN_WINDOW_SECONDS", default=600)
TRACKING_CLICK_WINDOW_SECONDS = env.int("TRACKING_CLICK_WINDOW_SECONDS", default=30)
TRACKING_EVENTS_PER_HOUR = env.int("TRACKING_EVENTS_PER_HOUR", default=60)
TRACKING_STORE_IP = env.bool("TRACKING_STORE_IP", default=False)
# List-Unsubscribe target for marketing mail that names none. "{token}" (or the older name
# "{message_id}") is filled in with the message's signed unsubscribe token, never its id.
DEFAULT_UNSUBSCRIBE_URL = env.str("DEFAULT_UNSUBSCRIBE_URL", default="")

# --- Delivery ----------------------------------------------------------------------------
SMTP_TIMEOUT = env.float("SMTP_TIMEOUT", default=30.0)
# Each step of "Test integration" (a worker runs it) is bounded by this.
DIAGNOSTICS_TIMEOUT = env.float("DIAGNOSTICS_TIMEOUT", default=10.0)
# A test run no worker has finished this long after it was started is failed, and its page
# says why (no worker took it, or a step ran out of time); the worker stops it then too.
TEST_RUN_DEADLINE_SECONDS = env.float("TEST_RUN_DEADLINE_SECONDS", default=60.0)
# Ports where "Use TLS" means TLS from the first byte (465; Amazon SES also 2465);
# on any other port it means STARTTLS, required.
# A worker keeps a session open between batches for this long at most, and for this many
# messages (SES and others recycle hosts behind their load balancers).
SMTP_MAX_IDLE_SECONDS = env.float("SMTP_MAX_IDLE_SECONDS", default=60.0)
SMTP_MAX_MESSAGES_PER_SESSION = env.int("SMTP_MAX_MESSAGES_PER_SESSION", default=500)
# A server that offers CHUNKING and PIPELINING (Gmail, Exchange Online) gets each message of
# up to 64 KiB in one round trip, as BDAT (integrations/pipelined_send.py); off, DATA.
SMTP_CHUNKING = env.bool("SMTP_CHUNKING", default=True)
try:
    SMTP_IMPLICIT_TLS_PORTS = [
        int(p) for p in env.list("SMTP_IMPLICIT_TLS_PORTS", default=["465", "2465"])
    ]
except ValueError:
    raise environ.ImproperlyConfigured(
        "SMTP_IMPLICIT_TLS_PORTS must be port numbers separated by commas, e.g. 465,2465"
    ) from None
DELIVERY_RETRY_BASE_SECONDS = env.float("DELIVERY_RETRY_BASE_SECONDS", default=30.0)
DELIVERY_RETRY_MAX_SECONDS = env.float("DELIVERY_RETRY_MAX_SECONDS", default=3600.0)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=20)
# Seconds after queueing when a message that still failed is given up.
DELIVERY_MAX_AGE = env.float("DELIVERY_MAX_AGE", default=3 * 24 * 3600.0)
DELIVERY_LEASE_SECONDS = env.float("DELIVERY_LEASE_SECONDS", default=300.0)
DELIVERY_SWEEP_SECONDS = env.float("DELIVERY_SWEEP_SECONDS", default=30.0)
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=100)
# Within a batch, a worker saves what the server took after each message once this long has
# passed since its last save: a worker killed mid-batch repeats about this much sending (more
# when one message was slow). Each save is two statements and a commit.
DELIVERY_RECORD_SECONDS = env.float("DELIVERY_RECORD_SECONDS", default=0.05)
# The length of the window a "per minute" limit holds over: 60. Tests shrink it so that a
# limit held over every rolling window can be measured in seconds.
DELIVERY_RATE_MINUTE_SECONDS = env.float("DELIVERY_RATE_MINUTE_SECONDS", default=60.0)
# A provider's throttling reply pauses its integration for the time the provider documents
# (delivery/throttling.py); set, every pause lasts this many seconds instead (tests, drills).
DELIVERY_THROTTLE_PAUSE_SECONDS = env.float("DELIVERY_THROTTLE_PAUSE_SECONDS", default=None)
# send_email reuses a routing decision for this long (edits to integrations apply after it).
ROUTE_CACHE_SECONDS = env.float("ROUTE_CACHE_SECONDS", default=2.0)
DELIVERY_MAX_MESSAGE_BYTES = env.int("DELIVERY_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)

# --- HTTP API ----------------------------------------------------------------------------
# Requests per minute per API key (shared by every web process through Redis); a key can
# set its own in the admin.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)

# Webhooks: a failed POST is tried again after BASE, 2 x BASE, ... (at most MAX) seconds,
# WEBHOOK_MAX_ATTEMPTS times in all; each POST waits WEBHOOK_TIMEOUT_SECONDS for an answer.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=10.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=15)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="delivery.backends.QueuedEmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="")

# --- Bounces, complaints and the suppression list -----------------------------------------
# Beat polls every integration's bounce mailbox this often.
BOUNCE_POLL_SECONDS = env.float("BOUNCE_POLL_SECONDS", default=300.0)
# Soft bounces score as Mailman scores them (0.5 each, once a day per address; a score
# older than BOUNCE_SCORE_STALE_DAYS starts again); at the threshold the address is suppressed.
BOUNCE_SCORE_THRESHOLD = env.float("BOUNCE_SCORE_THRESHOLD", default=5.0)
BOUNCE_SCORE_STALE_DAYS = env.int("BOUNCE_SCORE_STALE_DAYS", default=7)
# The reasons that also stop transactional mail (scope "all"); the others stop marketing only.
SUPPRESS_TRANSACTIONAL_FOR = env.list("SUPPRESS_TRANSACTIONAL_FOR", default=["hard_bounce"])
# The IMAP flag a processed report gets when its integration names no folder to move it to.
BOUNCE_PROCESSED_FLAG = env.str("BOUNCE_PROCESSED_FLAG", default="\\Flagged")

CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {
        "task": "delivery.tasks.sweep_outbox",
        "schedule": DELIVERY_SWEEP_SECONDS,
    },
    "sweep-webhooks": {
        "task": "delivery.tasks.sweep_webhooks",
        "schedule": DELIVERY_SWEEP_SECONDS,
    },
    "poll-bounces": {
        "task": "delivery.tasks.poll_bounces",
        "schedule": BOUNCE_POLL_SECONDS,
    },
}

# Marked POST parameters and variables (integration secrets, the Gmail code) are hidden in
# error reports even when DEBUG is on.
DEFAULT_EXCEPTION_REPORTER_FILTER = "notifuse_smtp.error_reports.MarkedSecretsAlwaysHidden"

# --- Logging -----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise environ.ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "notifuse_smtp.logs.RedactingFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "notifuse_smtp.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- OAuth2 token cache ------------------------------------------------------------------
# Tokens are refreshed this many seconds before they expire.
OAUTH2_REFRESH_MARGIN_SECONDS = env.float("OAUTH2_REFRESH_MARGIN_SECONDS", default=300.0)
