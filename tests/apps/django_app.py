"""django_app.py: a single-file Django app (settings in the module) for the
framework and nginx tests. Every JSON answer is a flat object of strings.

GET  /               "django index"
GET  /env/<rest>     SCRIPT_NAME, PATH_INFO, request.path, request.path_info
POST /form           the posted form fields, "_body" and "_method"
GET  /urls           reverse() results (they must carry the mount prefix)
"""
import os
import sys

try:
    import cgi  # noqa: F401  (Django 3.2 needs it; CPython 3.13 removed it)
except ImportError:
    # The stand-in the example tests use (tests/apps/cgi313/cgi.py).
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cgi313'))
    import cgi  # noqa: F401

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY='subwsgi-tests-not-a-secret',
        ALLOWED_HOSTS=['*'],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[
            'django.middleware.common.CommonMiddleware',
            'django.middleware.csrf.CsrfViewMiddleware',
        ],
        USE_TZ=True,
        DATABASES={},
    )

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path, re_path, reverse  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


def index(request):
    return HttpResponse('django index\n', content_type='text/plain; charset=utf-8')


def env(request, rest):
    return JsonResponse({
        'SCRIPT_NAME': request.META.get('SCRIPT_NAME', ''),
        'PATH_INFO': request.META.get('PATH_INFO', ''),
        'path': request.path,
        'path_info': request.path_info,
        'rest': rest,
        'app': str(request.META.get('subwsgi.app', '')),
    })


@csrf_exempt
def form(request):
    if request.method != 'POST':
        return HttpResponse('POST only\n', status=405, content_type='text/plain')
    d = {'_body': request.body.decode('utf-8', 'replace'),
         '_method': request.method}
    d.update({k: v for k, v in request.POST.items()})
    return JsonResponse(d)


def urls(request):
    return JsonResponse({
        'index': reverse('index'),
        'env': reverse('env', kwargs={'rest': 'x/y'}),
        'form': reverse('form'),
        'absolute': request.build_absolute_uri(reverse('index')),
    })


urlpatterns = [
    path('', index, name='index'),
    re_path(r'^env/(?P<rest>.*)$', env, name='env'),
    path('form', form, name='form'),
    path('urls', urls, name='urls'),
]

application = get_wsgi_application()
