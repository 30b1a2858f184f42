from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def whoami(request):
    return HttpResponse(settings.SITE_NAME, content_type="text/plain")


urlpatterns = [path("", whoami)]
