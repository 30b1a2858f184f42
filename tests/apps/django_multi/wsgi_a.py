"""Django project site_a, set up the way django-admin startproject does."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_a.settings")
application = get_wsgi_application()
