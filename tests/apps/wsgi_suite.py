"""wsgi_suite.py: one endpoint per PEP 3333 corner, chosen by PATH_INFO.

Validated by wsgiref.validate (any violation raises AssertionError):
  /v/get  /v/read  /v/readline  /v/iter  /v/readlines   (the last four echo
  the request body as they read it)
Not validated:
  /echo            body read with read(n) chunks, echoed with Content-Length
  /read_all        read() with no size
  /iter            `for line in wsgi.input` (the server's own iterator)
  /readlines       readlines()
  /stream?size=N   N bytes, byte i == i % 251, in many chunks of mixed sizes
  /raise           ZeroDivisionError before start_response
  /badheader?kind= crlf|lf|nul|name|colon|latin1|bytes: an invalid header
  /after?gate=P    Content-Length 100000, 1000 bytes, (wait for P,) then
                   RuntimeError
  /close?marker=P&mode=ok|raise|early   iterable whose close() writes P
  /write           start_response's write() then a returned body
  /excinfo         start_response, then again with exc_info before any body
  /double_start    start_response twice without exc_info (an error)
  /file?path=P     wsgi.file_wrapper over a real file
  /filelike?size=N wsgi.file_wrapper over io.BytesIO
  /errors?token=T  writes a line to wsgi.errors
"""
import io
import os
import sys
import time
from urllib.parse import parse_qs
from wsgiref.validate import validator

PATTERN = bytes(range(251)) * 1045        # 262295 bytes, a multiple of 251
CHUNKS = (65536, 1, 8191, 0, 100000, 4096, 251, 250001)


def _query(environ):
    return {k: v[0] for k, v in parse_qs(environ.get('QUERY_STRING', '')).items()}


def _ok(start_response, body, ctype='application/octet-stream', extra=()):
    start_response('200 OK', [('Content-Type', ctype),
                              ('Content-Length', str(len(body)))] + list(extra))
    return [body]


def _read_sized(inp, n, chunk=8192):
    parts, left = [], n
    while left > 0:
        b = inp.read(min(chunk, left))
        if not b:
            break
        parts.append(b)
        left -= len(b)
    return b''.join(parts)


def _length(environ):
    return int(environ.get('CONTENT_LENGTH') or 0)


# ---- validated endpoints ------------------------------------------------------

def v_get(environ, start_response):
    return _ok(start_response, b'validated get\n', 'text/plain')


def v_read(environ, start_response):
    return _ok(start_response, _read_sized(environ['wsgi.input'], _length(environ)))


def v_readline(environ, start_response):
    inp, parts = environ['wsgi.input'], []
    while True:
        line = inp.readline()
        if not line:
            break
        parts.append(line)
    return _ok(start_response, b''.join(parts))


def v_iter(environ, start_response):
    return _ok(start_response, b''.join(line for line in environ['wsgi.input']))


def v_readlines(environ, start_response):
    return _ok(start_response, b''.join(environ['wsgi.input'].readlines()))


VALIDATED = {
    '/v/get': validator(v_get),
    '/v/read': validator(v_read),
    '/v/readline': validator(v_readline),
    '/v/iter': validator(v_iter),
    '/v/readlines': validator(v_readlines),
}


# ---- other endpoints ------------------------------------------------------------

def echo(environ, start_response):
    return _ok(start_response, _read_sized(environ['wsgi.input'], _length(environ), 65536))


def read_all(environ, start_response):
    return _ok(start_response, environ['wsgi.input'].read())


def iter_input(environ, start_response):
    return _ok(start_response, b''.join(iter(environ['wsgi.input'])))


def readlines(environ, start_response):
    return _ok(start_response, b''.join(environ['wsgi.input'].readlines()))


def stream(environ, start_response):
    size = int(_query(environ)['size'])
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])

    def gen():
        off, k = 0, 0
        while off < size:
            n = min(CHUNKS[k % len(CHUNKS)], size - off)
            k += 1
            start = off % 251
            yield PATTERN[start:start + n]
            off += n
    return gen()


def raise_(environ, start_response):
    return [str(1 / 0).encode()]


BAD_HEADERS = {
    'crlf': ('X-Bad', 'a\r\nInjected: yes'),
    'lf': ('X-Bad', 'a\nInjected: yes'),
    'nul': ('X-Bad', 'a\x00b'),
    'name': ('Bad Name', 'v'),
    'colon': ('X-Bad:Injected', 'v'),
    'latin1': ('X-Bad', 'caf\u20ac'),
    'bytes': ('X-Bad', b'bytes-not-str'),
}


def badheader(environ, start_response):
    bad = BAD_HEADERS[_query(environ)['kind']]
    start_response('200 OK', [('Content-Type', 'text/plain'), bad])
    return [b'this body must not be sent\n']


def after(environ, start_response):
    gate = _query(environ).get('gate')
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', '100000')])

    def gen():
        yield b'a' * 1000
        # With ?gate=PATH, wait (at most 10 s) until the client has seen the
        # first block: an aborted connection may discard unread data.
        deadline = time.monotonic() + 10
        while gate and not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)
        raise RuntimeError('boom-after-headers')
    return gen()


class Closing:
    def __init__(self, marker, mode):
        self.marker, self.mode, self.n = marker, mode, 0

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.mode == 'early':
            raise ValueError('early-iteration-error')
        if self.n == 1:
            return b'first;'
        if self.mode == 'raise':
            raise ValueError('mid-iteration-error')
        if self.n == 2:
            return b'second'
        raise StopIteration

    def close(self):
        with open(self.marker, 'w') as f:
            f.write('closed after %d\n' % self.n)


def close(environ, start_response):
    q = _query(environ)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return Closing(q['marker'], q.get('mode', 'ok'))


def write(environ, start_response):
    w = start_response('200 OK', [('Content-Type', 'text/plain')])
    w(b'written;')
    w(b'')
    return [b'returned']


def excinfo(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-First', '1')])
    try:
        raise ValueError('replaced before sending')
    except ValueError:
        start_response('500 Internal Server Error',
                       [('Content-Type', 'text/plain'), ('X-Replaced', 'yes')],
                       sys.exc_info())
    return [b'replaced']


def double_start(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    start_response('201 Created', [('Content-Type', 'text/plain')])
    return [b'should not get here']


def file_(environ, start_response):
    path = _query(environ)['path']
    size = os.path.getsize(path)
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(size))])
    return environ['wsgi.file_wrapper'](open(path, 'rb'), 32768)


def filelike(environ, start_response):
    n = int(_query(environ)['size'])
    data = (PATTERN * (n // len(PATTERN) + 1))[:n]
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](io.BytesIO(data), 8192)


def errors(environ, start_response):
    err = environ['wsgi.errors']
    err.write('wsgi-errors-line %s\n' % _query(environ)['token'])
    err.flush()
    return _ok(start_response, b'logged\n', 'text/plain')


ROUTES = {
    '/echo': echo, '/read_all': read_all, '/iter': iter_input,
    '/readlines': readlines, '/stream': stream, '/raise': raise_,
    '/badheader': badheader, '/after': after, '/close': close,
    '/write': write, '/excinfo': excinfo, '/double_start': double_start,
    '/file': file_, '/filelike': filelike, '/errors': errors,
}
ROUTES.update(VALIDATED)


def application(environ, start_response):
    app = ROUTES.get(environ.get('PATH_INFO', ''))
    if app is None:
        body = b'no such endpoint\n'
        start_response('404 Not Found', [('Content-Type', 'text/plain'),
                                         ('Content-Length', str(len(body)))])
        return [body]
    return app(environ, start_response)
