"""Settings for the Diatonic AI Lab dashboard.

Everything that differs between a laptop and production comes from the environment,
read through the tiny helpers below (the healthchecks way).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard.core.secret_key import DEVELOPMENT_KEY, production_problems

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


# A deployment sets SECRET_KEY: there DEBUG is off unless asked for; a laptop without one gets DEBUG on.
DEBUG = envbool("DEBUG", "false" if os.getenv("SECRET_KEY") else "true")
# Production (DEBUG off) refuses to start with the public development key or a weak one; `make serve`
# makes a random key once in .data/secret-key. Old keys listed in SECRET_KEY_FALLBACKS (comma-separated)
# still verify what they signed, so a key can be rotated without signing everyone out.
SECRET_KEY = os.getenv("SECRET_KEY") or DEVELOPMENT_KEY
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS", "")
if not DEBUG and (_key_problems := production_problems(SECRET_KEY, SECRET_KEY_FALLBACKS)):
    raise ImproperlyConfigured(" ".join(_key_problems))
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
# The address people reach the dashboard at: links in e-mails (an alerts address's confirmation).
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "template_partials",
    "dashboard.core",
    "dashboard.dynamo",
    "dashboard.accounts",
    "dashboard.audit",
    "dashboard.apikeys",
    "dashboard.home",
    "dashboard.marketplace",
    "dashboard.registry",
    "dashboard.analytics",
    "dashboard.experiments",
    "dashboard.flows",
    "dashboard.api",
    "dashboard.alerts",
    "dashboard.operations",
    "dashboard.demo",
]

MIDDLEWARE = [
    "dashboard.core.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files before anything that reads the session or DynamoDB.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dashboard.core.middleware.EdgeMiddleware",
    "csp.middleware.CSPMiddleware",
    "dashboard.dynamo.middleware.DynamoUnavailableMiddleware",
    "dashboard.dynamo.middleware.CallStatsMiddleware",
    "dashboard.dynamo.middleware.RequestCacheMiddleware",
    "dashboard.core.middleware.DashboardErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "dashboard.accounts.middleware.AccessScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "dashboard.accounts.context_processors.access",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# No SQL database: every read and write goes through PynamoDB.
DATABASES: dict = {}

SESSION_ENGINE = "dashboard.accounts.session_store"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", str(12 * 3600))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "login"
# Views whose pages show secrets (a new API key, the webhook signing secret): `Cache-Control: no-store`.
NO_STORE_VIEWS = {
    "apikeys:list",
    "alerts:rules",
    "accounts:invitations",
    "accept_invitation",
    "accounts:two_factor",
}
# Wherever a password is set (users page, create_user command): dashboard/accounts/inputs.password_problem.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "dashboard.accounts.inputs.DistinctCharactersValidator"},
]

# Sign-in throttle (dashboard/accounts/services.py): attempts allowed per window per account from one
# address (and per known device), per client address, and per account from all addresses together;
# past a limit each attempt waits a doubling number of seconds (at most LOGIN_MAX_WAIT_SECONDS), no lock.
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", "5")
LOGIN_FAILURES_PER_ADDRESS = envint("LOGIN_FAILURES_PER_ADDRESS", "20")
LOGIN_FAILURES_PER_ACCOUNT_ANY_ADDRESS = envint("LOGIN_FAILURES_PER_ACCOUNT_ANY_ADDRESS", "50")
LOGIN_FAILURE_WINDOW_SECONDS = envint("LOGIN_FAILURE_WINDOW_SECONDS", "900")
LOGIN_MAX_WAIT_SECONDS = envint("LOGIN_MAX_WAIT_SECONDS", "300")
# WebAuthn passkeys (a second factor, dashboard/accounts/services.py): the relying party id (the site's
# domain, e.g. dashboard.example.com) and the exact origin pages are served from
# (https://dashboard.example.com). Unset: the request's own host, for local use.
WEBAUTHN_RP_ID = os.getenv("WEBAUTHN_RP_ID", "")
WEBAUTHN_ORIGIN = os.getenv("WEBAUTHN_ORIGIN", "")
# OpenID Connect single sign-on (dashboard/accounts/oidc.py, services.sso_sign_in; README "Single
# sign-on"). No OIDC_ISSUER: no SSO. The callback to register at the provider: SITE_URL + /login/sso/callback/.
OIDC_ISSUER = os.getenv("OIDC_ISSUER", "")
OIDC_CLIENT_ID = os.getenv("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.getenv("OIDC_CLIENT_SECRET", "")
OIDC_SCOPES = os.getenv("OIDC_SCOPES", "openid email profile")
OIDC_BUTTON_LABEL = os.getenv("OIDC_BUTTON_LABEL", "Sign in with single sign-on")
# The provider's name on the invitation page's "Continue with <name>" (e.g. Google, Okta).
OIDC_PROVIDER_NAME = os.getenv("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_ALLOWED_DOMAINS = [domain.lower() for domain in envlist("OIDC_ALLOWED_DOMAINS", "")]  # empty: any
# An existing account with the same, provider-verified e-mail is linked at its first SSO sign-in.
OIDC_LINK_BY_EMAIL = envbool("OIDC_LINK_BY_EMAIL", "false")
# A first SSO sign-in with no account creates one (role and tenant from the claims, else the defaults).
OIDC_CREATE_USERS = envbool("OIDC_CREATE_USERS", "false")
# Claims holding the role (staff | tenant_admin | moderator) and tenant id; empty: kept in the dashboard.
OIDC_ROLE_CLAIM = os.getenv("OIDC_ROLE_CLAIM", "")
OIDC_TENANT_CLAIM = os.getenv("OIDC_TENANT_CLAIM", "")
OIDC_DEFAULT_ROLE = os.getenv("OIDC_DEFAULT_ROLE", "tenant_admin")
OIDC_DEFAULT_TENANT = os.getenv("OIDC_DEFAULT_TENANT", "")
OIDC_TIMEOUT = float(os.getenv("OIDC_TIMEOUT", "10"))
# Invitations (dashboard/accounts): a link works once and for this many days.
INVITATION_DAYS = envint("INVITATION_DAYS", "7")
# Per API key token bucket (dashboard/apikeys/services.py): refill per minute, extra burst tokens.
API_RATE_LIMIT_PER_MINUTE = envint("API_RATE_LIMIT_PER_MINUTE", "600")
API_RATE_LIMIT_BURST = envint("API_RATE_LIMIT_BURST", "100")
# OTLP receivers (dashboard/api/otel.py): an export costs one token per this many spans or log records (and
# at least one per trace); one holding more items than OTLP_REFUSE_ITEMS_PER_EXPORT is refused whole (413).
OTLP_ITEMS_PER_TOKEN = envint("OTLP_ITEMS_PER_TOKEN", "10")
OTLP_REFUSE_ITEMS_PER_EXPORT = envint("OTLP_REFUSE_ITEMS_PER_EXPORT", "20000")
# Behind a load balancer the client's address is in a header (e.g. HTTP_X_FORWARDED_FOR); empty = REMOTE_ADDR.
CLIENT_ADDRESS_HEADER = os.getenv("CLIENT_ADDRESS_HEADER", "")

# Content-Security-Policy (django-csp): scripts only from this site — no inline scripts, handlers or
# eval (no htmx trigger filters: their behaviour lives in static/js). Styles allow inline `style=""`
# for the bar widths and htmx's indicator styles; nothing may frame the dashboard.
# CSP_SCRIPT_EVAL=true is an escape hatch for a template that needs htmx filters again.
CSP_SCRIPT_EVAL = envbool("CSP_SCRIPT_EVAL", "false")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *(["'unsafe-eval'"] if CSP_SCRIPT_EVAL else [])],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# `make install` runs collectstatic here; outside git (.cache/ is ignored). Tests point it elsewhere.
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", str(BASE_DIR / ".cache" / "staticfiles")))
# Front-end packages come from npm (package.json): `make install` runs `npm ci`, then copies the few
# files pages use into VENDOR_ROOT (manage.py vendor_static, dashboard/core/vendor.py), served as vendor/.
STATICFILES_DIRS = [BASE_DIR / "static"]
VENDOR_ROOT = Path(os.getenv("VENDOR_ROOT", str(BASE_DIR / ".cache" / "vendor")))
if VENDOR_ROOT.is_dir():
    STATICFILES_DIRS.append(("vendor", VENDOR_ROOT))
# Production serves content-hashed, pre-compressed files through whitenoise; hashed names get
# far-future `Cache-Control: max-age=315360000, immutable`. Development keeps plain names (no
# collectstatic needed between edits).
STORAGES = {
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "dashboard.core.storage.StaticFilesStorage"  # whitenoise's, manifest outside STATIC_ROOT
    }
}
WHITENOISE_MAX_AGE = envint("WHITENOISE_MAX_AGE", "0" if DEBUG else "3600")  # unhashed names only

# production | staging | dev: `check_tables` insists on PITR, deletion protection and KMS in production.
ENVIRONMENT = os.getenv("ENVIRONMENT", "dev")

# DynamoDB. Unset endpoint means real AWS (credentials from the usual AWS chain).
DYNAMODB_ENDPOINT_URL = os.getenv("DYNAMODB_ENDPOINT_URL") or None
DYNAMODB_REGION = os.getenv("AWS_REGION", "us-east-2")
DYNAMODB_TABLE_PREFIX = os.getenv("DYNAMODB_TABLE_PREFIX", "ainw-dev")
DYNAMODB_CONNECT_TIMEOUT = float(os.getenv("DYNAMODB_CONNECT_TIMEOUT", "2"))
DYNAMODB_READ_TIMEOUT = float(os.getenv("DYNAMODB_READ_TIMEOUT", "10"))
DYNAMODB_MAX_RETRIES = envint("DYNAMODB_MAX_RETRIES", "2")
# Open connections kept per client. botocore keeps 10; a process with more threads than that
# (GUNICORN_THREADS, the importer's writers, many writers in one process) would drop and reopen them.
DYNAMODB_MAX_POOL_CONNECTIONS = envint("DYNAMODB_MAX_POOL_CONNECTIONS", "32")
# Adds X-DynamoDB-Calls / X-DynamoDB-Capacity to every response (benchmarks, debugging).
DYNAMODB_CALL_HEADERS = envbool("DYNAMODB_CALL_HEADERS", "true" if DEBUG else "false")

# Where `manage.py dynamodb_local` keeps the engine and the on-disk data (outside the repo).
DYNAMODB_LOCAL_VERSION = "2.9.30"  # npm package amplify-dynamodb-simulator
DYNAMODB_LOCAL_CACHE = Path(
    os.getenv("DYNAMODB_LOCAL_CACHE", str(Path.home() / ".cache" / "diatonic-dashboard"))
)
DYNAMODB_LOCAL_DATA = Path(os.getenv("DYNAMODB_LOCAL_DATA", str(BASE_DIR / ".data" / "dynamodb")))
DYNAMODB_LOCAL_PORT = envint("DYNAMODB_LOCAL_PORT", "8766")

# Prices (dashboard/analytics/pricing): each process keeps the staff prices it read for this long, so
# a price change reaches every process within it (re-pricing waits as long before it starts).
PRICES_CACHE_SECONDS = float(os.getenv("PRICES_CACHE_SECONDS", "10"))
# Days re-priced at once by one re-pricing run (dashboard/analytics/repricing).
REPRICE_THREADS = envint("REPRICE_THREADS", "4")

# Alerts (dashboard/alerts): checked after each API batch; `manage.py run_alerts [--loop]` evaluates every
# tenant and finishes pending deliveries; ALERTS_IN_PROCESS=true runs that loop in a web-process thread.
ALERTS_CHECK_ON_INGEST = envbool("ALERTS_CHECK_ON_INGEST", "true")
ALERTS_IN_PROCESS = envbool("ALERTS_IN_PROCESS", "false")
ALERTS_INTERVAL_SECONDS = float(os.getenv("ALERTS_INTERVAL_SECONDS", "60"))
# Where staff's tenant exports are written (`<dir>/<tenant>/<job>/`: NDJSON.gz per table and a manifest).
TENANT_EXPORT_DIR = Path(os.getenv("TENANT_EXPORT_DIR", str(BASE_DIR / ".data" / "exports")))
ALERTS_WEBHOOK_TIMEOUT = float(os.getenv("ALERTS_WEBHOOK_TIMEOUT", "5"))
ALERTS_WEBHOOK_MAX_ATTEMPTS = envint("ALERTS_WEBHOOK_MAX_ATTEMPTS", "6")
ALERTS_RETRY_SECONDS = float(os.getenv("ALERTS_RETRY_SECONDS", "30"))
# Webhooks go to public addresses only, so a tenant cannot make the platform call its own network
# (the metadata service, private services). Development and tests deliver to a receiver on loopback.
ALERTS_WEBHOOK_ALLOW_PRIVATE = envbool("ALERTS_WEBHOOK_ALLOW_PRIVATE", "true" if DEBUG else "false")
# In production webhooks go over https only, to one of these ports (comma-separated; empty: any port),
# and each delivery gets ALERTS_WEBHOOK_DEADLINE_SECONDS in all (connect, TLS, send, answer), however
# slowly the receiver answers; ALERTS_WEBHOOK_TIMEOUT bounds each single read. See dashboard/alerts/webhooks.py.
ALERTS_WEBHOOK_HTTPS_ONLY = envbool("ALERTS_WEBHOOK_HTTPS_ONLY", "false" if DEBUG else "true")
ALERTS_WEBHOOK_PORTS = tuple(
    int(port) for port in envlist("ALERTS_WEBHOOK_PORTS", "" if DEBUG else "443,80,8443")
)
ALERTS_WEBHOOK_DEADLINE_SECONDS = float(os.getenv("ALERTS_WEBHOOK_DEADLINE_SECONDS", "10"))
EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "alerts@diatonic.local")
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
# Seconds per SMTP operation: the alerts worker never hangs on the mail server.
EMAIL_TIMEOUT = float(os.getenv("EMAIL_TIMEOUT", "10"))

# Operations page (dashboard/operations): DynamoDB usage metered by this process, flushed every
# DYNAMODB_USAGE_FLUSH_SECONDS; on-demand prices in USD (defaults: us-east-2, per million request units
# and per GB-month of storage).
DYNAMODB_USAGE_METERING = envbool("DYNAMODB_USAGE_METERING", "true")
DYNAMODB_USAGE_FLUSH_SECONDS = float(os.getenv("DYNAMODB_USAGE_FLUSH_SECONDS", "10"))
DYNAMODB_PRICE_PER_MILLION_READ_UNITS = float(os.getenv("DYNAMODB_PRICE_PER_MILLION_READ_UNITS", "0.125"))
DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS = float(os.getenv("DYNAMODB_PRICE_PER_MILLION_WRITE_UNITS", "0.625"))
DYNAMODB_PRICE_PER_GB_MONTH = float(os.getenv("DYNAMODB_PRICE_PER_GB_MONTH", "0.25"))
DYNAMODB_LATENCY_TARGET_MS = float(os.getenv("DYNAMODB_LATENCY_TARGET_MS", "10"))

# Model registry: a deployment still "deploying" after this many minutes shows as stalled, and the
# registry pages stop polling for it.
REGISTRY_STALLED_AFTER_MINUTES = envint("REGISTRY_STALLED_AFTER_MINUTES", "30")
# A running run that has written no log line for this long shows as stalled in the log viewer.
RUN_STALLED_AFTER_SECONDS = envint("RUN_STALLED_AFTER_SECONDS", "300")

API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", str(2 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

# LOG_FORMAT=json: one JSON object per line (log shippers); anything else: readable text.
# LOG_REQUESTS: one line per request (dashboard.core.request_log), on by default in production.
LOG_FORMAT = os.getenv("LOG_FORMAT", "text")
# /metrics (dashboard.core.monitoring): when set, a scrape sends `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "dashboard.core.request_log.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "dashboard.core.request_log.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "pynamodb": {"level": "WARNING"},
        "dashboard.request": {
            "level": "INFO" if envbool("LOG_REQUESTS", "false" if DEBUG else "true") else "WARNING"
        },
        # The request line already says 4xx; Django's own warnings for them would repeat it.
        "django.request": {"level": "ERROR"},
    },
}

if not DEBUG:
    # Production: HTTPS only, secure cookies, strict headers.
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    # Load balancers probe over plain HTTP; an HTTPS redirect would fail their checks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    # Off only for plain-HTTP use on this machine (`make serve` against 127.0.0.1, the browser
    # test): a browser never sends a Secure cookie back over http, so sign-in would not stick.
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "true")
    CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", "true")
    X_FRAME_OPTIONS = "DENY"
