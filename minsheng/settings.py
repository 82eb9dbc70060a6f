"""Django settings for minsheng — every value comes from the environment.

Each variable is documented in docs/settings.md; keep the two in step. Without any variable set,
minsheng runs as the embedded default: SQLite in ``var/``, tasks inline, SMS codes printed to the
console and written to ``var/sms-outbox``.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from minsheng.env import ConfigError, env_bool, env_int, env_list, env_str, read_or_create_secret

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("MINSHENG_DATA_DIR", str(BASE_DIR / "var")) or "var").resolve()

# "development" (the embedded default), "test" or "production".
ENVIRONMENT = env_str("MINSHENG_ENV", "development") or "development"
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ConfigError(f"MINSHENG_ENV={ENVIRONMENT!r}: use development, test or production")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("MINSHENG_DEBUG", default=False)

_secret = env_str("SECRET_KEY")
if _secret is None:
    if PRODUCTION:
        raise ConfigError("SECRET_KEY (or SECRET_KEY_FILE) must be set in production")
    _secret = read_or_create_secret(DATA_DIR / "secret_key")
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "minsheng",
    "accounts",
    "vault",
    "audit",
    "org",
    "portal",
    "workbench",
    "appeals",
    "open311",
    "search",
    "kpi",
    "lexicon",
    "sources",
    "opinion",
    "surveys",
    "consult",
    "exemplars",
    "grassroots",
    "integrity",
    "powers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that may answer early (static files, the second-factor hold, redirects),
    # so every response carries the content security policy and the other headers.
    "minsheng.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "minsheng.middleware.RequestIdMiddleware",
    "minsheng.outage.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.second_factor.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "minsheng.urls"
WSGI_APPLICATION = "minsheng.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workbench:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "minsheng" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "minsheng.context.site",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    # Health checks: a pooled connection cut by a restart is noticed at the start of the next
    # request and reopened, instead of failing that request.
    DATABASES = {
        "default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            "OPTIONS": {
                # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock
                # at BEGIN so two writers queue instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Seconds a client is told to wait (Retry-After) when the database is unreachable for a moment
# (restart, fail-over): the request is answered 503 instead of 500 (minsheng/outage.py).
OUTAGE_RETRY_AFTER = env_int("MINSHENG_OUTAGE_RETRY_AFTER", 5)
if OUTAGE_RETRY_AFTER < 1:
    raise ConfigError(f"MINSHENG_OUTAGE_RETRY_AFTER must be 1 or more, not {OUTAGE_RETRY_AFTER}")

# --- cache and background work -----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Falls back to per-process memory while Redis is unreachable (minsheng/cache.py), with short
    # socket timeouts so an outage costs milliseconds, not the intake.
    CACHES = {
        "default": {
            "BACKEND": "minsheng.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
# Without a broker, tasks run inline in the process that queues them (the embedded default).
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
# Fail fast when the broker is away: the message then waits in the outbox (minsheng/outbox.py).
# A message taken by a worker that died is handed out again after this many seconds (Redis
# broker; Celery's default is an hour). Keep it above the longest task's run time.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "visibility_timeout": env_int("MINSHENG_BROKER_VISIBILITY_TIMEOUT", 3600),
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = "Asia/Shanghai"
# Periodic jobs (minsheng/periodic.py): celery beat queues them when a broker is configured; the
# serving process runs them itself when MINSHENG_SCHEDULER is "on", or "auto" with no broker.
SCHEDULER = env_str("MINSHENG_SCHEDULER", "auto") or "auto"
if SCHEDULER not in {"auto", "on", "off"}:
    raise ConfigError(f"MINSHENG_SCHEDULER must be auto, on or off, not {SCHEDULER!r}")
from minsheng.periodic import JOBS as _JOBS  # noqa: E402  (Django-free: the job tables only)
from minsheng.periodic import at_interval, beat_schedule  # noqa: E402
from sources.scheduler import JOBS as _SOURCE_JOBS  # noqa: E402

# Beat polls the 舆情 sources too; the embedded thread polls them only when asked
# (MINSHENG_SOURCES_POLL, sources/scheduler.py): a checkout should not call outside sites unasked.
# One interval for every periodic job instead of each one's own (0: their own); for drills and the
# deployment test, which must see beat fire within seconds.
PERIODIC_SECONDS = env_int("MINSHENG_PERIODIC_SECONDS", 0)
if PERIODIC_SECONDS < 0:
    raise ConfigError(f"MINSHENG_PERIODIC_SECONDS must be 0 or more, not {PERIODIC_SECONDS}")
CELERY_BEAT_SCHEDULE = beat_schedule(at_interval(_JOBS + _SOURCE_JOBS, PERIODIC_SECONDS))

# --- passwords and sign-in ---------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_MAX_FAILURES = env_int("MINSHENG_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("MINSHENG_LOGIN_LOCKOUT_MINUTES", 15)
OTP_TTL_SECONDS = env_int("MINSHENG_OTP_TTL_SECONDS", 300)
# Dotted path of the SMS backend: console, file, or a real gateway implementing the interface.
SMS_BACKEND = env_str("MINSHENG_SMS_BACKEND", "accounts.sms.ConsoleAndFileBackend")
SMS_OUTBOX_DIR = DATA_DIR / "sms-outbox"
# accounts.sms.HttpGatewayBackend: the URL it POSTs to and the key it sends as a bearer token.
SMS_GATEWAY_URL = env_str("MINSHENG_SMS_GATEWAY_URL", "") or ""
SMS_GATEWAY_API_KEY = env_str("MINSHENG_SMS_GATEWAY_API_KEY", "") or ""
SMS_GATEWAY_TIMEOUT = env_int("MINSHENG_SMS_GATEWAY_TIMEOUT", 10)

# --- personal-data vault -------------------------------------------------------------------------
# Base64 of a 32-byte key; several keys separated by commas, the first one used for new writes.
VAULT_KEYS = env_str("MINSHENG_VAULT_KEYS")
VAULT_KEY_FILE = DATA_DIR / "vault.key"
# Key of the blind indexes (lookup hashes); separate so that rotating VAULT_KEYS keeps lookups valid.
VAULT_INDEX_KEY = env_str("MINSHENG_VAULT_INDEX_KEY")
VAULT_INDEX_KEY_FILE = DATA_DIR / "vault-index.key"

# --- working calendar ----------------------------------------------------------------------------
# Office hours on working days, Beijing time: "09:00-12:00,13:30-17:30" (the default).
MINSHENG_WORKDAY_HOURS = tuple(
    tuple(period.split("-", 1))
    for period in env_list("MINSHENG_WORKDAY_HOURS", ["09:00-12:00", "13:30-17:30"])
)

# --- audit ---------------------------------------------------------------------------------------
# Days the audit trail (and the access log in it) is kept at the least: six months by law, more
# if asked. The trail is append-only, so nothing purges it; any future archiving must keep this.
AUDIT_RETENTION_DAYS = env_int("MINSHENG_AUDIT_RETENTION_DAYS", 183)
if AUDIT_RETENTION_DAYS < 183:
    raise ConfigError(
        f"MINSHENG_AUDIT_RETENTION_DAYS={AUDIT_RETENTION_DAYS}: audit entries and logs must be "
        "kept at least 183 days (six months); only a longer period may be set"
    )

# --- appeals -------------------------------------------------------------------------------------
# Days after closing (or after the callback) in which the citizen may reopen an appeal.
APPEAL_REOPEN_DAYS = env_int("MINSHENG_APPEAL_REOPEN_DAYS", 7)
# Photos of one appeal: how many, and the largest file accepted (re-encoded without EXIF/GPS).
APPEAL_PHOTOS_MAX = env_int("MINSHENG_APPEAL_PHOTOS_MAX", 6)
APPEAL_PHOTO_MAX_BYTES = env_int("MINSHENG_APPEAL_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
# Duplicates: open appeals of the last N days are compared with a new one; text similarity
# (0-1, textkit.dedupe) from which it is flagged, and the distance beyond which it is not.
APPEAL_DUPLICATE_DAYS = env_int("MINSHENG_APPEAL_DUPLICATE_DAYS", 30)
APPEAL_DUPLICATE_THRESHOLD = float(env_str("MINSHENG_APPEAL_DUPLICATE_THRESHOLD", "0.3") or 0.3)
APPEAL_DUPLICATE_DISTANCE_M = env_int("MINSHENG_APPEAL_DUPLICATE_DISTANCE_M", 500)
# Repeated claims: similarity (0-1, character pairs) to one of the same citizen's concluded
# appeals from which a new appeal is put to the handler as a repeat (docs/repeats.md).
APPEAL_REPEAT_THRESHOLD = float(env_str("MINSHENG_APPEAL_REPEAT_THRESHOLD", "0.3") or 0.3)
# Appeals one address may submit through the API per hour without an API token (then 429 with
# Retry-After); 0 turns the limit off (load tests). The web form has its own, smaller budget.
APPEAL_API_SUBMITS_PER_IP_PER_HOUR = env_int("MINSHENG_APPEAL_API_SUBMITS_PER_IP_PER_HOUR", 120)

# --- Open311 GeoReport v2 ----------------------------------------------------------------------
# The jurisdiction_id clients must send (empty: the root unit's code); the contact shown in
# discovery; requests one client may post per minute.
OPEN311_JURISDICTION = env_str("MINSHENG_OPEN311_JURISDICTION", "") or ""
OPEN311_CONTACT = env_str("MINSHENG_OPEN311_CONTACT", "") or ""
OPEN311_POSTS_PER_MINUTE = env_int("MINSHENG_OPEN311_POSTS_PER_MINUTE", 120)

# --- questionnaires -----------------------------------------------------------------------------
# Anonymous responses one browser and address may send to one questionnaire per hour.
MINSHENG_SURVEY_ANONYMOUS_PER_HOUR = env_int("MINSHENG_SURVEY_ANONYMOUS_PER_HOUR", 30)

# --- i18n ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "minsheng" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- request limits and security -----------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MINSHENG_MAX_BODY_BYTES", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("MINSHENG_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("MINSHENG_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- logging -------------------------------------------------------------------------------------
# Error reports (admins' e-mail, the debug 500 page) quote request data: phone and ID numbers in
# them are masked like in the logs.
DEFAULT_EXCEPTION_REPORTER = "minsheng.logs.RedactingExceptionReporter"
LOG_LEVEL = env_str("MINSHENG_LOG_LEVEL", "INFO") or "INFO"
LOG_FORMAT = env_str("MINSHENG_LOG_FORMAT", "json") or "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "minsheng.logs.RedactPersonalData"}},
    "formatters": {
        "json": {"()": "minsheng.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "INFO"},
    },
}

SITE_NAME = _("民声")
