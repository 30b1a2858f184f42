"""envecho.py: answers with its WSGI environ as a flat JSON object whose values
are all strings: str values as they are, anything else by repr(). For every
key K it also adds "type:K" (the value's type name); "_body" is the request
body (read with read(CONTENT_LENGTH), decoded as latin-1) and
"_file_wrapper_callable" says whether wsgi.file_wrapper is callable."""
import json


def application(environ, start_response):
    out = {}
    for k, v in environ.items():
        out[k] = v if type(v) is str else repr(v)
        out['type:' + k] = type(v).__name__
    n = int(environ.get('CONTENT_LENGTH') or 0)
    body = environ['wsgi.input'].read(n) if n > 0 else b''
    out['_body'] = body.decode('latin-1')
    out['_file_wrapper_callable'] = repr(callable(environ.get('wsgi.file_wrapper')))
    data = json.dumps(out, sort_keys=True).encode('ascii')
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(data)))])
    return [data]
