"""alice's site (examples/hosting): says which Unix user and process run it."""
import os
import pwd


def application(environ, start_response):
    body = ("Hello from alice's site! user=%s pid=%d app=%s path=%s\n" % (
        pwd.getpwuid(os.geteuid()).pw_name, os.getpid(), environ["subwsgi.app"],
        environ["SCRIPT_NAME"] + environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
