"""Filum settings: one module, driven by environment variables with safe development defaults.

Production sets FILUM_DEBUG=0, FILUM_SECRET_KEY, FILUM_ALLOWED_HOSTS and FILUM_SECURE_COOKIES=1.
The database comes from DATABASE_URL; without it, the embedded PostgreSQL started by the run
command (see filum/embedded_db.py) is used.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.utils.translation import gettext_lazy as _
from pghistory.config import ForeignKey as EventForeignKey

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, object]:
    """Translate a postgresql:// URL (TCP or ?host=/socket/dir) into Django's DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {parsed.scheme!r}")
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or ""])[0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "filum",
        "USER": unquote(parsed.username or "") or query.get("user", [""])[0],
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or query.get("port", [""])[0] or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
    }


def _default_database_url() -> str:
    uri_file = BASE_DIR / "var" / "pg" / "uri"
    if uri_file.exists():
        return uri_file.read_text().strip()
    return "postgresql://postgres@127.0.0.1:5432/filum"


def _embedded_url(name: str) -> str:
    """A URI the embedded server wrote next to its data (var/pg/app_uri), or ""."""
    uri_file = BASE_DIR / "var" / "pg" / name
    return uri_file.read_text().strip() if uri_file.exists() else ""


DEBUG = env_bool("FILUM_DEBUG", False)
SECRET_KEY = os.environ.get(
    "FILUM_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("FILUM_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
SECURE_COOKIES = env_bool("FILUM_SECURE_COOKIES", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # its Swagger UI, served from our static files (the API docs)
    "filum.tenancy",
    "filum.people",
    "filum.cases",
    "filum.journal",
    "filum.followup",
    "filum.documents",
    "filum.assessments",
    "filum.plans",
    "filum.cii",
    "filum.exchange",
    "filum.records",
    "filum.steering",
    "filum.web",
    "filum.demo",
    "filum.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "filum.tenancy.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "filum.web.probes.ProbeMiddleware",
    "filum.tenancy.middleware.LoginRequiredMiddleware",
    "filum.tenancy.middleware.SessionTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "filum.tenancy.middleware.ActorMiddleware",
    "filum.tenancy.middleware.MfaRequiredMiddleware",
    "filum.records.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "filum.web.middleware.SecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "filum.urls"
WSGI_APPLICATION = "filum.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "filum.web.context_processors.actor",
            ],
            "string_if_invalid": os.environ.get("FILUM_TEMPLATE_INVALID", ""),
        },
    }
]

# Two database roles (R28, decision 0006): DATABASE_URL is the app's own role, which may only
# read and append to the audit tables; FILUM_DB_OWNER_URL is the role owning the tables, used by
# migrate, seed_demo and bench (filum/records/roles.py). Without DATABASE_URL, the embedded
# server's URIs are used (var/pg/app_uri as the app, var/pg/uri as the owner).
_APP_URL = os.environ.get("DATABASE_URL") or _embedded_url("app_uri")
_OWNER_URL = os.environ.get("FILUM_DB_OWNER_URL") or (
    "" if os.environ.get("DATABASE_URL") or not _APP_URL else _default_database_url()
)
DATABASES = {"default": database_from_url(_APP_URL or _default_database_url())}
DATABASE_OWNER = database_from_url(_OWNER_URL) if _OWNER_URL else None
# the role the post-migrate grants are for: DATABASE_URL's user when an owner is configured
DB_APP_ROLE = os.environ.get("FILUM_DB_APP_ROLE") or (
    str(DATABASES["default"]["USER"]) if DATABASE_OWNER else "filum_app"
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenancy.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "filum.tenancy.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout (R2): per username and IP, with a cool-off rather than a permanent lock.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "tenancy/locked_out.html"
AXES_VERBOSE = False

# Sessions (R6, R7, R8): idle timeout and absolute lifetime are enforced by middleware.
SESSION_ENGINE = "filum.tenancy.sessions"
SESSION_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("FILUM_SESSION_IDLE_MINUTES", "30")))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=10)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("FILUM_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Strict CSP (R40): no inline script or style, everything served by the app itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# API tokens: requests per token per fixed window (decision 0028).
FILUM_API_RATE_LIMIT = int(os.environ.get("FILUM_API_RATE_LIMIT", "300"))
FILUM_API_RATE_WINDOW_SECONDS = 60

# Oversized posts are refused before they reach a form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Zurich"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BASE_DIR / "var" / "documents")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

TASKS = {
    "default": {
        "BACKEND": os.environ.get("FILUM_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

EMAIL_BACKEND = os.environ.get(
    "FILUM_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("FILUM_FROM_EMAIL", "filum@localhost")
# for FILUM_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
EMAIL_HOST = os.environ.get("FILUM_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("FILUM_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("FILUM_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("FILUM_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("FILUM_EMAIL_TLS", False)
# Links in e-mails (invitations, password resets) start with this, e.g. https://filum.example.ch
PUBLIC_URL = os.environ.get("FILUM_PUBLIC_URL", "").rstrip("/")
# The class that sends text messages (a provider's link, A8): the dotted path of a class with
# ``send(*, to, body)``. The default writes them to standard output (filum/assessments/sms.py).
FILUM_SMS_SENDER = os.environ.get("FILUM_SMS_SENDER", "filum.assessments.sms.ConsoleSender")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # the tokens of providers' links stay out of the logs (R27, filum/assessments/logs.py)
    "filters": {"link_tokens": {"()": "filum.assessments.logs.MaskLinkTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"filters": ["link_tokens"]},
        "django.security.csrf": {"filters": ["link_tokens"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("FILUM_LOG_LEVEL", "WARNING")},
}

# Audit rows can be inserted and read, never changed or deleted (R28).
PGHISTORY_APPEND_ONLY = True

# Readiness (/readyz, filum/web/probes.py): free space wanted where documents are stored, and
# how recent the task worker's heartbeat must be (it beats every 15 seconds).
READYZ_MIN_FREE_DISK_MB = int(os.environ.get("FILUM_MIN_FREE_DISK_MB", "500"))
READYZ_WORKER_STALE_SECONDS = int(os.environ.get("FILUM_WORKER_STALE_SECONDS", "60"))

# The canton's anonymised dataset (D6, X3; docs/canton-dataset.md): where the nightly extract
# writes its Parquet files, and each canton's pseudonym key (FILUM_CANTON_KEY_BE=<64+ hex>).
# With FILUM_CANTON_KEYS_REQUIRED=1 an extract without its canton's key stops instead of
# deriving a development key from SECRET_KEY.
CANTON_DATASET_DIR = Path(
    os.environ.get("FILUM_CANTON_DATASET_DIR", str(BASE_DIR / "var" / "canton-dataset"))
)
CANTON_DATASET_KEYS = {
    name.removeprefix("FILUM_CANTON_KEY_"): value
    for name, value in os.environ.items()
    if name.startswith("FILUM_CANTON_KEY_") and value
}
CANTON_DATASET_KEYS_REQUIRED = env_bool("FILUM_CANTON_KEYS_REQUIRED", False)

# The event tables' copies of foreign keys are not indexed (decision 0038, round 2): nothing
# searches the audit by them. The indexes the audit's queries use are declared where models
# are tracked (filum.records.tracking.audited).
PGHISTORY_FOREIGN_KEY_FIELD = EventForeignKey(db_index=False)
