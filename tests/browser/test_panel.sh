#!/bin/sh
# test_panel.sh: the control panel's browser test as make check runs it
# (TAP). Checks that what it needs is installed, then runs panel_test.mjs.
# A missing piece is a failure naming the install step, never a skip:
# packaging/bootstrap installs all of them.
here=$(cd "$(dirname "$0")" && pwd)
[ -n "${SW_SRCDIR:-}" ] && here="$SW_SRCDIR/tests/browser"

cannot_run() {
  echo "1..1"
  echo "not ok 1 - the browser test cannot run: $1"
  exit 1
}

command -v node >/dev/null 2>&1 ||
  cannot_run "node is missing: run packaging/bootstrap (it runs apt-get install nodejs npm)"
major=$(node -e 'console.log(process.versions.node.split(".")[0])')
[ "$major" -ge 18 ] 2>/dev/null ||
  cannot_run "node $(node --version) is older than 18 (Debian 12's nodejs is 18)"
chromium="${SW_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] ||
  cannot_run "$chromium is missing: run packaging/bootstrap (it runs apt-get install chromium)"
[ -f "$here/node_modules/playwright-core/package.json" ] ||
  cannot_run "playwright-core is missing: run packaging/bootstrap (it runs npm ci in tests/browser)"

SW_CHROMIUM="$chromium" exec node "$here/panel_test.mjs"
