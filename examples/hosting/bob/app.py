"""bob's site (examples/hosting): says which Unix user and process run it,
and logs each request to wsgi.errors (the panel's Log view shows it)."""
import os
import pwd


def application(environ, start_response):
    user = pwd.getpwuid(os.geteuid()).pw_name
    environ["wsgi.errors"].write("bob's site served %s\n" % environ["PATH_INFO"])
    body = ("Hello from bob's site! user=%s pid=%d app=%s path=%s\n" % (
        user, os.getpid(), environ["subwsgi.app"],
        environ["SCRIPT_NAME"] + environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
