"""examples/django/mysite/urls.py: the URL map of the example project."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("hello/<str:name>", views.hello, name="hello"),
    path("echo", views.echo, name="echo"),
]
