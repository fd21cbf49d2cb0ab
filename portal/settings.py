"""Settings for the controller and portal.

Two runtime modes, chosen by environment variables (see docs/architecture.md):
embedded (a SQLite file in the state dir, in-memory channel layer) and
production (``DROVER_DATABASE_URL`` on PostgreSQL, ``DROVER_REDIS_URL`` for
Channels, Celery and the cache).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import platformdirs

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("DROVER_STATE_DIR") or platformdirs.user_data_dir("drover"))
STATE_DIR.mkdir(parents=True, exist_ok=True)
KEY_FILE = Path(os.environ.get("DROVER_KEY_FILE") or STATE_DIR / "cluster.key")
REDIS_URL = os.environ.get("DROVER_REDIS_URL", "")
# Lets clusters (or test runs) share one Redis database without hearing each other.
REDIS_PREFIX = os.environ.get("DROVER_REDIS_PREFIX", "drover:")
EMBEDDED = not REDIS_URL


def _cluster_key() -> bytes:
    """The cluster key signs agent credentials and JWTs; created on first use."""
    from nodeagent import protocol

    if not KEY_FILE.exists():
        protocol.write_key(KEY_FILE)
    return protocol.load_key(KEY_FILE)


CLUSTER_KEY = _cluster_key()
SECRET_KEY = os.environ.get("DROVER_SECRET_KEY") or CLUSTER_KEY.hex()
DEBUG = os.environ.get("DROVER_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DROVER_ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DROVER_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "accounting",
    "scheduler",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.rpcstats.RpcStatsMiddleware",  # last: it times the view alone
]

ROOT_URLCONF = "portal.urls"
APPEND_SLASH = False
ASGI_APPLICATION = "portal.asgi.application"

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

_db_url = os.environ.get("DROVER_DATABASE_URL") or f"sqlite:///{STATE_DIR / 'drover.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(_db_url)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the portal read while the scheduler writes; IMMEDIATE avoids
    # lock-upgrade deadlocks between the loop thread and request threads.
    # Connections last: the threads that use them do (portal/request_threads.py).
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    # A pool, not persistent connections: under ASGI every request thread would
    # keep a connection of its own and exhaust max_connections.
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 16, "timeout": 30}}

if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}asgi"},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": REDIS_PREFIX}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    "scheduling-cycle": {"task": "scheduler.tasks.schedule", "schedule": 5.0,
                         "options": {"expires": 5.0}},
    "node-health": {"task": "scheduler.tasks.check_nodes", "schedule": 10.0,
                    "options": {"expires": 10.0}},
}

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TZ", "UTC")
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"  # `drover migrate` collects into it
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# JWTs for the commands and REST clients (`scontrol token lifespan=S`).
JWT_DEFAULT_LIFESPAN_S = int(os.environ.get("DROVER_JWT_LIFESPAN", str(24 * 3600)))
# The longest token a user may mint for themselves (operators: any); 0: no limit. Without
# one, any token (a stolen one too) could be traded for one that never expires.
JWT_MAX_LIFESPAN_S = int(os.environ.get("DROVER_JWT_MAX_LIFESPAN", str(7 * 24 * 3600)))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.auth.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {"TITLE": "Drover API", "VERSION": "0.1.0"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DROVER_LOG_LEVEL", "WARNING")},
}
