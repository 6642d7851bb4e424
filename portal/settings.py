"""Settings of Kassenportal, read from environment variables (see .env.example).

Two ways to run from one code base:
- embedded default: no DATABASE_URL, no REDIS_URL -> SQLite, tasks executed in-process;
- production and tests: PostgreSQL (DATABASE_URL), Redis (REDIS_URL), Celery workers.
"""

import warnings
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_choice, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("PORTAL_DATA_DIR", str(BASE_DIR / "data")))

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105

# development | production. Production refuses unsafe settings at start-up.
DEPLOYMENT = env_choice("PORTAL_DEPLOYMENT", ("development", "production"), "development")
# sandbox | live, like fiskaltrust's two portals: separate databases, separate accounts.
PORTAL_ENVIRONMENT = env_choice("PORTAL_ENVIRONMENT", ("sandbox", "live"), "sandbox")

SECRET_KEY = env_secret("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# base64 of 32 random bytes; encrypts secrets at rest. Unset: derived from SECRET_KEY.
PORTAL_ENCRYPTION_KEY = env_secret("PORTAL_ENCRYPTION_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

if DEPLOYMENT == "production":
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("Production needs its own SECRET_KEY (at least 50 characters).")
    if DEBUG:
        raise ImproperlyConfigured("Production refuses to start with DEBUG=true.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "axes",
    "portal",
    "tenants",
    "tse",
    "exports",
    "compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.api.authentication.ApiKeyMiddleware",
    "portal.middleware.ApiUtcMiddleware",
    "portal.middleware.TwoFactorRequiredMiddleware",
    "portal.idempotency.IdempotencyMiddleware",
    "portal.tenancy.TenantScopeMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "tenants.User"

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
                "django.template.context_processors.i18n",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery --------------------------------------------------------------------------
REDIS_URL = env_secret("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("PORTAL_TASKS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tse.export_tar": {"queue": "exports"},
    "tse.schedule_monthly_exports": {"queue": "exports"},
    "tse.*": {"queue": "signing"},
    "exports.*": {"queue": "exports"},
    "compliance.*": {"queue": "exports"},
    "tenants.billing.*": {"queue": "billing"},
}
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_TIMEZONE = "Europe/Berlin"
CELERY_BEAT_SCHEDULE = {
    "compliance-notification-reminders": {
        "task": "compliance.send_notification_reminders",
        "schedule": crontab(hour=7, minute=15),
    },
    "purge-idempotency-records": {
        "task": "portal.purge_idempotency_records",
        "schedule": crontab(hour=3, minute=17),
    },
    "tse-monthly-tar-exports": {
        "task": "tse.schedule_monthly_exports",
        "schedule": crontab(hour=2, minute=41),
    },
    "dsfinvk-monthly-exports": {
        "task": "exports.schedule_monthly_exports",
        "schedule": crontab(hour=3, minute=41, day_of_month=2),
    },
    "billing-monthly-run": {
        "task": "tenants.billing.run_previous_month",
        "schedule": crontab(hour=4, minute=10, day_of_month=1),
    },
    "billing-subscription-renewals": {
        "task": "tenants.billing.renew_subscriptions",
        "schedule": crontab(hour=0, minute=20),
    },
    "tse-lifecycle-monitoring": {
        "task": "tse.check_signing_units",
        "schedule": crontab(hour=6, minute=5),
    },
}

# --- Billing ------------------------------------------------------------------------------------
# The portal operator as the issuer of invoices (§ 14 Abs. 4 UStG); the key prefixes invoice numbers.
BILLING_ISSUER = {
    "key": env_str("BILLING_ISSUER_KEY", "KP"),
    "name": env_str("BILLING_ISSUER_NAME", "Kassenportal Betreiber GmbH"),
    "street": env_str("BILLING_ISSUER_STREET", "Musterstraße 1"),
    "postal_code": env_str("BILLING_ISSUER_POSTAL_CODE", "10115"),
    "city": env_str("BILLING_ISSUER_CITY", "Berlin"),
    "country": env_str("BILLING_ISSUER_COUNTRY", "DE"),
    "vat_id": env_str("BILLING_ISSUER_VAT_ID", "DE999999999"),
    "tax_number": env_str("BILLING_ISSUER_TAX_NUMBER", ""),
    "email": env_str("BILLING_ISSUER_EMAIL", "rechnung@kassenportal.example"),
}

# --- DSFinV-K -----------------------------------------------------------------------------------
# Archives are kept this many years after the end of the calendar year of their newest closing (§ 147 AO).
DSFINVK_RETENTION_YEARS = 10

# --- TSE signing ------------------------------------------------------------------------------
# How long a signing request waits for the worker before it answers "unsigned" (never block the till).
TSE_SIGNING_TIMEOUT_SECONDS = env_int("TSE_SIGNING_TIMEOUT_SECONDS", 5)
# Open (ACTIVE) transactions allowed per TSE, as fiskaly's limit.
TSE_MAX_OPEN_TRANSACTIONS = env_int("TSE_MAX_OPEN_TRANSACTIONS", 2000)
# Monitoring: certificate-expiry warnings (days before), the time-sync age that counts as stale.
TSE_CERTIFICATE_WARNING_DAYS = (90, 30, 7)
TSE_TIME_SYNC_MAX_AGE_HOURS = env_int("TSE_TIME_SYNC_MAX_AGE_HOURS", 24)
# A TAR export per TSE is due when the last one is older than this (dashboard reminder, monthly job).
TSE_EXPORT_REMINDER_DAYS = env_int("TSE_EXPORT_REMINDER_DAYS", 30)
# fiskaly SIGN DE v2 (cloud TSE) account of this portal; without a key the fiskaly backend is off.
FISKALY_BASE_URL = env_str("FISKALY_BASE_URL", "https://kassensichv-middleware.fiskaly.com/api/v2")
FISKALY_API_KEY = env_str("FISKALY_API_KEY")
FISKALY_API_SECRET = env_secret("FISKALY_API_SECRET")

# --- Auth -----------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
EMAIL_CONFIRMATION_MAX_AGE = env_int("EMAIL_CONFIRMATION_MAX_AGE", 3 * 24 * 3600)
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 14)
OTP_TOTP_ISSUER = "Kassenportal"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)

# django-axes: lock username + IP after repeated failures
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.views.accounts.lockout_response"
AXES_ENABLED = env_bool("LOGIN_LOCKOUT_ENABLED", True)
AXES_VERBOSE = False

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if DEPLOYMENT == "production":
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS")
if DEPLOYMENT == "production" and not SECURE_HSTS_PRELOAD:
    # Preloading is a deliberate per-domain decision (SECURE_HSTS_PRELOAD); off is not a misconfiguration.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kassenportal <noreply@kassenportal.invalid>")

# --- I18n, time -----------------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if DEPLOYMENT == "production"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEPLOYMENT != "production"
if DEPLOYMENT != "production":
    # Without collectstatic there is no STATIC_ROOT; the finders serve the files instead.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))

# --- API ------------------------------------------------------------------------------------
API_KEY_PREFIX = "kp_live_" if PORTAL_ENVIRONMENT == "live" else "kp_test_"
# HMAC pepper for API-key digests; unset: SECRET_KEY. Changing it invalidates every key.
API_KEY_PEPPER = env_secret("API_KEY_PEPPER")
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "600/min")
API_ANON_THROTTLE_RATE = env_str("API_ANON_THROTTLE_RATE", "60/min")
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.IsAuthenticatedActor"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.StablePageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.ActorRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"actor": API_THROTTLE_RATE, "anon": API_ANON_THROTTLE_RATE},
    "EXCEPTION_HANDLER": "portal.api.exceptions.envelope_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# § 146a (4) AO notification file (compliance/notification/xml.py): enumeration codes of the ELSTER upload,
# UNCONFIRMED against the official XSD (distributed with ERiC only). Overrides the module defaults per key.
ELSTER_NOTIFICATION_CODES = {
    # tenants.PosSystemType -> Art des eAs
    "system_types": {"pc_pos": "1", "tablet_app": "2", "electronic_register": "3", "taximeter": "4",
                     "odometer": "5", "other": "1"},
    # tse.FormFactor -> Art der TSE (StuStaPay: SD 1, USB 2, cloud 3); "other" has no code
    "tse_form_factors": {"sd": "1", "usb": "2", "cloud": "3"},
    # exports.DecommissionReason -> Grund der Außerbetriebnahme (German text for the tax office)
    "decommission_reasons": {"sold": "Verkauf", "scrapped": "Verschrottung", "stolen": "Diebstahl oder Verlust",
                             "destroyed": "Zerstörung (Totalschaden)",
                             "lease_ended": "Ende des Leasing- oder Mietvertrags",
                             "replaced": "Ersatz durch ein anderes System", "other": "Sonstiges"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kassenportal API",
    "DESCRIPTION": "Multi-tenant portal for German cash-register fiscalization (KassenSichV, § 146a AO).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # enums of the same field name in several apps get names of their own (not hash suffixes)
    "ENUM_NAME_OVERRIDES": {
        "RolloutJobStateEnum": "tenants.models.rollout.RolloutJobState",
        "RolloutJobSourceEnum": "tenants.models.rollout.RolloutJobSource",
        "RolloutItemStateEnum": "tenants.models.rollout.RolloutItemState",
        "ConfigurationSourceEnum": "tenants.models.configuration.ConfigurationSource",
        "SignatureActionEnum": "tenants.models.contracts.SignatureAction",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
