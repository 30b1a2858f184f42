"""fdprobe.py (tests/integration/test_faults.c): preloaded into the main
interpreter ([server] preload = fdprobe, PYTHONPATH=tests/apps), it writes
the process's open file descriptors, one "FD -> TARGET" line each, to the
file named by FDPROBE_OUT when Python is finalised (atexit). A start-up that
fails after Python started ends Python on its way out, so this shows what
that failure path left open, just before the process exits.
"""
import atexit
import os


def _write():
    lines = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            lines.append("%s -> %s\n" % (fd, os.readlink("/proc/self/fd/" + fd)))
        except OSError:
            pass   # the listing's own descriptor, closed by now
    with open(os.environ["FDPROBE_OUT"], "w") as f:
        f.writelines(lines)


atexit.register(_write)
