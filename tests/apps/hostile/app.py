"""Hostile app (tests/integration/test_hostile.c): what an app can do to the
server it runs in.

- GET /daemon starts a threading.Thread blocked for ever; started from a
  worker it inherits daemon=True (FACTS.md section 10).
- GET /raw starts a thread with _thread.start_new_thread, which the
  threading module does not even list.
- GET /sleep/S sleeps S seconds in the request.
- GET /env/K answers os.environ[K].
- GET /keepwrite answers, and leaves a thread that keeps the request's
  write callable and writes with it until it raises.
- While the file named by HOSTILE_WEDGE exists, importing this module does
  not end (a deploy whose import hangs); with HOSTILE_SLOW_IMPORT=S it takes
  S seconds.
"""
import _thread
import os
import threading
import time

_wedge = os.environ.get("HOSTILE_WEDGE")
while _wedge and os.path.exists(_wedge):
    time.sleep(0.2)
time.sleep(float(os.environ.get("HOSTILE_SLOW_IMPORT", "0")))


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/daemon":
        threading.Thread(target=threading.Event().wait, name="app-waiter").start()
    elif path == "/raw":
        _thread.start_new_thread(threading.Event().wait, ())
    elif path == "/keepwrite":
        write = start_response("200 OK", [("Content-Type", "text/plain")])

        def keep_writing():
            try:
                while True:
                    write(b"x" * 4096)
                    time.sleep(0.01)
            except OSError:
                pass
        threading.Thread(target=keep_writing, name="app-writer").start()
        return [b"kept"]
    elif path.startswith("/sleep/"):
        time.sleep(float(path[len("/sleep/"):]))
    elif path.startswith("/env/"):
        body = os.environ.get(path[len("/env/"):], "-").encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    body = ("%s generation=%s" % (environ["subwsgi.app"], environ["subwsgi.generation"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
