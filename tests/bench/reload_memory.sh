#!/bin/bash
# tests/bench/reload_memory.sh: resident memory and reload time across many
# in-process reloads of a Flask app (Debian's python3-flask), through the
# admin API as a control panel does them. Also prints the reload_mode the
# app got with and without `preload = markupsafe`.
#
#   tests/bench/reload_memory.sh [SUBWSGI_BINARY] [CHECKPOINTS...]
#   tests/bench/reload_memory.sh src/subwsgi 1 50 200
#   RECYCLE_RSS=128 tests/bench/reload_memory.sh src/subwsgi 1 50 300   # with a memory budget
# With RECYCLE_RSS the server hands over to a fresh process once it has
# grown by that many MiB; the table then follows the serving process.
set -euo pipefail
bin=$(realpath "${1:-src/subwsgi}")
shift || true
checkpoints=${*:-1 50 200}
last=${checkpoints##* }
dir=$(mktemp -d /tmp/subwsgi-reload-XXXXXX)
recycle=${RECYCLE_RSS:-}
trap 'kill $(cat "$dir/pid" 2>/dev/null) $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
token=bench-token-$RANDOM$RANDOM$RANDOM
hash=$(printf '%s\n' "$token" | "$bin" --hash-token)
pyver=$("$bin" --version | sed -n 's/^Python \([0-9]*\.[0-9]*\).*/\1/p')
pypath=""
[ "$pyver" = 3.11 ] || pypath="python-path = /usr/lib/python3/dist-packages"

write_app() {
  cat > "$dir/app.py.new" <<PY
from flask import Flask
application = Flask(__name__)
@application.route('/')
def index():
    return 'version $1'
PY
  mv "$dir/app.py.new" "$dir/app.py"
}

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() {   # $1: extra [server] lines
  scgi=$(port); admin=$(port)
  cat > "$dir/subwsgi.ini" <<INI
[server]
scgi = 127.0.0.1:$scgi
admin = 127.0.0.1:$admin
access-log = off
error-log = $dir/error.log
pid-file = $dir/pid
${recycle:+recycle-rss = $recycle}
$1
[user:bench]
$hash
role = admin
[app:flask]
wsgi = $dir/app.py
mount = /
$pypath
INI
  : > "$dir/error.log"
  "$bin" -c "$dir/subwsgi.ini" & pid=$!
  for _ in $(seq 200); do grep -q ready "$dir/error.log" && return; sleep 0.05; done
  echo "server did not start:"; cat "$dir/error.log"; exit 1
}

api() { curl -s -H "Authorization: Bearer $token" "$@"; }
serving_pid() { api "http://127.0.0.1:$admin/v1/server" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
handovers() { api "http://127.0.0.1:$admin/v1/server" | python3 -c 'import json,sys; print(json.load(sys.stdin)["handovers"])'; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$(serving_pid)/status; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin).get('$1'))"; }

echo "subwsgi: $("$bin" --version | tr '\n' ' ')"
echo
echo "reload_mode without preload:"
write_app 0
start ""
api "http://127.0.0.1:$admin/v1/apps/flask" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("  isolation=%s reload_mode=%s reason=%s" % (a["isolation"], a["reload_mode"], a["reload_mode_reason"]))'
kill $pid; wait $pid || true
rm -f "$dir/pid"

# On 3.11 Flask needs markupsafe preloaded for in-process reloads (FACTS.md
# section 5); other Pythons here do not see Debian's packages from the main
# interpreter, and own-GIL interpreters do not need it.
preload=""
[ "$pyver" = 3.11 ] && preload="preload = markupsafe"
start "$preload"
echo "with '${preload:-no preload}':"
api "http://127.0.0.1:$admin/v1/apps/flask" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("  isolation=%s reload_mode=%s reason=%s" % (a["isolation"], a["reload_mode"], a["reload_mode_reason"]))'
echo
printf '%8s %10s %16s %16s %10s\n' reloads rss_mib reload_ms_last reload_ms_median handovers
echo "       0 $(rss_mib)"
times=()
for n in $(seq 1 "$last"); do
  write_app "$n"
  t0=$(date +%s%N)
  code=$(api -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$admin/v1/apps/flask/reload?wait=60")
  t1=$(date +%s%N)
  [ "$code" = 200 ] || { echo "reload $n answered $code"; tail "$dir/error.log"; exit 1; }
  body=$("$(dirname "$bin")/scgi-request" "127.0.0.1:$scgi" / | tail -n 1)
  [ "$body" = "version $n" ] || { echo "after reload $n the app said: $body"; exit 1; }
  ms=$(( (t1 - t0) / 1000000 ))
  times+=("$ms")
  for c in $checkpoints; do
    if [ "$c" = "$n" ]; then
      median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
      printf '%8s %10s %16s %16s %10s\n' "$n" "$(rss_mib)" "$ms" "$median" "$(handovers)"
    fi
  done
done
