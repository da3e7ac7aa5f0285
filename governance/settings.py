"""Settings, read from the environment (see .env.example).

The embedded default needs no server: SQLite for the database and for Celery's broker
(kombu's SQLAlchemy transport). ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to
PostgreSQL and Redis.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("DJANGO_REQUIRE_SECRET_KEY", False):
        raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
    SECRET_KEY = "insecure-development-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "governance",
    "proposals",
    "scenarios",
    "backtests",
    "voting",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files, compressed (gzip) and cached for a year under their hashed names, from the
    # same process, with or without DEBUG (docs/review.md, "Fast pages").
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not memory, so that a worker process in the worker tests sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# collectstatic writes every file under a content-hashed name with a .gz beside it; WhiteNoise
# serves those with Cache-Control max-age of a year. With DEBUG the plain names are served from
# the source folders (no collectstatic needed).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get(
            "DJANGO_STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Celery: the embedded default is a SQLite broker through kombu's SQLAlchemy transport.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = os.environ.get(
    "CELERY_RESULT_BACKEND",
    "redis" + CELERY_BROKER_URL[len("redis") :]
    if CELERY_BROKER_URL.startswith("redis")
    else f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}",
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers a message not acknowledged within the visibility timeout to another worker.
# With acks_late a chunk is acknowledged when it ends, so the timeout must exceed the longest
# chunk (seconds to a minute); an hour leaves room while still recovering a lost message. The
# SQLite (SQLAlchemy) transport has no visibility timeout (it would pass the option on to
# SQLAlchemy's create_engine, which refuses it): it redelivers only what a worker rejects or
# restores (child killed, warm shutdown); see docs/backtests.md.
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else {}
)
# Seconds between polls of the SQLite broker's queue (set on the transport by backtests/apps.py).
SQLITE_BROKER_POLLING_INTERVAL = float(os.environ.get("SQLITE_BROKER_POLLING_INTERVAL", "0.1"))

# Backtests (docs/backtests.md): paths per scenario and paths per chunk of a NEW stress pack (a
# pack fixes them, with its seed and book, for every run of its market: docs/review.md), the
# memory one chunk may take, bootstrap resamples, when a run without progress is reported as
# stuck, and engine threads per worker process.
BACKTEST_PATHS = int(os.environ.get("BACKTEST_PATHS", "1000"))
BACKTEST_CHUNK_PATHS = int(os.environ.get("BACKTEST_CHUNK_PATHS", "250"))
BACKTEST_CHUNK_MEMORY_MB = int(os.environ.get("BACKTEST_CHUNK_MEMORY_MB", "64"))
# Paths of each sweep job (rounded up to whole chunks): the sensitivity, volatility and frontier
# sets run on the first chunks of each simulated scenario (backtests.sweeps).
BACKTEST_SWEEP_PATHS = int(os.environ.get("BACKTEST_SWEEP_PATHS", "250"))
BACKTEST_N_BOOT = int(os.environ.get("BACKTEST_N_BOOT", "1000"))
BACKTEST_STUCK_SECONDS = int(os.environ.get("BACKTEST_STUCK_SECONDS", "600"))
BACKTEST_ENGINE_THREADS = int(os.environ.get("BACKTEST_ENGINE_THREADS", "1"))
# With a beat (``celery -A governance worker -B`` on one machine, or ``celery -A governance
# beat`` once per site), stuck runs are resumed automatically; without one, ``manage.py
# backtest --stuck`` lists them and ``--resume`` resumes one.
# Voting (docs/voting.md): the beat opens votes whose delay has passed and closes those whose
# period has ended every VOTING_BEAT_SECONDS (a vote cast or a page asking "close now" does the
# same on demand). Signed votes and Sign-In with Ethereum use this name and chain id in their
# EIP-712 domain and EIP-4361 message; a sign-in nonce lives SIWE_NONCE_SECONDS, a signed
# vote's timestamp may be at most VOTE_SIGNATURE_MAX_AGE seconds from the server's clock.
VOTING_BEAT_SECONDS = float(os.environ.get("VOTING_BEAT_SECONDS", "15"))
VOTING_SITE_NAME = os.environ.get("VOTING_SITE_NAME", "Risk parameter governance")
VOTING_CHAIN_ID = int(os.environ.get("VOTING_CHAIN_ID", "1"))
SIWE_NONCE_SECONDS = int(os.environ.get("SIWE_NONCE_SECONDS", "300"))
VOTE_SIGNATURE_MAX_AGE = int(os.environ.get("VOTE_SIGNATURE_MAX_AGE", "600"))
# The site's address, for links in files that leave it (the export's change report links the
# backtest run's manifest).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CELERY_BEAT_SCHEDULE = {
    "resume-stuck-backtests": {
        "task": "backtests.tasks.resume_stuck_backtests_task",
        "schedule": float(max(BACKTEST_STUCK_SECONDS // 2, 10)),
    },
    "advance-votes": {"task": "voting.tasks.advance_votes_task", "schedule": VOTING_BEAT_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
