"""Test app for the interpreter pool (tests/integration/test_pool.c).

/spin?cpu=S     burn S seconds of this thread's CPU time in pure Python and
                report the wall-clock interval and the interpreter
/forever        spin until the server interrupts it (request-timeout)
/sleep?s=S      time.sleep (a C call the watchdog cannot interrupt)
/env?set=K      report os.environ entries POOL_*, then set os.environ[K]
/gate?f=PATH    block until PATH exists (bounded: 20 s)
/rendezvous?f=PATH&me=0|1&timeout=S
                raise flag `me` in a shared memory map of PATH, then spin in
                pure Python until the other flag is up. With env
                POOL_SWITCH_INTERVAL=60 no GIL is handed over while spinning,
                so "met" is possible only when the other request runs Python
                at the same moment
anything else   a small JSON with the interpreter and generation
"""
import json
import mmap
import os
import sys
import time
from urllib.parse import parse_qs

# Set at import, before any request waits for a GIL: a waiter reads the
# interval when it starts waiting.
if os.environ.get("POOL_SWITCH_INTERVAL"):
    sys.setswitchinterval(float(os.environ["POOL_SWITCH_INTERVAL"]))


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    out = {"app": environ["subwsgi.app"],
           "interpreter": str(environ["subwsgi.interpreter"]),
           "generation": str(environ["subwsgi.generation"])}
    if path == "/spin":
        cpu = float(q.get("cpu", "0.25"))
        start = time.monotonic()
        t0 = time.thread_time()
        n = 0
        while time.thread_time() - t0 < cpu:
            n += 1
        out.update(start=repr(start), end=repr(time.monotonic()), loops=str(n))
    elif path == "/forever":
        while True:
            pass
    elif path == "/sleep":
        time.sleep(float(q.get("s", "1")))
    elif path == "/env":
        out.update({k: v for k, v in os.environ.items() if k.startswith("POOL_")})
        if "set" in q:
            os.environ[q["set"]] = "1"
    elif path == "/rendezvous":
        me = int(q["me"])
        with open(q["f"], "r+b") as f:
            shared = mmap.mmap(f.fileno(), 2)
        shared[me] = 1
        deadline = time.monotonic() + float(q.get("timeout", "2"))
        met = False
        while time.monotonic() < deadline:   # a vDSO call: no syscall, GIL kept
            if shared[1 - me]:
                met = True
                break
        shared.close()
        out["rendezvous"] = "met" if met else "timeout"
    elif path == "/gate":
        deadline = time.monotonic() + 20
        while not os.path.exists(q["f"]) and time.monotonic() < deadline:
            time.sleep(0.01)
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
