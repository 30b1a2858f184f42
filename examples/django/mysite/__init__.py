"""mysite: the Django project package of examples/django."""
