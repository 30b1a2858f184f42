"""django_app.py: a single-file Django app (settings in the module) for the
framework and nginx tests. Every JSON answer is a flat object of strings.

GET  /               "django index"
GET  /env/<rest>     SCRIPT_NAME, PATH_INFO, request.path, request.path_info
POST /form           the posted form fields, "_body" and "_method"
GET  /urls           reverse() results (they must carry the mount prefix)
"""
import re
import sys
import types

try:
    import cgi  # noqa: F401  (Django 3.2 needs it; CPython 3.13 removed it)
except ImportError:
    # The two helpers Django 3.2 uses, as in CPython 3.12's cgi.py.
    def _parseparam(s):
        while s[:1] == ';':
            s = s[1:]
            end = s.find(';')
            while end > 0 and (s.count('"', 0, end) - s.count('\\"', 0, end)) % 2:
                end = s.find(';', end + 1)
            if end < 0:
                end = len(s)
            f = s[:end]
            yield f.strip()
            s = s[end:]

    def _parse_header(line):
        parts = _parseparam(';' + line)
        key = parts.__next__()
        pdict = {}
        for p in parts:
            i = p.find('=')
            if i >= 0:
                name = p[:i].strip().lower()
                value = p[i + 1:].strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                    value = value.replace('\\\\', '\\').replace('\\"', '"')
                pdict[name] = value
        return key, pdict

    def _valid_boundary(s):
        pat = b"^[ -~]{0,200}[!-~]$" if isinstance(s, bytes) else "^[ -~]{0,200}[!-~]$"
        return re.match(pat, s)

    _cgi = types.ModuleType('cgi')
    _cgi.parse_header = _parse_header
    _cgi.valid_boundary = _valid_boundary
    sys.modules['cgi'] = _cgi

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
