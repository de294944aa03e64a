"""WSGI entry point (`gunicorn notifuse_smtp.wsgi`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifuse_smtp.settings")
application = get_wsgi_application()
