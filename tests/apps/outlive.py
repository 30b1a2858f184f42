"""outlive.py: an app whose threads keep a request's `write` callable or
`wsgi.input` after the request ended (test_reqctx.c, DESIGN section 7).

/keep_write?dir=D  sends a head, starts a thread that writes 1 MiB chunks of
                   b'X' (the client reads nothing, so it soon blocks) and
                   returns once the thread is stuck. The thread's outcome goes
                   to D/write.result; it then keeps `write` for 3 more seconds.
                   With &fail=1 the app raises instead of returning (the
                   response is truncated: the client must get a reset).
/keep_input?dir=D  starts a thread that reads the whole body (the client sends
                   only part of it, so it blocks in read) and answers
                   "A answered" at once. The outcome goes to D/input.result.
/echo              answers with its request body (what the other clients use);
                   with ?hold=D&name=N it first records D/N.held and waits
                   (at most 20 s) until D/go exists, so that the test knows
                   a worker is inside this request
Results: "OSError=1|0 TYPE: MESSAGE" or "returned N bytes, FOREIGN=1|0".
"""
import os
import threading
import time
from urllib.parse import parse_qs


def _dir(environ):
    return parse_qs(environ.get('QUERY_STRING', ''))['dir'][0]


def _record(path, text):
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(path + '.tmp', path)


def _outcome(e):
    return 'OSError=%d %s: %s' % (isinstance(e, OSError), type(e).__name__, e)


def keep_write(environ, start_response):
    d = _dir(environ)
    write = start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    write(b'A-head\n')
    progress = [0]

    def run():
        chunk = b'X' * (1 << 20)
        try:
            for _ in range(256):
                write(chunk)
                progress[0] += 1
            result = 'returned %d MiB, FOREIGN=0' % progress[0]
        except BaseException as e:
            result = _outcome(e)
        _record(os.path.join(d, 'write.result'), result)
        time.sleep(3)          # still holding write: the client must not wait
        _record(os.path.join(d, 'write.done'), '')

    # Not a daemon (a worker's thread would make it one: FACTS.md section
    # 10); the test waits for the .done file before stopping the server.
    threading.Thread(target=run, name='keep-write', daemon=False).start()
    # Return once the thread made no progress for 0.3 s: it is blocked on
    # the full socket.
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if progress[0] != last:
            last, since = progress[0], time.monotonic()
        elif time.monotonic() - since > 0.3:
            break
        time.sleep(0.02)
    _record(os.path.join(d, 'returned'), str(progress[0]))
    if 'fail=1' in environ.get('QUERY_STRING', ''):
        raise RuntimeError('outlive: failing after the head was sent')
    return []


def keep_input(environ, start_response):
    d = _dir(environ)
    stream = environ['wsgi.input']
    blocked = threading.Event()

    def run():
        blocked.set()
        try:
            data = stream.read()
            foreign = any(b != ord('a') for b in data)
            result = 'returned %d bytes, FOREIGN=%d' % (len(data), foreign)
        except BaseException as e:
            result = _outcome(e)
        _record(os.path.join(d, 'input.result'), result)
        _record(os.path.join(d, 'input.done'), '')

    threading.Thread(target=run, name='keep-input', daemon=False).start()
    blocked.wait()
    time.sleep(0.3)            # let it block in the socket read
    body = b'A answered'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def echo(environ, start_response):
    q = parse_qs(environ.get('QUERY_STRING', ''))
    if 'hold' in q:
        _record(os.path.join(q['hold'][0], q['name'][0] + '.held'), '')
        go = os.path.join(q['hold'][0], 'go')
        deadline = time.monotonic() + 20
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.02)
    n = int(environ.get('CONTENT_LENGTH') or 0)
    body = environ['wsgi.input'].read(n)
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/keep_write':
        return keep_write(environ, start_response)
    if path == '/keep_input':
        return keep_input(environ, start_response)
    return echo(environ, start_response)
