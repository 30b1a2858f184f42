"""examples/django/mysite/settings.py: the settings of a minimal Django
project (no database, no admin site: one view). Keep SECRET_KEY private in a
real project (read it from the environment, see the env = key of subwsgi)."""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-change-me")
DEBUG = False
# The front-end server (nginx, Apache) checks the Host; list your names here.
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
USE_TZ = True
WSGI_APPLICATION = "mysite.wsgi.application"
