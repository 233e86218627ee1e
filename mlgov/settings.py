"""mlgov settings: one module, every deployment difference comes from the environment.

With no environment the app runs embedded: SQLite in ``var/``, tasks executed in process,
a locally generated secret key. Setting ``DATABASE_URL`` and ``REDIS_URL`` /
``CELERY_BROKER_URL`` switches to PostgreSQL and real Celery workers. See README.md for
every variable.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from mlgov.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MLGOV_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
EMBEDDED = not DATABASE_URL


def _secret_key() -> str:
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DATABASE_URL is set (production-like deployment)."
        )
    # Embedded demo: a random key kept next to the SQLite file, never committed.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _signing_key() -> tuple[str, str]:
    """The Ed25519 key that signs report manifests and evidence packs (PEM) and where it came
    from; checked here so that a missing or unusable key stops the start-up."""
    from apps.core import signing

    inline, path = env_str("MLGOV_SIGNING_KEY"), env_str("MLGOV_SIGNING_KEY_FILE")
    if inline and path:
        raise ImproperlyConfigured("Set MLGOV_SIGNING_KEY or MLGOV_SIGNING_KEY_FILE, not both.")
    if inline:
        # One-line environments (compose files, CI secrets) often carry the PEM with "\n".
        pem, source = inline.replace("\\n", "\n"), "MLGOV_SIGNING_KEY"
    elif path:
        source = f"MLGOV_SIGNING_KEY_FILE={path}"
        try:
            pem = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            message = f"{source}: the signing key cannot be read ({exc})."
            raise ImproperlyConfigured(message) from exc
    elif not EMBEDDED:
        raise ImproperlyConfigured(
            "MLGOV_SIGNING_KEY or MLGOV_SIGNING_KEY_FILE must be set when DATABASE_URL is set: "
            "the Ed25519 key that signs reports and evidence packs (make one with "
            "`openssl genpkey -algorithm ed25519 -out signing-key.pem`)."
        )
    else:
        # Embedded demo: a key generated next to the SQLite file, readable by its owner only.
        key_file = VAR_DIR / "signing_key.pem"
        pem, source = signing.ensure_private_key(key_file), f"embedded:{key_file}"
    try:
        signing.private_key_from_pem(pem, source=source.split("=")[0])
    except signing.SigningKeyError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    return pem, source


def _signing_public_keys_file() -> Path | None:
    """The public keys of retired signing keys (PEM or JWK set), kept verifiable after a
    rotation; the embedded default keeps them in ``var/``."""
    from apps.core import signing

    configured = env_str("MLGOV_SIGNING_PUBLIC_KEYS_FILE")
    if not configured:
        return VAR_DIR / "signing_public_keys.pem" if EMBEDDED else None
    try:
        signing.load_public_keys_file(configured, source="MLGOV_SIGNING_PUBLIC_KEYS_FILE")
    except signing.SigningKeyError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    return Path(configured)


MLGOV_SIGNING_KEY_PEM, MLGOV_SIGNING_KEY_SOURCE = _signing_key()
MLGOV_SIGNING_PUBLIC_KEYS_FILE = _signing_public_keys_file()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "apps.core.admin_site.MlgovAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_htmx",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.inventory",
    "apps.approvals",
    "apps.notifications",
    "apps.reviews",
    "apps.monitoring",
    "apps.incidents",
    "apps.reports",
    "apps.identity",
    "apps.provisioning",
    "apps.openlineage",
    "apps.mlflow_sync",
    "apps.dashboard",
    "apps.jobs",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files get the policy and the header set too.
    "csp.middleware.CSPMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF (which may read the body): an over-size API body is refused unread (413).
    "apps.core.api.middleware.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mlgov.urls"
WSGI_APPLICATION = "mlgov.wsgi.application"
ASGI_APPLICATION = "mlgov.asgi.application"

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
                "apps.core.context_processors.mlgov",
                "apps.approvals.context_processors.approvals",
            ],
        },
    }
]

if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "mlgov.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
# A PostgreSQL read replica (optional): reports and the dashboard read from it inside
# ``reading_from_replica()`` scopes; every write and every other read uses "default"
# (apps/core/replica.py, apps/core/db_router.py, README "Scaling out"). In tests it mirrors
# "default". A report waits this long for the replica to catch up, then reads the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    if not DATABASE_URL:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL (the primary).")
    DATABASES["replica"] = {
        **dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["apps.core.db_router.ReplicaRouter"]
MLGOV_REPLICA_MAX_WAIT_SECONDS = env_int("MLGOV_REPLICA_MAX_WAIT_SECONDS", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    # Django's ModelBackend, reading the model permissions in one query (issue 15).
    "apps.accounts.backends.ModelBackend",
    # Sign-in through the OpenID Connect provider; idle until MLGOV_OIDC_ISSUER is set.
    "apps.identity.backends.OIDCBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Idle timeout: the session expires this many seconds after the last request.
SESSION_COOKIE_AGE = env_int("MLGOV_SESSION_IDLE_SECONDS", 30 * 60)
# Written when changed, else at most once a minute: the idle expiry still slides forward
# without a write on every request (apps/accounts/sessions.py, issue 15).
SESSION_ENGINE = "apps.accounts.sessions"
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie.
# Under /api/ a CSRF refusal answers JSON like every other API error.
CSRF_FAILURE_VIEW = "apps.core.api.handlers.csrf_failure"

# Lockout after repeated wrong passwords at sign-in or signature (django-axes with
# apps/accounts/lockout.py): (parameters, failure limit, cool-off minutes) per rule; 0 turns
# a rule off. The per-username rule is what a new source address cannot sidestep.
MLGOV_LOCKOUT_RULES = [
    (
        ("username", "ip_address"),
        env_int("MLGOV_LOGIN_FAILURE_LIMIT", 5),
        env_int("MLGOV_LOGIN_COOLOFF_MINUTES", 15),
    ),
    (
        ("username",),
        env_int("MLGOV_LOGIN_USERNAME_FAILURE_LIMIT", 10),
        env_int("MLGOV_LOGIN_USERNAME_COOLOFF_MINUTES", 15),
    ),
    (
        ("ip_address",),
        env_int("MLGOV_LOGIN_ADDRESS_FAILURE_LIMIT", 0),
        env_int("MLGOV_LOGIN_ADDRESS_COOLOFF_MINUTES", 15),
    ),
]
if MLGOV_LOCKOUT_RULES[0][1] < 1 or any(
    limit < 0 or minutes < 1 for _, limit, minutes in MLGOV_LOCKOUT_RULES
):
    raise ImproperlyConfigured(
        "MLGOV_LOGIN_FAILURE_LIMIT must be at least 1, the other MLGOV_LOGIN_*_FAILURE_LIMIT "
        "values 0 (off) or more, and every MLGOV_LOGIN_*COOLOFF_MINUTES at least 1."
    )
AXES_HANDLER = "apps.accounts.lockout.LockoutHandler"
# Derived from MLGOV_LOCKOUT_RULES when used, so the two cannot disagree.
AXES_LOCKOUT_PARAMETERS = "apps.accounts.lockout.axes_lockout_parameters"
AXES_FAILURE_LIMIT = "apps.accounts.lockout.axes_failure_limit"
AXES_COOLOFF_TIME = "apps.accounts.lockout.axes_cooloff"
# The same client address as the audit trail (X-Forwarded-For only behind a declared proxy).
AXES_CLIENT_IP_CALLABLE = "apps.core.middleware.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

HTTPS = env_bool("DJANGO_HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
# Joining the browsers' HSTS preload list is a decision for the owner of the whole domain,
# not for one application on it: opt in with DJANGO_HSTS_PRELOAD, otherwise don't warn.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, for Path=/
    # and without Domain, so a sibling subdomain or plain-HTTP page cannot set or shadow it.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Flash messages live in the session, not a cookie of their own: every cookie mlgov sets is
# one of the two above.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Content-Security-Policy (django-csp): only this origin's own scripts and stylesheets, no
# inline script or style, no plugins, no <base>, no framing, forms post only here. A stored
# link or markup that slipped past escaping still cannot run. The HTML model card is served
# with its own stricter policy (apps.core.security.document_policy).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
# Reverse proxies between the client and mlgov, each appending to X-Forwarded-For.
MLGOV_TRUSTED_PROXY_COUNT = env_int("MLGOV_TRUSTED_PROXY_COUNT", 1)
if MLGOV_TRUSTED_PROXY_COUNT < 1:
    raise ImproperlyConfigured("MLGOV_TRUSTED_PROXY_COUNT must be 1 or more.")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"  # stored and computed in UTC; shown in each user's own zone
USE_I18N = True
USE_TZ = True
MLGOV_DEFAULT_USER_TIMEZONE = env_str("MLGOV_DEFAULT_USER_TIMEZONE", "UTC")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            # WhiteNoise's hashed, compressed files; the API docs' vendored assets gzip only.
            else "apps.core.static_storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that is down or hung fails a cache call in seconds, never hangs a request.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a broker switches to real workers; without one tasks run in process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL) or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 14 * 60)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# One queue per kind of work, so each is given its own workers and scaled on its own (README,
# "Scaling out"): a worker started without -Q consumes every queue listed here (`make worker`,
# the embedded test workers); deploy/compose.yaml runs one service per queue. Every task is
# routed by name; tests/core/test_task_routes.py refuses a task without a route.
MLGOV_CELERY_QUEUES = ("default", "ingestion", "reports", "drift", "notifications")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in MLGOV_CELERY_QUEUES]
_TASK_QUEUE = {
    # Metric ingestion: uploads, API pushes and scheduled pulls (CPU and COPY-bound).
    "monitoring.ingest_batch": "ingestion",
    "monitoring.pull_source": "ingestion",
    # Model cards, registers, lineage, audit extracts, evidence packs (WeasyPrint: memory).
    "reports.generate_report": "reports",
    # Drift runs over uploaded samples (pandas: memory and CPU).
    "monitoring.run_drift": "drift",
    # Audit chain verifications asked for from the page or the API: a long read of the trail
    # (seconds to minutes for a full one), kept off the default queue like a report.
    "audit.run_chain_verification": "reports",
    # MLflow registry syncs: outbound HTTP and inventory writes, like a scheduled pull.
    "mlflow_sync.run_sync": "ingestion",
    # Webhook deliveries: outbound HTTP, mostly waiting on the network.
    "notifications.deliver_webhook": "notifications",
    # Housekeeping and beat jobs: short, and the outbox's dispatcher must never wait behind
    # a long report or batch.
    "jobs.tick": "default",
    "core.ping": "default",
    "audit.verify_audit_chain": "default",
    "audit.write_checkpoint": "default",
    "reviews.scan_due": "default",
    "monitoring.expire_thresholds": "default",
    "monitoring.sweep_orphan_files": "default",
    "monitoring.pull_due_sources": "default",
    "monitoring.purge_observations": "default",
    "mlflow_sync.sync_due_connections": "default",
}
CELERY_TASK_ROUTES = (
    # A process that points its default queue at a queue of its own at run time (a test or a
    # benchmark sending to a throwaway worker started with -Q that queue) sends every task
    # there; otherwise each task goes to its kind's queue.
    "mlgov.celery.route_to_redirected_default",
    {name: {"queue": queue} for name, queue in _TASK_QUEUE.items()},
)
CELERY_BEAT_SCHEDULE: dict = {
    "verify-audit-chain-nightly": {
        "task": "audit.verify_audit_chain",
        "schedule": crontab(hour=2, minute=30),
    },
    "reviews-scan-due-daily": {
        "task": "reviews.scan_due",
        "schedule": crontab(hour=6, minute=0),
    },
    "expire-thresholds-daily": {
        "task": "monitoring.expire_thresholds",
        "schedule": crontab(hour=0, minute=20),
    },
    "sweep-orphan-files-daily": {
        # Stored metric files and drift samples no batch or run refers to, a day old.
        "task": "monitoring.sweep_orphan_files",
        "schedule": crontab(hour=3, minute=10),
    },
    "pull-metric-sources": {
        # Every minute: enqueue the scheduled pulls that are due (each source has its interval).
        "task": "monitoring.pull_due_sources",
        "schedule": crontab(minute="*"),
    },
}

# Audit trail: the chain head is signed and appended to a file outside the database on this
# schedule and at every report (README, "Audit trail"); the database role the app runs as is
# granted its rights by `manage.py audit_grant_app_role`, run as the tables' owner.
MLGOV_AUDIT_CHECKPOINT_PATH = Path(
    env_str("MLGOV_AUDIT_CHECKPOINT_PATH") or VAR_DIR / "audit_checkpoints.jsonl"
)
MLGOV_AUDIT_CHECKPOINT_MINUTES = env_int("MLGOV_AUDIT_CHECKPOINT_MINUTES", 60)
MLGOV_DB_APP_ROLE = env_str("MLGOV_DB_APP_ROLE")
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "audit.write_checkpoint",
    "schedule": timedelta(minutes=max(1, MLGOV_AUDIT_CHECKPOINT_MINUTES)),
}

# Monitoring: metric ingestion and drift.
MLGOV_INGEST_MAX_BYTES = env_int("MLGOV_INGEST_MAX_BYTES", 200 * 1024 * 1024)
MLGOV_INGEST_MAX_ROW_ERRORS = env_int("MLGOV_INGEST_MAX_ROW_ERRORS", 100)
MLGOV_INGEST_MAX_FUTURE_MINUTES = env_int("MLGOV_INGEST_MAX_FUTURE_MINUTES", 10)
MLGOV_INGEST_TIME_LIMIT = env_int("MLGOV_INGEST_TIME_LIMIT", 30 * 60)
MLGOV_DRIFT_MAX_BYTES = env_int("MLGOV_DRIFT_MAX_BYTES", 500 * 1024 * 1024)
# Caps on a drift sample's content, checked as it streams (at upload and in the worker).
MLGOV_DRIFT_MAX_DECOMPRESSED_BYTES = env_int(
    "MLGOV_DRIFT_MAX_DECOMPRESSED_BYTES", MLGOV_DRIFT_MAX_BYTES
)
MLGOV_DRIFT_MAX_ROWS = env_int("MLGOV_DRIFT_MAX_ROWS", 2_000_000)
MLGOV_DRIFT_MAX_COLUMNS = env_int("MLGOV_DRIFT_MAX_COLUMNS", 500)
MLGOV_PULL_TIMEOUT_SECONDS = env_int("MLGOV_PULL_TIMEOUT_SECONDS", 30)

# Observation retention (README, "Scaling out"): a daily beat job deletes observations older
# than this many days, in bounded batches, and audits each run as one event. Unset (or empty)
# keeps them for ever. Never less than six months: the EU AI Act (Art. 19, Art. 26(6)) has
# providers and deployers of high-risk systems keep their automatically generated logs for at
# least six months, and a model's metric stream is part of that record.
MLGOV_OBSERVATION_RETENTION_MIN_DAYS = 183
MLGOV_OBSERVATION_RETENTION_DAYS = env_int("MLGOV_OBSERVATION_RETENTION_DAYS", 0) or None
if os.environ.get("MLGOV_OBSERVATION_RETENTION_DAYS", "").strip() and (
    MLGOV_OBSERVATION_RETENTION_DAYS is None
    or MLGOV_OBSERVATION_RETENTION_DAYS < MLGOV_OBSERVATION_RETENTION_MIN_DAYS
):
    raise ImproperlyConfigured(
        f"MLGOV_OBSERVATION_RETENTION_DAYS={os.environ['MLGOV_OBSERVATION_RETENTION_DAYS']} is "
        f"below the legal minimum of {MLGOV_OBSERVATION_RETENTION_MIN_DAYS} days (six months: "
        "EU AI Act Art. 19 keeps the logs of high-risk AI systems at least that long). Set it "
        f"to {MLGOV_OBSERVATION_RETENTION_MIN_DAYS} or more, or leave it unset to keep "
        "observations for ever."
    )
MLGOV_OBSERVATION_PURGE_BATCH = env_int("MLGOV_OBSERVATION_PURGE_BATCH", 10_000)
MLGOV_OBSERVATION_PURGE_MAX_SECONDS = env_int("MLGOV_OBSERVATION_PURGE_MAX_SECONDS", 600)
CELERY_BEAT_SCHEDULE["purge-observations-daily"] = {
    # Does nothing while MLGOV_OBSERVATION_RETENTION_DAYS is unset.
    "task": "monitoring.purge_observations",
    "schedule": crontab(hour=4, minute=40),
}

# MLflow registry sync (README, "Discovering models from MLflow"): each connection has its own
# schedule; this beat job queues the ones that are due. Every request goes through the egress
# guard, each bounded by this many seconds.
MLGOV_MLFLOW_TIMEOUT_SECONDS = env_int("MLGOV_MLFLOW_TIMEOUT_SECONDS", 60)
MLGOV_MLFLOW_SYNC_TIME_LIMIT = env_int("MLGOV_MLFLOW_SYNC_TIME_LIMIT", 2 * 60 * 60)
# Requests a sync sends to MLflow at once while it reads versions ahead of writing them.
MLGOV_MLFLOW_READERS = env_int("MLGOV_MLFLOW_READERS", 4)
# The files of a version not yet approved are digested again by the first sync this many
# minutes after they were last read, to notice files changed in MLflow without a new version
# (MLflow's timestamps do not move then). Approved versions' files are read by every sync.
MLGOV_MLFLOW_RECHECK_MINUTES = env_int("MLGOV_MLFLOW_RECHECK_MINUTES", 24 * 60)
CELERY_BEAT_SCHEDULE["mlflow-sync-due"] = {
    "task": "mlflow_sync.sync_due_connections",
    "schedule": crontab(minute="*"),
}


def _egress() -> tuple[list, list[int], str, object]:
    """The egress guard's settings (apps/core/egress.py): the operator's allow-list of
    internal hosts, the ports outbound requests may use, an extra CA bundle and a forward
    proxy."""
    from apps.core import egress
    from mlgov.env import env_parsed_list

    allow = env_parsed_list("MLGOV_EGRESS_ALLOW", egress.parse_allow_entry)
    ports = env_parsed_list("MLGOV_EGRESS_PORTS", egress.parse_port, list(egress.DEFAULT_PORTS))
    ca_file = env_str("MLGOV_EGRESS_CA_FILE")
    if ca_file and not Path(ca_file).is_file():
        raise ImproperlyConfigured(f"MLGOV_EGRESS_CA_FILE={ca_file} is not a readable file.")
    proxy = env_str("MLGOV_EGRESS_PROXY").strip()
    try:
        proxy = egress.parse_proxy(proxy) if proxy else None
    except ValueError as exc:
        raise ImproperlyConfigured(f"MLGOV_EGRESS_PROXY: {exc}") from exc
    return allow, ports, ca_file, proxy


# Outbound HTTP (webhooks, metric pulls): only public addresses unless allow-listed here.
MLGOV_EGRESS_ALLOW, MLGOV_EGRESS_PORTS, MLGOV_EGRESS_CA_FILE, MLGOV_EGRESS_PROXY = _egress()


def _oidc_group_roles() -> tuple[tuple[str, str], ...]:
    """``MLGOV_OIDC_GROUP_ROLES=group=role,group2=role2``: provider groups that give mlgov
    roles, with the table administrators edit (apps/identity/mapping.py)."""
    from apps.identity.mapping import parse_group_role
    from mlgov.env import env_parsed_list

    return tuple(env_parsed_list("MLGOV_OIDC_GROUP_ROLES", parse_group_role))


# Single sign-on with the organisation's OpenID Connect provider (apps/identity, README
# "Single sign-on"). Unset issuer: local passwords only, nothing else changes.
MLGOV_OIDC_ISSUER = env_str("MLGOV_OIDC_ISSUER").strip()
MLGOV_OIDC_CLIENT_ID = env_str("MLGOV_OIDC_CLIENT_ID").strip()
MLGOV_OIDC_CLIENT_SECRET = env_str("MLGOV_OIDC_CLIENT_SECRET")
MLGOV_OIDC_SCOPES = " ".join(
    env_str("MLGOV_OIDC_SCOPES", "openid email profile groups").replace(",", " ").split()
)
MLGOV_OIDC_GROUPS_CLAIM = env_str("MLGOV_OIDC_GROUPS_CLAIM", "groups").strip()
MLGOV_OIDC_SUBJECT_CLAIM = env_str("MLGOV_OIDC_SUBJECT_CLAIM", "sub").strip()
MLGOV_OIDC_PROVIDER_NAME = env_str("MLGOV_OIDC_PROVIDER_NAME", "single sign-on").strip()
MLGOV_OIDC_GROUP_ROLES = _oidc_group_roles()
# Seconds of clock difference tolerated with the provider when checking an ID token's times.
MLGOV_OIDC_LEEWAY_SECONDS = env_int("MLGOV_OIDC_LEEWAY_SECONDS", 60)
# Seconds the provider's discovery document and keys are kept before being fetched again.
MLGOV_OIDC_DISCOVERY_TTL_SECONDS = env_int("MLGOV_OIDC_DISCOVERY_TTL_SECONDS", 3600)
MLGOV_OIDC_TIMEOUT_SECONDS = env_int("MLGOV_OIDC_TIMEOUT_SECONDS", 10)
# Signatures under single sign-on: the provider's auth_time must be at most this many seconds
# old, and not before the signature began (less the skew); an API client's challenge lives
# this long.
MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS = env_int("MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS", 120)
MLGOV_OIDC_SIGNATURE_SKEW_SECONDS = env_int("MLGOV_OIDC_SIGNATURE_SKEW_SECONDS", 30)
MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS = env_int("MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS", 300)
MLGOV_LOCAL_LOGIN = env_bool("MLGOV_LOCAL_LOGIN", True)
MLGOV_BREAK_GLASS_USERS = tuple(env_list("MLGOV_BREAK_GLASS_USERS", []))
if MLGOV_OIDC_ISSUER:
    if not MLGOV_OIDC_ISSUER.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"MLGOV_OIDC_ISSUER={MLGOV_OIDC_ISSUER} must be the provider's issuer URL "
            "(https://…), exactly as its ID tokens name it."
        )
    if not MLGOV_OIDC_CLIENT_ID or not MLGOV_OIDC_CLIENT_SECRET:
        raise ImproperlyConfigured(
            "MLGOV_OIDC_ISSUER is set: MLGOV_OIDC_CLIENT_ID and MLGOV_OIDC_CLIENT_SECRET must "
            "be set too (the client registered for mlgov at the provider)."
        )
    if "openid" not in MLGOV_OIDC_SCOPES.split():
        raise ImproperlyConfigured("MLGOV_OIDC_SCOPES must include openid.")
    if not MLGOV_OIDC_GROUPS_CLAIM or not MLGOV_OIDC_SUBJECT_CLAIM:
        raise ImproperlyConfigured(
            "MLGOV_OIDC_GROUPS_CLAIM and MLGOV_OIDC_SUBJECT_CLAIM cannot be empty."
        )
elif not MLGOV_LOCAL_LOGIN:
    raise ImproperlyConfigured(
        "MLGOV_LOCAL_LOGIN=false needs MLGOV_OIDC_ISSUER: without single sign-on nobody "
        "could sign in."
    )
if (
    MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS < 1
    or MLGOV_OIDC_SIGNATURE_SKEW_SECONDS < 0
    or MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS < 1
):
    raise ImproperlyConfigured(
        "MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS and MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS must "
        "be 1 or more, MLGOV_OIDC_SIGNATURE_SKEW_SECONDS 0 or more."
    )
if MLGOV_OIDC_LEEWAY_SECONDS < 0 or MLGOV_OIDC_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured(
        "MLGOV_OIDC_LEEWAY_SECONDS must be 0 or more and MLGOV_OIDC_TIMEOUT_SECONDS 1 or more."
    )
if MLGOV_OIDC_ISSUER:
    # Signing out is a form posted to mlgov whose answer continues to the provider's
    # end-session endpoint; browsers hold that redirect to the page's form-action too.
    _issuer = urlsplit(MLGOV_OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [
        SELF,
        f"{_issuer.scheme}://{_issuer.netloc}",
    ]
# mozilla-django-oidc (apps/identity/backends.py, views.py): the authorisation code flow with
# state, nonce and PKCE (S256); endpoints come from the provider's discovery document.
OIDC_RP_SCOPES = MLGOV_OIDC_SCOPES
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_AUTHENTICATION_CALLBACK_URL = "identity:oidc_callback"

# API tokens (django-rest-knox with mlgov's model): hashed at rest, named, expiring.
KNOX_TOKEN_MODEL = "accounts.AuthToken"  # noqa: S105 (a model label, not a secret)
MLGOV_TOKEN_TTL_DAYS = env_int("MLGOV_TOKEN_TTL_DAYS", 90)
MLGOV_TOKEN_MAX_TTL_DAYS = env_int("MLGOV_TOKEN_MAX_TTL_DAYS", 366)
if not 1 <= MLGOV_TOKEN_TTL_DAYS <= MLGOV_TOKEN_MAX_TTL_DAYS:
    raise ImproperlyConfigured(
        "MLGOV_TOKEN_TTL_DAYS must be between 1 and MLGOV_TOKEN_MAX_TTL_DAYS "
        f"({MLGOV_TOKEN_MAX_TTL_DAYS})."
    )
REST_KNOX = {
    "TOKEN_PREFIX": "mlgov_",  # lets secret scanners recognise a leaked key
    "TOKEN_TTL": timedelta(days=MLGOV_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# knox's own token table is replaced by accounts.AuthToken; its migrations would create it.
MIGRATION_MODULES = {"knox": None}

# Reports: seconds one report job may take (evidence packs of large inventories take longest).
MLGOV_REPORT_TIME_LIMIT = env_int("MLGOV_REPORT_TIME_LIMIT", 30 * 60)
# Reports: the organisation named on the cover of model cards (empty: no name printed).
MLGOV_ORGANISATION_NAME = os.environ.get("MLGOV_ORGANISATION_NAME", "").strip()
# The model card in the browser keeps its snapshot this long, for as long as no audited change
# of the model follows (0: built afresh every time). PDFs and other reports never use it.
MLGOV_CARD_PREVIEW_CACHE_SECONDS = env_int("MLGOV_CARD_PREVIEW_CACHE_SECONDS", 60)
# The address people and tools reach this installation at (e.g. https://mlgov.example.org):
# links in e-mails, and the ``_schemaURL`` of mlgov's facets in OpenLineage exports.
MLGOV_BASE_URL = env_str("MLGOV_BASE_URL").strip().rstrip("/")

# Background jobs (apps/jobs): the outbox, leases and the reaper.
MLGOV_JOB_LEASE_SECONDS = env_int("MLGOV_JOB_LEASE_SECONDS", 60)  # renewed every third
MLGOV_JOB_MAX_RUNS = env_int("MLGOV_JOB_MAX_RUNS", 3)  # starts before mlgov gives up
MLGOV_JOB_RETRY_SECONDS = env_int("MLGOV_JOB_RETRY_SECONDS", 10)  # first backoff, doubling
MLGOV_JOB_RESEND_SECONDS = env_int("MLGOV_JOB_RESEND_SECONDS", 300)  # sent, never started
MLGOV_JOB_STUCK_SECONDS = env_int("MLGOV_JOB_STUCK_SECONDS", 600)  # owner may send again
MLGOV_JOB_TICK_SECONDS = env_int("MLGOV_JOB_TICK_SECONDS", 30)  # reaper and dispatcher beat
MLGOV_BROKER_CONNECT_TIMEOUT = env_int("MLGOV_BROKER_CONNECT_TIMEOUT", 2)
MLGOV_BROKER_RETRY_SECONDS = env_int("MLGOV_BROKER_RETRY_SECONDS", 10)  # breaker after a fail
CELERY_BEAT_SCHEDULE["jobs-tick"] = {
    "task": "jobs.tick",
    "schedule": timedelta(seconds=MLGOV_JOB_TICK_SECONDS),
    # A tick not run by the next one (every worker slot busy) is dropped, not piled up.
    "options": {"expires": MLGOV_JOB_TICK_SECONDS},
}
# A message a worker took but never acknowledged (its worker died) comes back after the
# visibility timeout: above the longest task, so a slow job is never handed out twice while
# it runs. The reaper, not this, brings back a dead worker's job within a lease or two.
_LONGEST_TASK = max(
    CELERY_TASK_TIME_LIMIT, MLGOV_INGEST_TIME_LIMIT + 60, MLGOV_REPORT_TIME_LIMIT + 30
)
CELERY_BROKER_CONNECTION_TIMEOUT = MLGOV_BROKER_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _LONGEST_TASK + 600,
    "socket_connect_timeout": MLGOV_BROKER_CONNECT_TIMEOUT,
    "socket_timeout": 30,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": MLGOV_BROKER_CONNECT_TIMEOUT}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = MLGOV_BROKER_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = 30

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.permissions.HasAnyRole"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mlgov API",
    "DESCRIPTION": "Model inventory, governance and audit trail. Token or session authentication.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["apps.core.api.permissions.HasAnyRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One schema name per choice set, shared by every field that uses it.
    "ENUM_NAME_OVERRIDES": {
        "LifecycleStatusEnum": "apps.inventory.choices.LifecycleStatus",
        "DeploymentStatusEnum": "apps.inventory.choices.DeploymentStatus",
        "RiskAssessmentStatusEnum": "apps.inventory.choices.RiskAssessmentStatus",
        "EUAIActClassEnum": "apps.inventory.choices.EUAIActClass",
        "AssessedEUAIActClassEnum": "apps.inventory.api.serializers.ASSESSED_EU_CLASSES",
        "RiskTierEnum": "apps.inventory.choices.RiskTier",
        "RiskLevelEnum": "apps.inventory.risk.LEVEL_POINTS",
        "MetricDirectionEnum": "apps.monitoring.choices.MetricDirection",
        "BreachDirectionEnum": "apps.monitoring.choices.BreachDirection",
        "ThresholdStatusEnum": "apps.monitoring.choices.ThresholdStatus",
        "IngestionSourceEnum": "apps.monitoring.choices.IngestionSource",
        "FileFormatEnum": "apps.monitoring.choices.FileFormat",
        "BatchStatusEnum": "apps.monitoring.choices.BatchStatus",
        "BatchStageEnum": "apps.monitoring.choices.BatchStage",
        "VersionStageEnum": "apps.inventory.choices.VersionStage",
        "EvaluationStateEnum": "apps.monitoring.choices.EvaluationState",
        "DriftRunStatusEnum": "apps.monitoring.choices.DriftRunStatus",
        "DriftColumnKindEnum": "apps.monitoring.choices.DriftColumnKind",
        "DriftMethodEnum": "apps.monitoring.choices.DriftMethod",
        "SeverityEnum": "apps.incidents.choices.Severity",
        "FindingSeverityEnum": "apps.reviews.choices.Severity",
        "IncidentStatusEnum": "apps.incidents.choices.IncidentStatus",
        "SeriousCategoryEnum": "apps.incidents.choices.SeriousCategory",
        "IncidentEventKindEnum": "apps.incidents.choices.EventKind",
        "ReviewStatusEnum": "apps.reviews.choices.ReviewStatus",
        "FindingStatusEnum": "apps.reviews.choices.FindingStatus",
        "RequestStatusEnum": "apps.approvals.choices.RequestStatus",
        "DeliveryStatusEnum": "apps.notifications.choices.DeliveryStatus",
        "ReportKindEnum": "apps.reports.choices.ReportKind",
        "LineageEventStatusEnum": "apps.openlineage.choices.EventStatus",
        "ReportFormatEnum": "apps.reports.choices.ReportFormat",
        "ReportStatusEnum": "apps.reports.choices.ReportStatus",
    },
}

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "mlgov@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "apps.core.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("MLGOV_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # PDF rendering: font subsetting and layout progress log dozens of lines per report.
        "fontTools": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
    },
}
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run in process (no broker): Celery's tracer logs a line per task ("Task … succeeded
    # in 0.04s") and kombu warns that no broker host is set. Noise on the console of `make run`
    # (hundreds of lines while the demo loads); a failing task still logs at ERROR.
    LOGGING["loggers"].update(
        {"celery.app.trace": {"level": "WARNING"}, "kombu.connection": {"level": "ERROR"}}
    )

MLGOV_VERSION = "0.1.0"
