"""cpu.py: benchmark app doing a fixed amount of pure-Python CPU work per
request (no I/O, no C helper that releases the GIL). ITERATIONS was
calibrated once so one request costs ~2 ms under Debian 12's CPython 3.11 on
the bench machine (see RESULTS.md); it stays fixed so every server and every
Python build does the same work. `python3 cpu.py` prints the cost here."""

ITERATIONS = 33000


def work(n=ITERATIONS):
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) & 0xFFFFFFFF
    return acc


def application(environ, start_response):
    body = b'%d\n' % work()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


if __name__ == '__main__':
    import statistics
    import sys
    import time
    runs = []
    for _ in range(200):
        t0 = time.perf_counter()
        work()
        runs.append(time.perf_counter() - t0)
    print('%s: median %.3f ms, min %.3f ms per request (ITERATIONS=%d)'
          % (sys.version.split()[0], statistics.median(runs) * 1e3,
             min(runs) * 1e3, ITERATIONS))
