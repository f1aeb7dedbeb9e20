"""WSGI entry point: gunicorn --chdir store fruitstore_store.wsgi:application"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fruitstore_store.settings")
application = get_wsgi_application()
