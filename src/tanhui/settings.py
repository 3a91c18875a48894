"""Django settings for tanhui.

Everything that differs between machines comes from the environment:
- TANHUI_HOME (default ./var): embedded SQLite database, generated secrets, uploaded and exported files.
- TANHUI_DATABASE_URL: postgresql://… to use PostgreSQL instead of the embedded SQLite.
- TANHUI_DEBUG=1 for development.
- TANHUI_CACHE_URL: redis://… for a Redis cache shared by the servers (default: each process's memory).
- TANHUI_TLS=1 when the site is served over HTTPS (HSTS, secure cookies, redirect to https).
- TANHUI_RATE_LIMITS: JSON object overriding rate limits by scope, e.g. {"api_anon": "6000/m"}.
See docs/security.md.
"""

import json
import os
from pathlib import Path

import dj_database_url

from tanhui.core.secrets import load_or_create_secrets

BASE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("TANHUI_HOME", "var")).resolve()
HOME.mkdir(parents=True, exist_ok=True)

SECRETS = load_or_create_secrets(HOME / "secrets.json")
SECRET_KEY = SECRETS["django_secret_key"]
DEBUG = os.environ.get("TANHUI_DEBUG") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("TANHUI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "tanhui.core",
    "tanhui.people",
    "tanhui.methodology",
    "tanhui.ledger",
    "tanhui.ingest",
    "tanhui.synth",
    "tanhui.supervision",
    "tanhui.portal",
    "tanhui.dashboard",
    "tanhui.rewards",
    "tanhui.engagement",
    "tanhui.registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tanhui.portal.middleware.ContentSecurityPolicyMiddleware",
    "tanhui.portal.middleware.StaffActionAuditMiddleware",
]

ROOT_URLCONF = "tanhui.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "tanhui.wsgi.application"

DATABASE_URL = os.environ.get("TANHUI_DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": HOME / "tanhui.sqlite3",
            "OPTIONS": {
                # WAL lets the web site read while a batch is being written. Checkpointing every 10,000
                # pages (≈ 40 MB of WAL) rather than SQLite's 1,000 keeps a checkpoint out of nearly
                # every commit of a large batch (ledger batches of 10,000: commit 30 → 12 ms).
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
                                 "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY; "
                                 "PRAGMA wal_autocheckpoint=10000;"),
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": HOME / "test.sqlite3"},
        }
    }

# Rate-limit counts are shared by every worker process: in the database (core.RateCounter) by default,
# in Redis when configured (TANHUI_CACHE_URL=redis://host:6379/0; needs the `redis` package, which
# tanhui does not install). Without Redis the cache is Django's per-process memory (the dashboard's
# snapshot).
CACHE_URL = os.environ.get("TANHUI_CACHE_URL", "")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "TIMEOUT": 3600}}

# Requests per client IP, phone, user or API key ("count/period", see tanhui.core.ratelimit).
TANHUI_RATE_LIMITS = {
    "login_ip": "30/10m",  # password logins (portal and admin) per client IP
    "sms_send_phone": "5/h",  # SMS codes per phone number (besides one per minute)
    "sms_send_ip": "20/h",  # SMS codes per client IP
    "sms_verify_ip": "30/10m",  # SMS code logins per client IP
    "coupon_verify": "60/m",  # coupon verifications per merchant staff user (page and API)
    "api_key": "12000/m",  # the whole API, per provider API key
    "api_user": "1200/m",  # the whole API, per signed-in user
    "api_anon": "600/m",  # the whole API, per client IP without a login
    **json.loads(os.environ.get("TANHUI_RATE_LIMITS", "{}")),
}
# Reverse proxies in front of the site whose X-Forwarded-For is trusted for the client IP.
TANHUI_PROXY_COUNT = int(os.environ.get("TANHUI_PROXY_COUNT", "0"))
# Failed logins (password per account name, SMS code per phone) within `window` seconds after which
# that login is locked for `lock` seconds.
TANHUI_LOGIN_LOCKOUT = {"failures": 5, "window": 15 * 60, "lock": 15 * 60}

AUTH_USER_MODEL = "people.User"
AUTHENTICATION_BACKENDS = ["tanhui.people.auth.PhoneBackend", "tanhui.people.auth.StaffBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:start"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = HOME / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
TLS = os.environ.get("TANHUI_TLS") == "1"
if TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# One-time login codes go through a pluggable sender; the default writes to the console log.
TANHUI_SMS_BACKEND = os.environ.get("TANHUI_SMS_BACKEND", "tanhui.people.sms.ConsoleSender")
TANHUI_REGION = os.environ.get("TANHUI_REGION", "SZ")
# Points expire after this many days (Shenzhen's rules allow at most 10 years); oldest first.
TANHUI_POINTS_EXPIRE_DAYS = int(os.environ.get("TANHUI_POINTS_EXPIRE_DAYS", "1095"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
