"""hello.py: the smallest WSGI app. When the server was started with
SW_TEST_HITS=/path in its environment, each request that reaches Python
appends its PATH_INFO to that file (tests use it to prove that rejected input
never reaches Python)."""
import os

HITS = os.environ.get('SW_TEST_HITS')


def _hit(environ):
    if HITS:
        with open(HITS, 'a') as f:
            f.write(environ.get('PATH_INFO', '') + '\n')


def application(environ, start_response):
    _hit(environ)
    body = b'Hello, world!\n'
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8'),
                              ('Content-Length', str(len(body)))])
    return [body]


def other(environ, start_response):
    """A second callable, for the PATH.py:CALLABLE form."""
    _hit(environ)
    body = b'other callable\n'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
