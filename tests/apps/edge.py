"""edge.py: the edges of the response (issue 11), chosen by PATH_INFO.

  /hdr?byte=N      a header value holding the byte N (a control character)
  /hdr?kind=K      status: a CGI-style Status header; tab: a tab in a value
                   (valid); cl2: two Content-Length headers; clbad: a
                   Content-Length that is not a number; del: DEL in a name;
                   conn, te, upgrade: a hop-by-hop header (PEP 3333 forbids
                   them: the server's business)
  /long?mode=M     Content-Length 10 and more body than that: iter (yields
                   20 bytes), write (write()s 20 bytes), mixed (write()s 5,
                   yields 15), file (file_wrapper over a 20-byte file),
                   writefile (write()s 5, then file_wrapper over 20 bytes)
  /file?path=P     wsgi.file_wrapper over open(P, 'rb'), no Content-Length
  /errs            writes a line with ESC and CR to wsgi.errors
"""
import os
import tempfile
from urllib.parse import parse_qs

TWENTY = b'0123456789ABCDEFGHIJ'


def _query(environ):
    return {k: v[0] for k, v in parse_qs(environ.get('QUERY_STRING', '')).items()}


def hdr(environ, start_response):
    q = _query(environ)
    headers = [('Content-Type', 'text/plain')]
    if 'byte' in q:
        headers.append(('X-Ctl', 'a' + chr(int(q['byte'])) + 'b'))
    else:
        headers += {
            'status': [('Status', '302 Found')],
            'tab': [('X-Tab', 'a\tb')],
            'cl2': [('Content-Length', '5'), ('Content-Length', '50')],
            'clbad': [('Content-Length', '5x')],
            'del': [('X-D\x7fl', 'v')],
            'conn': [('Connection', 'close')],
            'te': [('transfer-encoding', 'chunked')],
            'upgrade': [('Upgrade', 'websocket')],
        }[q['kind']]
    start_response('200 OK', headers)
    return [b'hello']


def _twenty_file():
    f = tempfile.TemporaryFile()
    f.write(TWENTY)
    f.seek(0)
    return f


def long(environ, start_response):
    mode = _query(environ)['mode']
    write = start_response('200 OK', [('Content-Type', 'text/plain'),
                                      ('Content-Length', '10')])
    if mode == 'iter':
        return [TWENTY[:10], TWENTY[10:]]
    if mode == 'write':
        write(TWENTY)
        return []
    if mode == 'mixed':
        write(TWENTY[:5])
        return [TWENTY[5:]]
    if mode == 'file':
        return environ['wsgi.file_wrapper'](_twenty_file())
    if mode == 'writefile':
        write(TWENTY[:5])
        return environ['wsgi.file_wrapper'](_twenty_file())
    raise ValueError(mode)


def file_(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return environ['wsgi.file_wrapper'](open(_query(environ)['path'], 'rb'))


def errs(environ, start_response):
    environ['wsgi.errors'].write('edge-errs a\x1b[31mred\rforged\n')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


ROUTES = {'/hdr': hdr, '/long': long, '/file': file_, '/errs': errs}


def application(environ, start_response):
    app = ROUTES.get(environ.get('PATH_INFO', ''))
    if app is None:
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'no such endpoint\n']
    return app(environ, start_response)
