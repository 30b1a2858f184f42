"""printer.py: an app that writes to every log stream it has
(tests/integration/test_applog.c).

- at import: print("imported", "ok")
- GET /talk: print() in pieces, a line written in two calls, sys.stderr,
  wsgi.errors, and text left without its newline at the request's end.
- GET /raise: raises RuntimeError("boom-marker") (a traceback).
- GET /long?N: prints N "x" and then "after-long" in one write.
- GET /many?N: prints N lines "many I", one print() each.
"""
import sys

print("imported", "ok")


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/talk":
        print("out", "pieces", 42)
        print("partial", end="")
        print(" joined")
        sys.stderr.write("err line\n")
        environ["wsgi.errors"].write("werr line\n")
        environ["wsgi.errors"].flush()
        sys.stdout.write("no newline at the end")
    elif path == "/raise":
        raise RuntimeError("boom-marker")
    elif path == "/long":
        n = int(environ.get("QUERY_STRING") or "20000")
        sys.stdout.write("x" * n + "\nafter-long\n")
    elif path == "/many":
        for i in range(int(environ.get("QUERY_STRING") or "100")):
            print("many", i)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
