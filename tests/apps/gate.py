"""gate.py: endpoints whose timing the tests control through files.

/slow?gate=PATH&started=PATH&max=S  touch `started`, then wait until `gate`
                                    exists (at most S seconds, default 20);
                                    body "released" or "expired"
/barrier?dir=D&n=N&id=I&max=S       create D/arrive.I, wait until D holds N
                                    files; body "met|alone TOKEN THREAD"
                                    (TOKEN is per interpreter)
anything else                       body "fast\n"
"""
import os
import threading
import time
import uuid
from urllib.parse import parse_qs

# Each interpreter imports this module itself, so each gets its own token.
TOKEN = uuid.uuid4().hex


def _query(environ):
    return {k: v[0] for k, v in parse_qs(environ.get('QUERY_STRING', '')).items()}


def _wait(pred, seconds):
    deadline = time.monotonic() + seconds
    while not pred():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def application(environ, start_response):
    q = _query(environ)
    path = environ.get('PATH_INFO', '')
    if path == '/slow':
        if 'started' in q:
            open(q['started'], 'w').close()
        gate = q.get('gate', '/nonexistent')
        ok = _wait(lambda: os.path.exists(gate), float(q.get('max', '20')))
        body = b'released' if ok else b'expired'
    elif path == '/barrier':
        d, n = q['dir'], int(q['n'])
        open(os.path.join(d, 'arrive.' + q['id']), 'w').close()
        ok = _wait(lambda: len(os.listdir(d)) >= n, float(q.get('max', '20')))
        body = ('%s %s %d' % ('met' if ok else 'alone', TOKEN,
                              threading.get_ident())).encode()
    else:
        body = b'fast\n'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
