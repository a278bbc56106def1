"""Berth settings, read from the environment.

Every value has a default that runs out of the box on one machine (SQLite file,
Redis on localhost, the local dockerd). `BERTH_ENV=production` refuses to start
without a real SECRET_KEY. Any `NAME` can also be given as `NAME_FILE` (a path
whose contents are the value), for secrets mounted as files.
"""

import os
from datetime import timedelta
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

# Berth's own processes write a heartbeat this often (seconds); /healthz?full=1 calls one stale after
# BERTH_HEARTBEAT_STALE seconds (0: three intervals plus 5 s). deployments/health.py.
BERTH_HEARTBEAT_INTERVAL = env_int("BERTH_HEARTBEAT_INTERVAL", 10)
BERTH_HEARTBEAT_STALE = env_int("BERTH_HEARTBEAT_STALE", 0)

CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "deployments.tasks.reconcile", "schedule": float(BERTH_RECONCILE_INTERVAL)},
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

# --- hardening (docs/security.md) ---
# API request bodies (configs are small) are refused with 413 above this many bytes; Django's own
# form parsing gets the same cap.
BERTH_API_MAX_BODY = env_int("BERTH_API_MAX_BODY", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = BERTH_API_MAX_BODY
# The API speaks JSON only, through a parser that bounds size and nesting (deployments/api/parsers.py).
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["deployments.api.parsers.BoundedJSONParser"]
# limit is capped at 1000 and offset clamped: a huge value was a 500 (integer overflow in the database).
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = "deployments.api.pagination.BoundedLimitOffsetPagination"

# Login throttling (django-axes): after BERTH_LOGIN_FAILURE_LIMIT failed logins for one username from one
# IP address, that pair is refused (429, even with the right password) for BERTH_LOGIN_LOCKOUT_MINUTES.
# `manage.py axes_reset_username <name>` / `axes_reset` lift a lockout early.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as axes requires
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("BERTH_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("BERTH_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Production transport security. On when BERTH_ENV=production or BERTH_TLS=true (the console is served over
# HTTPS); behind a TLS-terminating proxy also set BERTH_BEHIND_TLS_PROXY=true so X-Forwarded-Proto counts.
BERTH_TLS = env_bool("BERTH_TLS", BERTH_ENV == "production")
SESSION_COOKIE_SECURE = BERTH_TLS
CSRF_COOKIE_SECURE = BERTH_TLS
SECURE_SSL_REDIRECT = env_bool("BERTH_SSL_REDIRECT", BERTH_TLS)
# Local probes and scrapers speak plain HTTP to the bind address: do not redirect them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("BERTH_HSTS_SECONDS", 365 * 24 * 3600 if BERTH_TLS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("BERTH_HSTS_INCLUDE_SUBDOMAINS", BERTH_TLS)
SECURE_HSTS_PRELOAD = env_bool("BERTH_HSTS_PRELOAD", BERTH_TLS)
if env_bool("BERTH_BEHIND_TLS_PROXY", False):
    # Only safe when the proxy overwrites this header on every request; a client could send it otherwise.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp) on every page: scripts, styles and images from the console only
# (all assets are vendored); the "try it" panel may call the gateway's endpoints from the browser.
# console/csp.py adds the gateway's origins to connect-src at each response.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "console.csp.GatewayCSPMiddleware")
INSTALLED_APPS.append("csp")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Object-store endpoints at loopback, link-local or unspecified addresses, or at this installation's own
# listeners (the console's BERTH_BIND, Redis, the gateway's ports), are refused unless listed here: host,
# host:port or CIDR entries, comma separated (deployments/storage/endpoints.py, docs/storage.md).
BERTH_OBJECT_STORE_ALLOW = env_list("BERTH_OBJECT_STORE_ALLOW", [])
BERTH_CONSOLE_BIND = env_str("BERTH_BIND", "127.0.0.1:8000")
# --- end hardening ---
