"""examples/django/mysite/wsgi.py: the WSGI entry point, as django-admin
startproject writes it. subwsgi gives each app its own os.environ, so two
Django projects in one subwsgi each keep their own DJANGO_SETTINGS_MODULE."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
