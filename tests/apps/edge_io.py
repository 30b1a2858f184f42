"""edge_io.py: the app of test_edge_io (request bodies at the edges).

/hello    answers at once, reads nothing.
/len      reads the whole body in 8 KiB pieces; answers "LEN SUM" (the byte
          count and the sum of the bytes modulo 2**32).
/ignore   answers 200 without reading the body.
/half     reads the first half of the body, then answers.

When the server was started with SW_TEST_HITS=/path, every request that
reaches Python appends its PATH_INFO to that file (to prove that a request
was, or was not, handed to the app)."""
import os

HITS = os.environ.get('SW_TEST_HITS')


def _answer(start_response, text):
    body = text.encode('ascii')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if HITS:
        with open(HITS, 'a') as f:
            f.write(path + '\n')
    n = int(environ.get('CONTENT_LENGTH') or 0)
    inp = environ['wsgi.input']
    if path == '/len':
        total = 0
        s = 0
        while True:
            chunk = inp.read(8192)
            if not chunk:
                break
            total += len(chunk)
            s = (s + sum(chunk)) & 0xffffffff
        return _answer(start_response, '%d %d' % (total, s))
    if path == '/half':
        got = len(inp.read(n // 2))
        return _answer(start_response, 'read %d' % got)
    if path == '/ignore':
        return _answer(start_response, 'ignored %d' % n)
    return _answer(start_response, 'hello')
