"""The smallest Django project with a database: SQLite, its test database a file
(so that a connection is a file descriptor `check_fds` can see)."""

import os
import tempfile

SECRET_KEY = "leaktest-family-suite"
INSTALLED_APPS = ["leakapp"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "unused.sqlite3",
        "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"leaktest-django-{os.getpid()}.sqlite3")},
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
