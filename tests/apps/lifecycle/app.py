"""Lifecycle test app (tests/integration/test_lifecycle.c).

Answers "generation=N value=V": N is the interpreter generation, V comes from
helper.py, a module of the app's own that the tests rewrite (watch = yes).
With env LIFECYCLE_THREAD=loop it starts a non-daemon thread that loops for
ever in Python (stoppable); with LIFECYCLE_THREAD=block one blocked in a C
call for ever (not stoppable).
"""
import os
import threading
import time

import helper

kind = os.environ.get("LIFECYCLE_THREAD")
if kind == "loop":
    def loop():
        while True:
            time.sleep(0.05)
    threading.Thread(target=loop, name="app-loop").start()
elif kind == "block":
    threading.Thread(target=threading.Event().wait, name="app-blocked").start()


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    body = ("generation=%s value=%s" % (environ["subwsgi.generation"], helper.VALUE)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
