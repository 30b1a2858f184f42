"""hello.py: benchmark app, the smallest useful WSGI answer (14 bytes of
plain text). Measures the server's own per-request cost."""

BODY = b'Hello, world!\n'
HEADERS = [('Content-Type', 'text/plain'), ('Content-Length', str(len(BODY)))]


def application(environ, start_response):
    start_response('200 OK', HEADERS)
    return [BODY]
