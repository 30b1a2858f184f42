#!/bin/bash
# tests/bench/admin_latency.sh: latency of GET /v1/apps/NAME while every
# worker of every app spins in pure Python (DESIGN section 8: p99 under
# 10 ms while every worker is busy). Two apps, two interpreters x one thread
# each, all four workers kept busy by clients that never stop asking for
# 2-second CPU loops; then N status requests on one keep-alive connection.
#
#   tests/bench/admin_latency.sh [SUBWSGI_BINARY] [N]
set -euo pipefail
bin=$(realpath "${1:-src/subwsgi}")
n=${2:-2000}
dir=$(mktemp -d /tmp/subwsgi-admin-XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
token=bench-token-$RANDOM$RANDOM$RANDOM
hash=$(printf '%s\n' "$token" | "$bin" --hash-token)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
scgi=$(port); admin=$(port)
cat > "$dir/spin.py" <<'PY'
import time
def application(environ, start_response):
    t = time.monotonic()
    while time.monotonic() - t < 2.0:
        pass
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'spun']
PY
cat > "$dir/subwsgi.ini" <<INI
[server]
scgi = 127.0.0.1:$scgi
admin = 127.0.0.1:$admin
access-log = off
error-log = $dir/error.log
[user:bench]
$hash
role = admin
[app:a]
wsgi = $dir/spin.py
mount = /a
interpreters = 2
[app:b]
wsgi = $dir/spin.py
mount = /b
interpreters = 2
INI
"$bin" -c "$dir/subwsgi.ini" & pids+=($!)
for _ in $(seq 200); do grep -q ready "$dir/error.log" 2>/dev/null && break; sleep 0.05; done
req=$(dirname "$bin")/scgi-request
# Eight clients: two per worker, so a worker is never idle.
for i in 1 2 3 4 5 6 7 8; do
  app=$([ $((i % 2)) = 0 ] && echo a || echo b)
  ( while :; do "$req" -t 60 "127.0.0.1:$scgi" "/$app/" >/dev/null 2>&1 || true; done ) & pids+=($!)
done
sleep 1
python3 - "$admin" "$token" "$n" <<'PY'
import http.client, json, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
hdr = {"Authorization": "Bearer " + token}
busy = []
lat = []
for i in range(n):
    t = time.perf_counter()
    conn.request("GET", "/v1/apps/a", headers=hdr)
    r = conn.getresponse()
    body = r.read()
    lat.append((time.perf_counter() - t) * 1000)
    assert r.status == 200, r.status
    if i % 100 == 0:
        a = json.loads(body)
        busy.append(sum(it["busy"] for it in a["interpreters"]))
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("status requests: %d  p50 %.2f ms  p99 %.2f ms  max %.2f ms" % (n, pick(0.5), pick(0.99), lat[-1]))
print("busy workers of app a at samples (2 = all): %s" % busy[:20])
PY
