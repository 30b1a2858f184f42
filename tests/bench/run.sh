#!/bin/bash
# run.sh: benchmark subwsgi against uWSGI and gunicorn (when installed) on the
# same apps at the same process x thread budget, in one run, and print medians
# and ratios against DESIGN.md section 8. Loopback and unix sockets only;
# every run is bounded in time. See tests/bench/README.md.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
APPS="$HERE/apps"

# ---- options ---------------------------------------------------------------
SUBWSGI="$ROOT/src/subwsgi"
ISOLATION=auto
DURATION=10
WARMUP=2
RUNS=3
CONC=8
PAR=2                     # interpreters / processes of the parallel cpu cell
APPLIST="hello flask cpu"
SERVERS="subwsgi uwsgi gunicorn"
MODES="direct nginx"
PORT_BASE=18400
OUT=""
PYPATH=""
INSTALL=0
STARVATION=0
STARVE_HELLO_CONC=1
STARVE_CPU_CONC=4
STARVE_CPU_INTERPS=1
KEEP=0
LABEL=""
QUIET_MAX=60
QUIET_LOAD=0.25

usage() {
    cat <<'EOF'
usage: tests/bench/run.sh [options]
  --subwsgi PATH       subwsgi binary (default: src/subwsgi of this tree); use
                       e.g. /tmp/sw3.13.0/src/subwsgi for another CPython build
  --isolation MODE     isolation of every subwsgi app (default auto; own-gil
                       for the 2-interpreter cpu cell on 3.12+ builds)
  --label TEXT         name of this subwsgi build in the table (default: its
                       embedded Python, from --version)
  --python-path P      python-path for subwsgi's apps (e.g.
                       /usr/lib/python3/dist-packages for Flask on a pyenv build)
  --install            apt-get install what is missing (uwsgi
                       uwsgi-plugin-python3 gunicorn wrk nginx), then run
  --quick              smoke run: -d 2, -w 1, 1 run per cell
  --duration S         seconds measured per run (default 10)
  --warmup S           seconds of warm-up per cell before the runs (default 2)
  --runs N             runs per cell; the table shows medians (default 3)
  --concurrency N      client connections for every cell (default 8)
  --parallel N         interpreters (subwsgi) / processes (uWSGI, gunicorn)
                       of the parallel cpu cell (default 2; 0 = skip it)
  --apps LIST          subset of "hello flask cpu"
  --servers LIST       subset of "subwsgi uwsgi gunicorn" (nginx return 200
                       always runs in nginx mode)
  --modes LIST         subset of "direct nginx"
  --port-base N        first of 4 loopback TCP ports for nginx (default 18400)
  --out DIR            keep raw results and logs there (default: a new
                       directory under /tmp, printed at the end)
  --starvation         only the starvation mode: hello's latency in a subwsgi
                       process whose other app is kept busy by a CPU-bound load,
                       compared with hello alone
  --starve-conc H,C    client connections for hello and for the cpu app in
                       --starvation (default 1,4)
  --starve-cpu-interps N  interpreters of the busy cpu app (default 1)
  --quiet-wait S       before each run, wait up to S seconds (default 60; 0 =
                       never) until the machine's other load is under
                       --quiet-load cores (default 0.25) for a second: other
                       jobs on a shared machine skew results
  --keep               keep the temp dir with sockets and configs
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --subwsgi) SUBWSGI=$2; shift ;;
        --isolation) ISOLATION=$2; shift ;;
        --label) LABEL=$2; shift ;;
        --python-path) PYPATH=$2; shift ;;
        --install) INSTALL=1 ;;
        --quick) DURATION=2; WARMUP=1; RUNS=1 ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --concurrency) CONC=$2; shift ;;
        --parallel) PAR=$2; shift ;;
        --apps) APPLIST=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --modes) MODES=$2; shift ;;
        --port-base) PORT_BASE=$2; shift ;;
        --out) OUT=$2; shift ;;
        --starvation) STARVATION=1 ;;
        --starve-conc) STARVE_HELLO_CONC=${2%,*}; STARVE_CPU_CONC=${2#*,}; shift ;;
        --starve-cpu-interps) STARVE_CPU_INTERPS=$2; shift ;;
        --quiet-wait) QUIET_MAX=$2; shift ;;
        --quiet-load) QUIET_LOAD=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for v in DURATION WARMUP RUNS CONC PAR PORT_BASE STARVE_HELLO_CONC STARVE_CPU_CONC STARVE_CPU_INTERPS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number" >&2; exit 2; }
done
[ "$RUNS" -ge 1 ] && [ "$DURATION" -ge 1 ] && [ "$CONC" -ge 1 ] || { echo "run.sh: runs, duration and concurrency must be >= 1" >&2; exit 2; }

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- install ---------------------------------------------------------------
if [ "$INSTALL" = 1 ]; then
    want=()
    have uwsgi || want+=(uwsgi)
    [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || want+=(uwsgi-plugin-python3)
    have gunicorn || want+=(gunicorn)
    have wrk || want+=(wrk)
    have nginx || [ -x /usr/sbin/nginx ] || want+=(nginx)
    /usr/bin/python3 -c 'import flask' 2>/dev/null || want+=(python3-flask)
    if [ ${#want[@]} -gt 0 ]; then
        log "apt-get install ${want[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" \
            || { echo "run.sh: apt-get install failed" >&2; exit 2; }
    fi
fi
PATH=$PATH:/usr/sbin
HZ=$(getconf CLK_TCK)
NGINX=$(command -v nginx || true)

[ -x "$SUBWSGI" ] || { echo "run.sh: no subwsgi binary at $SUBWSGI (make -j2, or --subwsgi)" >&2; exit 2; }
SUBWSGI=$(cd "$(dirname "$SUBWSGI")" && pwd)/$(basename "$SUBWSGI")
SW_VERSION=$("$SUBWSGI" --version 2>&1 | tr '\n' ' ')
[ -n "$LABEL" ] || LABEL=py$(grep -o 'Python [0-9.]*' <<<"$SW_VERSION" | head -n 1 | cut -d' ' -f2)

# ---- scratch space, cleanup ------------------------------------------------
T=$(mktemp -d /tmp/swbench.XXXXXX)
if [ -z "$OUT" ]; then OUT=$T/out; fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUNS_TSV=$OUT/runs.tsv
CELLS_TSV=$OUT/cells.tsv
: >"$RUNS_TSV"
: >"$CELLS_TSV"
PIDS=()                   # everything we started, killed by pid on exit

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 0.3
    for p in "${PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    mkdir -p "$OUT/logs" 2>/dev/null && cp "$T"/*.err "$T"/*.log "$T"/*.ini "$OUT/logs/" 2>/dev/null
    if [ "$KEEP" = 1 ]; then log "temp dir kept: $T"; else
        find "$T" -maxdepth 1 -name '*.sock' -delete 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the binary: a rebuild of the tree during the run (others
# work in it) must not change the server half-way.
SUBWSGI_ORIG=$SUBWSGI
SW_SHA=$(sha256sum "$SUBWSGI" | cut -c1-12)
cp "$SUBWSGI" "$T/subwsgi" && SUBWSGI=$T/subwsgi

# ---- the load generator ----------------------------------------------------
LOADGEN=$T/scgiload
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -pthread -o "$LOADGEN" "$HERE/scgiload.c" \
    || { echo "run.sh: cannot build scgiload" >&2; exit 2; }

# ---- servers ---------------------------------------------------------------
# Each start_* sets SRV_PID and SRV_SOCK and returns 0 once a request through
# the socket answers 200, 1 (with SRV_WHY) if it did not within 30 s.
SRV_PID=""
SRV_SOCK=""
SRV_WHY=""
SRV_LOG=""
CUR_MODE=direct           # in server log names, so a later cell keeps an earlier one's log

app_file() { case "$1" in flask) echo "$APPS/flask_app.py" ;; *) echo "$APPS/$1.py" ;; esac; }
app_module() { case "$1" in flask) echo flask_app ;; *) echo "$1" ;; esac; }

wait_ready() {          # $1 = probe command...; waits for SRV_PID to answer
    local i
    for i in $(seq 1 300); do
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            SRV_WHY="exited during start-up: $(tail -n 3 "$SRV_LOG" 2>/dev/null | tr '\n' ' ')"
            return 1
        fi
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    SRV_WHY="not answering after 30 s: $(tail -n 3 "$SRV_LOG" 2>/dev/null | tr '\n' ' ')"
    return 1
}

probe_scgi() { "$LOADGEN" -c 1 -n 1 -T 5 "unix:$1" /; }
probe_http_unix() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' --unix-socket "$1" http://localhost/)" = 200 ]; }

# $1 app, $2 interpreters, $3 threads, $4 socket, $5 conf path; more apps as
# extra "name:file:mount:interps" words in $6...
write_subwsgi_conf() {
    local app=$1 ni=$2 nt=$3 sock=$4 conf=$5
    shift 5
    {
        echo "[server]"
        echo "scgi = unix:$sock"
        echo "access-log = off"
        echo "error-log = ${conf%.ini}.err"
        echo "queue-size = 4096"
        if [ -n "$app" ]; then
            echo "[app:$app]"
            echo "wsgi = $(app_file "$app")"
            echo "mount = /"
            echo "interpreters = $ni"
            echo "threads = $nt"
            echo "isolation = $ISOLATION"
            [ -z "$PYPATH" ] || echo "python-path = $PYPATH"
        fi
        local spec name file mount nint
        for spec in "$@"; do
            IFS=: read -r name file mount nint <<<"$spec"
            echo "[app:$name]"
            echo "wsgi = $file"
            echo "mount = $mount"
            echo "interpreters = $nint"
            echo "threads = $nt"
            echo "isolation = $ISOLATION"
            [ -z "$PYPATH" ] || echo "python-path = $PYPATH"
        done
    } >"$conf"
}

start_subwsgi() {       # app interps threads
    SRV_SOCK=$T/sw.sock
    local conf=$T/sw-$CUR_MODE-$1-$2x$3.ini
    rm -f "$SRV_SOCK" "${conf%.ini}.err"
    write_subwsgi_conf "$1" "$2" "$3" "$SRV_SOCK" "$conf"
    SRV_LOG=${conf%.ini}.err
    "$SUBWSGI" -c "$conf" >"${conf%.ini}.out" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_ready probe_scgi "$SRV_SOCK"
}

start_uwsgi() {         # app processes threads
    SRV_SOCK=$T/uw.sock
    SRV_LOG=$T/uw-$CUR_MODE-$1-$2x$3.log
    rm -f "$SRV_SOCK" "$SRV_LOG"
    uwsgi --plugin python3 --scgi-socket "$SRV_SOCK" --wsgi-file "$(app_file "$1")" \
        --master --processes "$2" --threads "$3" --disable-logging \
        --die-on-term --vacuum --logto "$SRV_LOG" >/dev/null 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_ready probe_scgi "$SRV_SOCK"
}

start_gunicorn() {      # app workers threads (HTTP: only behind nginx)
    SRV_SOCK=$T/gu.sock
    SRV_LOG=$T/gu-$CUR_MODE-$1-$2x$3.log
    rm -f "$SRV_SOCK" "$SRV_LOG"
    gunicorn --workers "$2" --threads "$3" --bind "unix:$SRV_SOCK" --chdir "$APPS" \
        --error-logfile "$SRV_LOG" --log-level warning \
        "$(app_module "$1"):application" >/dev/null 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_ready probe_http_unix "$SRV_SOCK"
}

stop_server() {         # TERM (SIGINT for uWSGI, whose TERM means reload without --die-on-term), then KILL
    local sig=TERM i
    [ "$1" = uwsgi ] && sig=INT
    kill -"$sig" "$SRV_PID" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SRV_PID" 2>/dev/null; then
        log "  $1 did not stop in 10 s after SIG$sig; KILL"
        kill -KILL "$SRV_PID" 2>/dev/null
    fi
    wait "$SRV_PID" 2>/dev/null
    SRV_RC=$?
}

# ---- nginx -----------------------------------------------------------------
NGX_PID=""
P_CEIL=$PORT_BASE
P_SW=$((PORT_BASE + 1))
P_UW=$((PORT_BASE + 2))
P_GU=$((PORT_BASE + 3))

start_nginx() {
    local d=$T/nginx
    mkdir -p "$d"
    {
        [ "$(id -u)" = 0 ] && echo "user root;"   # workers must reach the 0700 temp dir
        cat <<EOF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path $d/client_body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P_CEIL;
        location / { return 200 "Hello, world!\n"; }
    }
    server {
        listen 127.0.0.1:$P_SW;
        location / { include /etc/nginx/scgi_params; scgi_pass unix:$T/sw.sock; }
    }
    server {
        listen 127.0.0.1:$P_UW;
        location / { include /etc/nginx/scgi_params; scgi_pass unix:$T/uw.sock; }
    }
    server {
        listen 127.0.0.1:$P_GU;
        location / {
            proxy_pass http://unix:$T/gu.sock;
            proxy_set_header Host \$host;
        }
    }
}
EOF
    } >"$d/nginx.conf"
    "$NGINX" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" >"$d/stdout" 2>&1 &
    NGX_PID=$!
    PIDS+=("$NGX_PID")
    local i
    for i in $(seq 1 50); do
        [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$P_CEIL/")" = 200 ] && return 0
        kill -0 "$NGX_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "run.sh: nginx did not start: $(cat "$d/stdout" "$d/error.log" 2>/dev/null | tail -n 3)" >&2
    return 1
}

# ---- clients: every run prints one key=value line --------------------------
client_direct() {       # seconds socket path
    "$LOADGEN" -c "$CONC" -d "$1" "unix:$2" "$3" | grep '^requests='
}

client_wrk() {          # seconds port path
    /usr/bin/time -f 'client_cpu_s %U %S' wrk -t 1 -c "$CONC" -d "${1}s" --latency "http://127.0.0.1:$2$3" 2>&1 | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /Latency +[0-9]/ { mx = ms($4) }
        /requests in/ { req = $1 }
        /Requests\/sec/ { rps = $2 }
        /Socket errors/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx/ { non = $5 }
        /^client_cpu_s/ { ccpu = $2 + $3 }
        END { printf "requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d non2xx=%d client_cpu_s=%.2f\n",
                     req, rps, p50, p99, mx, err + 0, non + 0, ccpu }'
}

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p;s/^$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n 1; }

# ---- one group: the servers of one (mode, app, layout), measured in turns ---
# Every server of the group is started, then each round gives every server one
# run (a warm-up of WARMUP s, then DURATION s measured), rotating the order, so
# that slow phases of a noisy machine hit every server alike. Peak memory is
# watched over the group's whole life. Appends to runs.tsv and cells.tsv.
declare -A G_PID G_SOCK G_LOG G_WATCH G_STATUS G_PORT

speed_probe() {         # ms per cpu.py request right now: the machine's speed
    /usr/bin/python3 -c '
import sys, time; sys.path.insert(0, sys.argv[1]); import cpu, statistics
r = []
for _ in range(30):
    t = time.perf_counter(); cpu.work(); r.append(time.perf_counter() - t)
print("%.3f" % (statistics.median(r) * 1e3))' "$APPS" 2>/dev/null
}

busy_ticks() {          # CPU ticks spent busy, all CPUs, since boot
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

quiet_wait() {          # wait until the rest of the machine is (nearly) idle
    [ "$QUIET_MAX" -gt 0 ] || return 0
    local waited=0 a b
    while :; do
        a=$(busy_ticks); sleep 1; b=$(busy_ticks)
        if awk -v d=$((b - a)) -v hz="$HZ" -v lim="$QUIET_LOAD" 'BEGIN { exit !(d / hz < lim) }'; then
            [ "$waited" -gt 0 ] && log "  machine quiet after ${waited}s"
            return 0
        fi
        waited=$((waited + 1))
        if [ "$waited" -ge "$QUIET_MAX" ]; then
            log "  machine still busy ($(awk -v d=$((b - a)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }') cores) after ${QUIET_MAX}s: measuring anyway"
            return 0
        fi
    done
}

display_name() { if [ "$1" = subwsgi ]; then echo "subwsgi-$LABEL"; else echo "$1"; fi; }

group() {               # mode app layout server...
    local mode=$1 app=$2 layout=$3
    shift 3
    local np=${layout%x*} nt=${layout#*x} s live=() i
    log "group: $mode $app $layout c=$CONC: $*"
    CUR_MODE=$mode
    for s in "$@"; do
        G_STATUS[$s]=ok
        if [ "$s" = nginx-return ]; then
            G_PID[$s]=$NGX_PID
            G_PORT[$s]=$P_CEIL
        else
            SRV_PID=""
            if ! "start_$s" "$app" "$np" "$nt"; then
                log "  $s FAILED: $SRV_WHY"
                G_STATUS[$s]="FAILED: $(tr '\t' ' ' <<<"$SRV_WHY" | cut -c1-300)"
                [ -n "$SRV_PID" ] && stop_server "$s"
                printf '%s\t%s\t%s\t%s\t%s\t0\t0\t0\t%s\n' "$mode" "$app" "$(display_name "$s")" \
                    "$layout" "$CONC" "${G_STATUS[$s]}" >>"$CELLS_TSV"
                continue
            fi
            G_PID[$s]=$SRV_PID
            G_SOCK[$s]=$SRV_SOCK
            G_LOG[$s]=$SRV_LOG
            case "$s" in subwsgi) G_PORT[$s]=$P_SW ;; uwsgi) G_PORT[$s]=$P_UW ;; gunicorn) G_PORT[$s]=$P_GU ;; esac
            if [ "$mode" = nginx ]; then
                for i in $(seq 1 50); do
                    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${G_PORT[$s]}/")" = 200 ] && break
                    sleep 0.1
                done
            fi
        fi
        rm -f "$T/peak-$s"
        /usr/bin/python3 "$HERE/procwatch.py" watch "${G_PID[$s]}" "$T/peak-$s" 0.5 &
        G_WATCH[$s]=$!
        PIDS+=("${G_WATCH[$s]}")
        live+=("$s")
    done

    local r k n=${#live[@]} line c0 c1 t0 t1 non2xx cpu_s wall speed b0 b1 n0 n1 other
    for r in $(seq 1 "$RUNS"); do
        for k in $(seq 0 $((n - 1))); do
            s=${live[$(((k + r - 1) % n))]}
            [ "${G_STATUS[$s]}" = ok ] || continue
            quiet_wait
            if [ "$WARMUP" -gt 0 ]; then
                if [ "$mode" = direct ]; then client_direct "$WARMUP" "${G_SOCK[$s]}" / >/dev/null
                else client_wrk "$WARMUP" "${G_PORT[$s]}" / >/dev/null; fi
            fi
            speed=$(speed_probe)
            c0=$(/usr/bin/python3 "$HERE/procwatch.py" cpu "${G_PID[$s]}")
            n0=0; n1=0
            if [ "$mode" = nginx ] && [ "$s" != nginx-return ]; then
                n0=$(kv cpu_s "$(/usr/bin/python3 "$HERE/procwatch.py" cpu "$NGX_PID")")
            fi
            b0=$(busy_ticks)
            t0=$(date +%s.%N)
            if [ "$mode" = direct ]; then line=$(client_direct "$DURATION" "${G_SOCK[$s]}" /)
            else line=$(client_wrk "$DURATION" "${G_PORT[$s]}" /); fi
            t1=$(date +%s.%N)
            b1=$(busy_ticks)
            c1=$(/usr/bin/python3 "$HERE/procwatch.py" cpu "${G_PID[$s]}")
            if [ "$mode" = nginx ] && [ "$s" != nginx-return ]; then
                n1=$(kv cpu_s "$(/usr/bin/python3 "$HERE/procwatch.py" cpu "$NGX_PID")")
            fi
            if [ "$mode" = direct ]; then
                non2xx=$(( $(kv requests "$line") - $(kv status_2xx "$line") ))
            else
                non2xx=$(kv non2xx "$line")
            fi
            cpu_s=$(awk -v a="$(kv cpu_s "$c0")" -v b="$(kv cpu_s "$c1")" 'BEGIN { printf "%.2f", b - a }')
            wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
            # Everything else the machine did meanwhile (other users' jobs),
            # in cores: all busy time minus server, client and nginx.
            other=$(awk -v b=$((b1 - b0)) -v hz="$HZ" -v w="$wall" -v srv="$cpu_s" \
                -v cl="$(kv client_cpu_s "$line")" -v ng="$(awk -v a="$n0" -v b="$n1" 'BEGIN { print b - a }')" \
                'BEGIN { o = (b / hz - srv - cl - ng) / w; if (o < 0) o = 0; printf "%.2f", o }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$mode" "$app" "$(display_name "$s")" "$layout" "$CONC" "$r" "$(kv rps "$line")" \
                "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" "$(kv max_ms "$line")" \
                "$(kv errors "$line")" "$non2xx" "$cpu_s" "$wall" "$(kv requests "$line")" \
                "$speed" "$(kv client_cpu_s "$line")" "$other" >>"$RUNS_TSV"
            log "  run $r $s: rps=$(kv rps "$line") p50=$(kv p50_ms "$line") p99=$(kv p99_ms "$line") errors=$(kv errors "$line") non2xx=$non2xx server_cpu=${cpu_s}s client_cpu=$(kv client_cpu_s "$line")s other_load=${other} speed=${speed}ms"
            if ! kill -0 "${G_PID[$s]}" 2>/dev/null; then
                wait "${G_PID[$s]}" 2>/dev/null
                G_STATUS[$s]="DIED (exit $?) in run $r: $(tail -n 3 "${G_LOG[$s]}" 2>/dev/null | tr '\t\n' '  ' | cut -c1-300)"
                log "  $s ${G_STATUS[$s]}"
            fi
        done
    done

    local pk
    for s in "${live[@]}"; do
        kill -TERM "${G_WATCH[$s]}" 2>/dev/null
        wait "${G_WATCH[$s]}" 2>/dev/null
        if [ "${G_STATUS[$s]}" = ok ] && [ "$s" != nginx-return ]; then
            SRV_PID=${G_PID[$s]}
            stop_server "$s"
            if [ "$s" = subwsgi ] && [ "$SRV_RC" != 0 ]; then
                G_STATUS[$s]="ok (exit $SRV_RC at shutdown)"
            fi
        fi
        pk=$(cat "$T/peak-$s" 2>/dev/null)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$app" "$(display_name "$s")" "$layout" \
            "$CONC" "$(kv peak_rss_kib "$pk")" "$(kv peak_pss_kib "$pk")" "$(kv procs "$pk")" \
            "${G_STATUS[$s]}" >>"$CELLS_TSV"
    done
}

# ---- versions --------------------------------------------------------------
versions() {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cpus, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
    local tree
    tree=$(cd "$(dirname "$SUBWSGI_ORIG")/.." && pwd)
    local commit="not a git checkout; built $(date -r "$SUBWSGI_ORIG" '+%Y-%m-%d %H:%M')"
    if git -C "$tree" rev-parse --git-dir >/dev/null 2>&1; then
        commit="commit $(git -C "$tree" rev-parse --short HEAD)"
        [ -n "$(git --no-optional-locks -C "$tree" status --porcelain -- src 2>/dev/null)" ] && commit="$commit + uncommitted changes in src/"
    fi
    echo "subwsgi: $SUBWSGI_ORIG (sha256 $SW_SHA; $SW_VERSION) tree $tree, $commit"
    have uwsgi && echo "uwsgi: $(uwsgi --version) with $(dpkg-query -W -f='uwsgi-plugin-python3 ${Version}' uwsgi-plugin-python3 2>/dev/null) (Python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])'))"
    have gunicorn && echo "gunicorn: $(gunicorn --version 2>&1 | head -n 1) on $(head -n 1 "$(command -v gunicorn)" | cut -c3-) ($(/usr/bin/python3 --version))"
    [ -n "$NGINX" ] && echo "nginx: $("$NGINX" -v 2>&1 | sed 's/.*: //')"
    have wrk && echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "flask: $(/usr/bin/python3 -c 'import flask, importlib.metadata as m; print(m.version("flask"))' 2>/dev/null)"
    echo "settings: concurrency $CONC, $RUNS run(s) x ${DURATION}s after ${WARMUP}s warm-up per cell, subwsgi isolation=$ISOLATION"
    echo "cpu app: $(/usr/bin/python3 "$APPS/cpu.py")"
}

# ---- starvation mode -------------------------------------------------------
starvation() {
    local conf=$T/sw-starve.ini sock=$T/sw.sock
    rm -f "$sock"
    write_subwsgi_conf "" 1 1 "$sock" "$conf" \
        "hello:$APPS/hello.py:/hello:1" "cpu:$APPS/cpu.py:/cpu:$STARVE_CPU_INTERPS"
    SRV_LOG=${conf%.ini}.err
    rm -f "$SRV_LOG"
    log "starvation: $SUBWSGI, isolation=$ISOLATION, hello 1x1 c=$STARVE_HELLO_CONC, cpu ${STARVE_CPU_INTERPS}x1 busy with c=$STARVE_CPU_CONC"
    "$SUBWSGI" -c "$conf" >"${conf%.ini}.out" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    if ! wait_ready "$LOADGEN" -c 1 -n 1 -T 5 "unix:$sock" /hello; then
        echo "run.sh: subwsgi did not start: $SRV_WHY" >&2
        return 1
    fi
    "$LOADGEN" -c 1 -n 1 -T 5 "unix:$sock" /cpu >/dev/null || log "  warning: /cpu did not answer 200"
    local f=$OUT/starvation.tsv r line bg busy
    printf 'phase\trun\thello_rps\thello_p50_ms\thello_p99_ms\thello_max_ms\thello_errors\tcpu_rps\tcpu_p99_ms\n' >"$f"
    "$LOADGEN" -c "$STARVE_HELLO_CONC" -d "$WARMUP" "unix:$sock" /hello >/dev/null
    for r in $(seq 1 "$RUNS"); do
        quiet_wait
        line=$("$LOADGEN" -c "$STARVE_HELLO_CONC" -d "$DURATION" "unix:$sock" /hello | grep '^requests=')
        printf 'alone\t%s\t%s\t%s\t%s\t%s\t%s\t-\t-\n' "$r" "$(kv rps "$line")" "$(kv p50_ms "$line")" \
            "$(kv p99_ms "$line")" "$(kv max_ms "$line")" "$(kv errors "$line")" >>"$f"
        log "  hello alone, run $r: $line"
        quiet_wait
        # The cpu client starts first and outlives the hello run: warm-up + 1 s margin.
        "$LOADGEN" -c "$STARVE_CPU_CONC" -d $((DURATION + WARMUP + 1)) "unix:$sock" /cpu >"$T/busy.$r" &
        bg=$!
        sleep "$WARMUP"
        line=$("$LOADGEN" -c "$STARVE_HELLO_CONC" -d "$DURATION" "unix:$sock" /hello | grep '^requests=')
        wait "$bg"
        busy=$(grep '^requests=' "$T/busy.$r")
        printf 'busy\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$(kv rps "$line")" "$(kv p50_ms "$line")" \
            "$(kv p99_ms "$line")" "$(kv max_ms "$line")" "$(kv errors "$line")" \
            "$(kv rps "$busy")" "$(kv p99_ms "$busy")" >>"$f"
        log "  hello with cpu busy, run $r: $line"
        log "  (cpu app meanwhile: $busy)"
    done
    stop_server subwsgi
    /usr/bin/python3 "$HERE/report.py" starvation "$f" "$LABEL" "$ISOLATION" \
        "$STARVE_HELLO_CONC" "$STARVE_CPU_CONC" "$STARVE_CPU_INTERPS"
}

# ---- main ------------------------------------------------------------------
versions | tee "$OUT/versions.txt" >&2

if [ "$STARVATION" = 1 ]; then
    starvation
    rc=$?
    log "raw results: $OUT"
    exit $rc
fi

want_server() { [[ " $SERVERS " == *" $1 "* ]] && { [ "$1" = subwsgi ] || have "$1"; }; }
for s in uwsgi gunicorn; do
    [[ " $SERVERS " == *" $s "* ]] && ! have "$s" && log "$s not installed: skipped (--install installs it)"
done

layouts_for() {         # app -> the PxT layouts to run
    echo 1x1
    [ "$1" = cpu ] && [ "$PAR" -gt 1 ] && echo "${PAR}x1"
}

if [[ " $MODES " == *" direct "* ]]; then
    for app in $APPLIST; do
        for layout in $(layouts_for "$app"); do
            list=()
            for s in subwsgi uwsgi; do want_server "$s" && list+=("$s"); done
            [ ${#list[@]} -gt 0 ] && group direct "$app" "$layout" "${list[@]}"
        done
    done
fi

if [[ " $MODES " == *" nginx "* ]]; then
    if [ -z "$NGINX" ] || ! have wrk; then
        log "nginx or wrk missing: nginx mode skipped (--install)"
    elif start_nginx; then
        for app in $APPLIST; do
            for layout in $(layouts_for "$app"); do
                list=()
                [ "$app" = hello ] && [ "$layout" = 1x1 ] && list+=(nginx-return)
                for s in subwsgi uwsgi gunicorn; do want_server "$s" && list+=("$s"); done
                group nginx "$app" "$layout" "${list[@]}"
            done
        done
    fi
fi

/usr/bin/python3 "$HERE/report.py" table "$RUNS_TSV" "$CELLS_TSV" "$LABEL" "$ISOLATION" | tee "$OUT/table.md"
log "raw results: $OUT (runs.tsv, cells.tsv, table.md, versions.txt)"
