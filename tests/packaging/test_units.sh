#!/bin/sh
# tests/packaging/test_units.sh: the systemd units of packaging/systemd
# (TAP). systemd-analyze verify checks each one (a template through an
# instance) from the build tree: copies have ExecStart= pointing at the
# built binary, and MANPATH finds the man: pages of Documentation= in man/.
# Any line it prints about our units fails the test. Also checks the
# contract the units and examples/multiuser share (paths, notify).
. "$(dirname "$0")/tap.sh"
units="$srcdir/packaging/systemd"

checks="subwsgi.service subwsgi.socket subwsgi@alice.service subwsgi@alice.socket"
echo "1..7"

mkdir -p "$tmp/units" "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
for f in "$units"/*.service "$units"/*.socket; do
  sed "s|/usr/sbin/subwsgi|$builddir/src/subwsgi|g" "$f" > "$tmp/units/${f##*/}"
done
cp "$srcdir/man/subwsgi.8" "$tmp/man/man8/"
cp "$srcdir/man/subwsgi.ini.5" "$tmp/man/man5/"
cp "$srcdir/man/scgi-request.1" "$tmp/man/man1/"

# systemd-analyze comes with systemd (packaging/bootstrap installs it); a
# container without it can still run the rest of the suite.
for u in $checks; do
  if ! command -v systemd-analyze >/dev/null; then
    skip "systemd-analyze verify $u" "systemd-analyze not found (apt-get install systemd)"
    continue
  fi
  (cd "$tmp/units" && MANPATH="$tmp/man" SYSTEMD_LOG_LEVEL=notice \
     systemd-analyze verify "$tmp/units/$u") > "$tmp/out" 2>&1
  rc=$?
  # Complaints about units of the machine (not ours) are not ours to fix.
  grep -E 'subwsgi|'"$tmp" "$tmp/out" > "$tmp/err"
  if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ]; then
    ok "systemd-analyze verify $u"
  else
    [ -s "$tmp/err" ] || cp "$tmp/out" "$tmp/err"
    not_ok "systemd-analyze verify $u"
  fi
done

# The template's paths are a contract with examples/multiuser and the docs.
: > "$tmp/err"
for want in 'ListenStream=/run/subwsgi/%i/scgi.sock' 'ListenStream=/run/subwsgi/%i/admin.sock' \
            'SocketGroup=www-data'; do
  grep -qx -F "$want" "$units/subwsgi@.socket" || echo "subwsgi@.socket lacks $want" >> "$tmp/err"
done
# shellcheck disable=SC2016
for want in 'User=%i' 'ExecStart=/usr/sbin/subwsgi -c /etc/subwsgi/%i.ini' 'Type=notify' \
            'NotifyAccess=all' 'KillMode=mixed' 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qx -F "$want" "$units/subwsgi@.service" || echo "subwsgi@.service lacks $want" >> "$tmp/err"
done
if [ -s "$tmp/err" ]; then not_ok "template paths and notify semantics"; else ok "template paths and notify semantics"; fi

# The addresses systemd passes are the ones a per-user config names: a
# config written for the template's sockets is valid.
mkdir -p "$tmp/home"
printf 'def application(e, s):\n    s("200 OK", [])\n    return [b""]\n' > "$tmp/home/wsgi.py"
cat > "$tmp/alice.ini" <<INI
[server]
scgi = unix:/run/subwsgi/alice/scgi.sock
admin = unix:/run/subwsgi/alice/admin.sock
[app:site]
wsgi = $tmp/home/wsgi.py
mount = /
INI
if "$builddir/src/subwsgi" -c "$tmp/alice.ini" --check > "$tmp/err" 2>&1; then
  ok "a config for the template's sockets passes --check"
else
  not_ok "a config for the template's sockets passes --check"
fi

# systemd's sockets are matched by address (src/handover.c): the per-user
# addresses of the socket unit must be exactly the ones in that config.
sock_paths=$(sed -n 's|^ListenStream=||p' "$units/subwsgi@.socket" | sed 's|%i|alice|' | sort)
ini_paths=$(sed -n 's|^[a-z]* = unix:||p' "$tmp/alice.ini" | sort)
if [ "$sock_paths" = "$ini_paths" ]; then
  ok "subwsgi@.socket listens exactly where the per-user config says"
else
  printf 'socket unit: %s\nconfig: %s\n' "$sock_paths" "$ini_paths" > "$tmp/err"
  not_ok "subwsgi@.socket listens exactly where the per-user config says"
fi
[ "$fails" -eq 0 ]
