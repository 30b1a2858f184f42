"""examples/django/mysite/views.py: the views of the example project.

GET  /              a greeting, with the URL of /hello/<name> built by reverse
GET  /hello/<name>  "Hello, <name>!"
POST /echo          the posted form fields back as JSON
"""
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    # reverse() includes the mount prefix (SCRIPT_NAME) that subwsgi sets.
    return HttpResponse("Django on subwsgi. Try %s\n"
                        % reverse("hello", args=["world"]),
                        content_type="text/plain; charset=utf-8")


def hello(request, name):
    return HttpResponse("Hello, %s!\n" % name,
                        content_type="text/plain; charset=utf-8")


# No CSRF middleware is installed; the decorator documents that this view
# takes POSTs from anywhere on purpose.
@csrf_exempt
def echo(request):
    return JsonResponse(dict(request.POST.items()))
