# tests/packaging/tap.sh: what the shell tests here share (sourced, not
# run): srcdir and builddir, a temp dir removed at exit, and TAP lines.
# not_ok prints $tmp/err as the failure's comment.
srcdir=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${SW_BUILDDIR:-$srcdir}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
