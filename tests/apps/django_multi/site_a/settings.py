SECRET_KEY = "test-only-a"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "site_a.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
USE_TZ = True
SITE_NAME = "site a"
