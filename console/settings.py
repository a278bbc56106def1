"""Berth settings, read from the environment.

Every value has a default that runs out of the box on one machine (SQLite file,
Redis on localhost, the local dockerd). `BERTH_ENV=production` refuses to start
without a real SECRET_KEY. Any `NAME` can also be given as `NAME_FILE` (a path
whose contents are the value), for secrets mounted as files.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """The variable `name`, or the contents of the file named by `name_FILE`."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name, "")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(name: str, default: int) -> int:
    raw = env_str(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name, "")
    if raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


BERTH_ENV = env_str("BERTH_ENV", "development")
DEBUG = env_bool("DEBUG", BERTH_ENV != "production")

_DEV_SECRET_KEY = "berth-development-only-secret-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if BERTH_ENV == "production" and SECRET_KEY in ("", _DEV_SECRET_KEY):
    raise ImproperlyConfigured("SECRET_KEY must be set (or SECRET_KEY_FILE) when BERTH_ENV=production")

# The key that encrypts stored secrets (registry passwords, tokens). Separate from
# SECRET_KEY so that rotating sessions does not make stored secrets unreadable.
BERTH_ENCRYPTION_KEY = env_str("BERTH_ENCRYPTION_KEY", SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"] if DEBUG else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "deployments",
    "console",
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
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "console.urls"

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
                "console.context_processors.workspace",
            ],
        },
    },
]

WSGI_APPLICATION = "console.wsgi.application"

_default_db = f"sqlite:///{env_str('BERTH_SQLITE_PATH', str(BASE_DIR / 'var' / 'berth.sqlite3'))}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout so the web process and workers do not trip over each
    # other's writes with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, not memory, so the worker and prober processes they start share it.
    # The pid keeps concurrent test runs on one machine apart.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("BERTH_TEST_SQLITE_PATH", str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3"))
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "deployments.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "deployments.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Berth API",
    "DESCRIPTION": "Deploy model services from custom container images, EAS-style.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets come from the installed sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Endpoints shown to users (the gateway joins in a later issue).
BERTH_INTERNET_ENDPOINT = env_str("BERTH_INTERNET_ENDPOINT", "http://127.0.0.1:9000")
BERTH_INTRANET_ENDPOINT = env_str("BERTH_INTRANET_ENDPOINT", "http://127.0.0.1:9000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- deploy engine ---------------------------------------------------------------------------
# Labels every container this installation makes; reconcile only touches its own, so two
# installations (or two test runs) can share a Docker engine.
BERTH_INSTALLATION = env_str("BERTH_INSTALLATION", "berth")
# The local Docker engine `make run` registers as host "local".
BERTH_LOCAL_DOCKER_URL = env_str("BERTH_LOCAL_DOCKER_URL", "unix:///var/run/docker.sock")
# A new version that has not become ready within this many seconds is marked failed.
BERTH_ROLLOUT_TIMEOUT = env_int("BERTH_ROLLOUT_TIMEOUT", 600)
# A convergence lock left by a killed worker expires after this many seconds.
BERTH_CONVERGE_LOCK_TIMEOUT = env_int("BERTH_CONVERGE_LOCK_TIMEOUT", 60)
# Seconds between reconcile passes (Celery beat).
BERTH_RECONCILE_INTERVAL = env_int("BERTH_RECONCILE_INTERVAL", 10)
# Restart back-off: first delay and cap, in seconds.
BERTH_RESTART_BACKOFF = env_int("BERTH_RESTART_BACKOFF", 2)
BERTH_RESTART_BACKOFF_MAX = env_int("BERTH_RESTART_BACKOFF_MAX", 300)
# A CA bundle mounted into containers that install Python requirements (for hosts behind a TLS proxy).
BERTH_EXTRA_CA_BUNDLE = env_str("BERTH_EXTRA_CA_BUNDLE", "")

# Seconds between autoscaler / cron scaler steps (Celery beat).
BERTH_AUTOSCALE_INTERVAL = env_int("BERTH_AUTOSCALE_INTERVAL", 1)

CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "deployments.tasks.reconcile", "schedule": float(BERTH_RECONCILE_INTERVAL)},
    "autoscale": {"task": "deployments.tasks.autoscale", "schedule": float(BERTH_AUTOSCALE_INTERVAL)},
}

# --- gateway ---------------------------------------------------------------------------------
# The data plane is HAProxy, driven by `manage.py gateway` (deployments/gateway/). Everything the
# controller writes (haproxy.cfg, map files holding tokens, sockets) lives in BERTH_GATEWAY_DIR,
# mode 0700, files 0600.
BERTH_GATEWAY_DIR = Path(env_str("BERTH_GATEWAY_DIR", str(BASE_DIR / "var" / "gateway")))
BERTH_GATEWAY_BIND = env_str("BERTH_GATEWAY_BIND", "127.0.0.1")
BERTH_GATEWAY_HTTP_PORT = env_int("BERTH_GATEWAY_HTTP_PORT", 9000)  # matches BERTH_*_ENDPOINT's default
BERTH_GATEWAY_GRPC_PORT = env_int("BERTH_GATEWAY_GRPC_PORT", 9001)  # h2c, for metadata.enable_grpc services
# Endpoints shown to users follow the gateway's port unless they are set explicitly.
if not env_str("BERTH_INTERNET_ENDPOINT"):
    BERTH_INTERNET_ENDPOINT = f"http://127.0.0.1:{BERTH_GATEWAY_HTTP_PORT}"
if not env_str("BERTH_INTRANET_ENDPOINT"):
    BERTH_INTRANET_ENDPOINT = f"http://127.0.0.1:{BERTH_GATEWAY_HTTP_PORT}"
# The domain gRPC clients put after the service label in :authority (<service>.<domain>); display only.
BERTH_GATEWAY_GRPC_DOMAIN = env_str("BERTH_GATEWAY_GRPC_DOMAIN", "grpc.berth.local")
BERTH_GATEWAY_HAPROXY = env_str("BERTH_GATEWAY_HAPROXY", "/usr/sbin/haproxy")
# Requests with a larger Content-Length get 413.
BERTH_GATEWAY_MAX_BODY_BYTES = env_int("BERTH_GATEWAY_MAX_BODY_BYTES", 100 * 1024 * 1024)
# Request timeout when a service sets no metadata.rpc.keepalive (EAS's dedicated-gateway default).
BERTH_GATEWAY_DEFAULT_TIMEOUT_MS = env_int("BERTH_GATEWAY_DEFAULT_TIMEOUT_MS", 600_000)
# A PEM file (certificate chain + key): when set, both listeners speak TLS.
BERTH_GATEWAY_TLS_CERT = env_str("BERTH_GATEWAY_TLS_CERT", "")
# Answer CORS preflights and allow cross-origin reads (tokens are never ambient credentials).
BERTH_GATEWAY_CORS = env_bool("BERTH_GATEWAY_CORS", True)
# Seconds between DB polls of the controller, and between traffic samples.
BERTH_GATEWAY_TICK = float(env_str("BERTH_GATEWAY_TICK", "0.5"))
BERTH_GATEWAY_METRICS_INTERVAL = env_int("BERTH_GATEWAY_METRICS_INTERVAL", 10)
BERTH_GATEWAY_METRICS_RETENTION_HOURS = env_int("BERTH_GATEWAY_METRICS_RETENTION_HOURS", 7 * 24)
# Old HAProxy workers keep in-flight requests (and WebSockets) this long after a reload.
BERTH_GATEWAY_HARD_STOP_AFTER = env_str("BERTH_GATEWAY_HARD_STOP_AFTER", "15m")
# When set, GET /metrics (Prometheus) needs "Authorization: Bearer <this>".
BERTH_METRICS_TOKEN = env_str("BERTH_METRICS_TOKEN", "")

# --- storage ---
# storage[] mounts (deployments/storage*.py). Host paths (a Berth extension) may only be mounted from
# under these absolute directories of the Docker hosts; empty (the default) turns host paths off.
BERTH_HOST_PATH_ROOTS = env_list("BERTH_HOST_PATH_ROOTS", [])
for _root in BERTH_HOST_PATH_ROOTS:
    if not _root.startswith("/"):
        raise ImproperlyConfigured(f"BERTH_HOST_PATH_ROOTS: {_root!r} is not an absolute path")
# A PEM file of extra CAs the worker trusts (besides the system's) when it clones git repositories
# and downloads from object stores: self-hosted git or MinIO behind a private CA.
BERTH_STORAGE_CA_BUNDLE = env_str("BERTH_STORAGE_CA_BUNDLE", "")
# Objects downloaded at once for an oss mount, and seconds between progress events.
BERTH_STORAGE_DOWNLOAD_THREADS = env_int("BERTH_STORAGE_DOWNLOAD_THREADS", 8)
BERTH_STORAGE_PROGRESS_SECONDS = env_int("BERTH_STORAGE_PROGRESS_SECONDS", 5)
# A git clone taking longer than this (seconds) fails the instance.
BERTH_STORAGE_TIMEOUT = env_int("BERTH_STORAGE_TIMEOUT", 1800)
BERTH_GIT_BINARY = env_str("BERTH_GIT_BINARY", "git")
# --- end storage ---
