"""Settings of the fruit store, a stand-in for the lab's store (see docs/store-api.md).

Environment:
  FRUITSTORE_STORE_DIR          data dir holding db.sqlite3 and media/ (default <repo>/var/store)
  FRUITSTORE_STORE_SECRET_KEY   Django secret key (default: a fixed development key)
  FRUITSTORE_STORE_SERVE_MEDIA  "1" (default): Django serves /media/; "0": 404 there, like the lab's Django alone
  FRUITSTORE_STORE_TOKEN        if set, the API needs "Authorization: Token <token>"
  FRUITSTORE_STORE_BASIC_AUTH   "user:password"; if set, the API accepts/needs HTTP basic auth
  FRUITSTORE_STORE_WRITE_DELAY_MS  delay every POST by this many milliseconds (tests of a slow store; default 0)
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent
STORE_DIR = Path(os.environ.get("FRUITSTORE_STORE_DIR") or REPO_DIR / "var" / "store").resolve()
STORE_DIR.mkdir(parents=True, exist_ok=True)

# The fixed key only signs nothing of value here (no sessions, no auth app); set a real one for a real deployment.
SECRET_KEY = os.environ.get("FRUITSTORE_STORE_SECRET_KEY") or "fruitstore-dev-insecure-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "rest_framework",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "catalog.middleware.PostAppendSlashMiddleware",
    "catalog.middleware.WriteDelayMiddleware",
]
WRITE_DELAY = int(os.environ.get("FRUITSTORE_STORE_WRITE_DELAY_MS", "0")) / 1000

ROOT_URLCONF = "fruitstore_store.urls"
WSGI_APPLICATION = "fruitstore_store.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": STORE_DIR / "db.sqlite3",
        # WAL lets readers run beside the writer; IMMEDIATE + timeout make concurrent writers wait, not fail.
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

MEDIA_ROOT = STORE_DIR / "media"
MEDIA_URL = "/media/"
SERVE_MEDIA = os.environ.get("FRUITSTORE_STORE_SERVE_MEDIA", "1") == "1"

STORE_TOKEN = os.environ.get("FRUITSTORE_STORE_TOKEN", "")
STORE_BASIC_AUTH = os.environ.get("FRUITSTORE_STORE_BASIC_AUTH", "")

_authenticators = []
if STORE_TOKEN:
    _authenticators.append("catalog.auth.EnvTokenAuthentication")
if STORE_BASIC_AUTH:
    _authenticators.append("catalog.auth.EnvBasicAuthentication")

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": _authenticators,
    "DEFAULT_PERMISSION_CLASSES": ["catalog.auth.AuthenticatedIfConfigured"],
    # No django.contrib.auth here: the API has no user model.
    "UNAUTHENTICATED_USER": None,
}

# Errors (the 500s included) go to stderr, i.e. gunicorn's error log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}
