"""Host mode's test app (tests/integration/test_host.c): one copy per owner,
run by that owner's worker process.

- GET /whoami: {"pid", "uid", "gid", "app"} of the process serving it.
- GET /read?PATH: "read N bytes", or "refused: ERROR" when the process
  may not read PATH (another owner's file).
- GET /segv: reads address 0 (a C extension's crash: SIGSEGV).
- GET /exit: os._exit(3) (an app ending its own process).
- GET /sleep?S: sleeps S seconds (a request in flight).
- With HOST_CRASH_AT_IMPORT=1 in its env, importing it crashes the
  process (a crash loop).
- While a file named "broken" is next to it, importing it raises (a bad
  deploy: a new process cannot load it).
"""
import ctypes
import json
import os
import time

if os.environ.get("HOST_CRASH_AT_IMPORT") == "1":
    ctypes.string_at(0)
if os.path.exists(os.path.join(os.path.dirname(__file__), "broken")):
    raise RuntimeError("this deploy is broken")


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/whoami":
        body = json.dumps({"pid": str(os.getpid()), "uid": str(os.getuid()),
                           "gid": str(os.getgid()),
                           "app": environ.get("HOST_APP", "")})
    elif path == "/read":
        try:
            with open(query, "rb") as f:
                body = "read %d bytes" % len(f.read())
        except OSError as e:
            body = "refused: %s" % e.strerror
    elif path == "/segv":
        ctypes.string_at(0)
        body = "not reached"
    elif path == "/exit":
        os._exit(3)
    elif path == "/sleep":
        time.sleep(float(query or "1"))
        body = "slept"
    else:
        body = "hello from " + environ.get("HOST_APP", "?")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
