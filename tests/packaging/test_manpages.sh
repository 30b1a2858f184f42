#!/bin/sh
# tests/packaging/test_manpages.sh: the manual pages (TAP). Each page must
# render with groff -ww and man -l without a single warning, and must stay
# in step with the code: every option of --help is in the page and every
# key of the config table (src/config.c keys[]) in subwsgi.ini(5).
. "$(dirname "$0")/tap.sh"
man="$srcdir/man"

pages="subwsgi.8 subwsgi.ini.5 scgi-request.1"
echo "1..11"

# groff and man come from groff-base and man-db (packaging/bootstrap).
for p in $pages; do
  if ! command -v groff >/dev/null; then
    echo "groff is missing: apt-get install groff-base (packaging/bootstrap does)" > "$tmp/err"
    not_ok "$p renders with groff -ww"
  elif groff -ww -man -Tutf8 -z "$man/$p" > "$tmp/err" 2>&1 && [ ! -s "$tmp/err" ]; then
    ok "$p renders with groff -ww"
  else
    not_ok "$p renders with groff -ww"
  fi
done
for p in $pages; do
  if ! command -v man >/dev/null; then
    echo "man is missing: apt-get install man-db (packaging/bootstrap does)" > "$tmp/err"
    not_ok "$p renders with man -l"
  elif MANWIDTH=80 man -l "$man/$p" > "$tmp/out" 2> "$tmp/err" && [ ! -s "$tmp/err" ] \
       && grep -q "^NAME" "$tmp/out"; then
    ok "$p renders with man -l"
  else
    not_ok "$p renders with man -l"
  fi
done

# Long options of a --help text, one per line.
long_options() { grep -o -- '--[a-z][a-z-]*' | sort -u; }

# $1 = page, rest: options that must be in it (as \-\-name).
all_in_page() {
  page=$1; shift
  : > "$tmp/err"
  for o in "$@"; do
    grep -q -F -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$man/$page" \
      || echo "$o is not in $page" >> "$tmp/err"
  done
  [ ! -s "$tmp/err" ]
}

for prog in subwsgi:subwsgi.8 scgi-request:scgi-request.1; do
  bin=${prog%%:*}; page=${prog#*:}
  if ! "$builddir/src/$bin" --help > "$tmp/help" 2> "$tmp/err"; then
    not_ok "every option of $bin --help is in $page"
    continue
  fi
  if ! grep -q "$(echo "$page" | sed 's/\.\([0-9]\)$/(\1)/')" "$tmp/help"; then
    echo "$bin --help does not name its manual page" > "$tmp/err"
    not_ok "every option of $bin --help is in $page"
    continue
  fi
  # shellcheck disable=SC2046
  if all_in_page "$page" $(long_options < "$tmp/help"); then
    ok "every option of $bin --help is in $page"
  else
    not_ok "every option of $bin --help is in $page"
  fi
done

# subwsgi.ini(5): every key of the table, as a .BI/.BR/.TP item.
keys=$(sed -n 's/^ *{SEC_[A-Z]*, "\([a-z0-9-]*\)",.*/\1/p' "$srcdir/src/config.c" | sort -u)
if [ -z "$keys" ]; then
  echo "no keys found in src/config.c (has the table's layout changed?)" > "$tmp/err"
  not_ok "every config key is in subwsgi.ini.5"
else
  : > "$tmp/err"
  for k in $keys; do
    grep -q -E "^\.(B|BI|BR) $(printf '%s' "$k" | sed 's/-/\\\\-/g')( |$)" "$man/subwsgi.ini.5" \
      || echo "key $k is not described in subwsgi.ini.5" >> "$tmp/err"
  done
  if [ -s "$tmp/err" ]; then
    not_ok "every config key ($(echo "$keys" | wc -w)) is in subwsgi.ini.5"
  else
    ok "every config key ($(echo "$keys" | wc -w)) is in subwsgi.ini.5"
  fi
fi

# The section names too.
: > "$tmp/err"
for s in '\[server\]' '\[user:NAME\]' '\[app:NAME\]'; do
  grep -q "^\.SH $s SECTION" "$man/subwsgi.ini.5" || echo "no section $s" >> "$tmp/err"
done
if [ -s "$tmp/err" ]; then not_ok "subwsgi.ini.5 has a part per section"; else ok "subwsgi.ini.5 has a part per section"; fi

# The EXAMPLE of subwsgi.ini(5) is a valid config once its paths exist:
# man escapes undone, /home/alice, /run and /var/log moved under $tmp.
mkdir -p "$tmp/ex/blog" "$tmp/ex/venv"
printf 'def application(e, s):\n    pass\n' > "$tmp/ex/blog/wsgi.py"
sed -n '/^\.SH EXAMPLE/,/^\.EE/p' "$man/subwsgi.ini.5" | sed '1,2d;$d' \
  | sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\en/\\n/g' \
        -e "s|/home/alice|$tmp/ex|g" -e "s|/var/log/subwsgi|$tmp/ex|g" -e "s|/run/subwsgi|$tmp/ex|g" \
  > "$tmp/example.ini"
if grep -q '^\[app:' "$tmp/example.ini" \
   && "$builddir/src/subwsgi" -c "$tmp/example.ini" --check > "$tmp/err" 2>&1; then
  ok "the EXAMPLE of subwsgi.ini.5 passes subwsgi --check"
else
  [ -s "$tmp/err" ] || echo "no example config found in subwsgi.ini.5" > "$tmp/err"
  not_ok "the EXAMPLE of subwsgi.ini.5 passes subwsgi --check"
fi
[ "$fails" -eq 0 ]
