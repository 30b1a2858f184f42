SECRET_KEY = "test-only-b"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "site_b.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
USE_TZ = True
SITE_NAME = "site b"
