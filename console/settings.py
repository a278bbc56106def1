"""Berth settings, read from the environment.

Every value has a default that runs out of the box on one machine (SQLite file,
Redis on localhost, the local dockerd); keys not given are generated into private
files under var/ (docs/backup.md). `BERTH_ENV=production` refuses to start without
a real SECRET_KEY, and with short or published keys. Any `NAME` can also be given as `NAME_FILE` (a path
whose contents are the value), for secrets mounted as files.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from deployments import keyfiles

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
# Off unless asked for (DEBUG=1): a debug page shows settings and code to whoever reaches the port.
DEBUG = env_bool("DEBUG", False)

# Generated secrets live here, files 0600 in a 0700 directory; `manage.py backup` carries them.
BERTH_VAR_DIR = keyfiles.private_dir(Path(env_str("BERTH_VAR_DIR", str(BASE_DIR / "var"))))
BERTH_SECRET_KEY_FILE = BERTH_VAR_DIR / "secret_key"
BERTH_ENCRYPTION_KEY_FILE = BERTH_VAR_DIR / "encryption_key"

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY and BERTH_ENV == "production":
    # Several machines must share one SECRET_KEY: production never generates its own.
    raise ImproperlyConfigured("SECRET_KEY must be set (or SECRET_KEY_FILE) when BERTH_ENV=production")
SECRET_KEY = SECRET_KEY or keyfiles.read_or_create_key(BERTH_SECRET_KEY_FILE)

# The key that encrypts stored secrets (registry passwords, tokens). Separate from SECRET_KEY so that
# rotating sessions does not make stored secrets unreadable. From the environment, else the key file.
BERTH_ENCRYPTION_KEY = env_str("BERTH_ENCRYPTION_KEY", "")
BERTH_ENCRYPTION_KEY_FROM_FILE = not BERTH_ENCRYPTION_KEY
BERTH_ENCRYPTION_KEY = BERTH_ENCRYPTION_KEY or keyfiles.read_or_create_key(BERTH_ENCRYPTION_KEY_FILE)
# Keys accepted for reading only, while `manage.py rotate_encryption_key` re-encrypts under the new one.
BERTH_ENCRYPTION_OLD_KEYS = keyfiles.split_keys(env_str("BERTH_ENCRYPTION_OLD_KEYS", ""))
# Before key files, the encryption key defaulted to SECRET_KEY, which defaulted to a public constant.
# Secrets an older install stored that way stay readable (read only, with a warning to rotate), as do
# secrets under a key a cut-short rotation parked.
BERTH_ENCRYPTION_LEGACY_KEYS = (
    [keyfiles.LEGACY_DEV_SECRET_KEY, SECRET_KEY, *keyfiles.parked_keys(BERTH_ENCRYPTION_KEY_FILE)]
    if BERTH_ENCRYPTION_KEY_FROM_FILE
    else []
)
if BERTH_ENV == "production":
    keyfiles.check_strong("SECRET_KEY", SECRET_KEY)
    keyfiles.check_strong("BERTH_ENCRYPTION_KEY", BERTH_ENCRYPTION_KEY)

# Derived from the address `make run` serves on (BERTH_BIND) unless set.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", keyfiles.allowed_hosts_for_bind(env_str("BERTH_BIND", "127.0.0.1:8000")))
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

_default_db = f"sqlite:///{env_str('BERTH_SQLITE_PATH', str(BERTH_VAR_DIR / 'berth.sqlite3'))}"
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
    keyfiles.private_sqlite_file(DATABASES["default"]["NAME"])
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
    # DRF's defaults, with a JSON parser that answers too-deep nesting with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "deployments.api.parsers.DepthSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
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
# A reconcile pass waits this long for all hosts' info + list answers (read in parallel), then goes on without the late ones.
BERTH_RECONCILE_HOST_TIMEOUT = float(env_str("BERTH_RECONCILE_HOST_TIMEOUT", "5"))
# Restart back-off: first delay and cap, in seconds.
BERTH_RESTART_BACKOFF = env_int("BERTH_RESTART_BACKOFF", 2)
BERTH_RESTART_BACKOFF_MAX = env_int("BERTH_RESTART_BACKOFF_MAX", 300)
# A CA bundle mounted into containers that install Python requirements (for hosts behind a TLS proxy).
BERTH_EXTRA_CA_BUNDLE = env_str("BERTH_EXTRA_CA_BUNDLE", "")
# Teardowns (stop, delete, scale down) run on their own Celery queue and worker, so a slow one never
# holds the slots other tenants' deploys need (docs/engine.md). Empty: everything on the default queue.
BERTH_TEARDOWN_QUEUE = env_str("BERTH_TEARDOWN_QUEUE", "teardown")
# At most this many instances of one batch stop side by side (they share one grace period).
BERTH_TEARDOWN_PARALLELISM = env_int("BERTH_TEARDOWN_PARALLELISM", 32)

# Berth's own processes write a heartbeat this often (seconds); /healthz?full=1 calls one stale after
# BERTH_HEARTBEAT_STALE seconds (0: three intervals plus 5 s). deployments/health.py.
BERTH_HEARTBEAT_INTERVAL = env_int("BERTH_HEARTBEAT_INTERVAL", 10)
BERTH_HEARTBEAT_STALE = env_int("BERTH_HEARTBEAT_STALE", 0)

# --- alerts (deployments/engine/alerts.py, docs/operations.md) --------------------------------
# Where links in alerts point; webhooks time out after BERTH_ALERT_TIMEOUT s; a failed delivery is
# retried after BERTH_ALERT_RETRY_SECONDS, doubling, five times. E-mail goes through Django's backend
# (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL).
BERTH_CONSOLE_URL = env_str("BERTH_CONSOLE_URL", f"http://{env_str('BERTH_BIND', '127.0.0.1:8000')}")
BERTH_ALERT_INTERVAL = float(env_str("BERTH_ALERT_INTERVAL", "5"))
BERTH_ALERT_TIMEOUT = float(env_str("BERTH_ALERT_TIMEOUT", "5"))
BERTH_ALERT_RETRY_SECONDS = env_int("BERTH_ALERT_RETRY_SECONDS", 10)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "berth@localhost")

CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "deployments.tasks.reconcile", "schedule": float(BERTH_RECONCILE_INTERVAL)},
    "alerts": {"task": "deployments.tasks.alerts", "schedule": BERTH_ALERT_INTERVAL},
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
