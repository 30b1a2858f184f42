#!/bin/sh
# tests/tsan-races.sh LOG...: the distinct ThreadSanitizer reports in the test
# logs of make check-tsan, one line each: its kind, then each access's top
# three frames and thread ("T7" numbers dropped: they differ per process),
# then how often it occurs in the logs (a report may be there twice: in an
# assertion's message and in a log excerpt; reports are indented inside TAP
# failure messages). Exit status 1 when there is any.
races=$(awk '
function flush() {
  if (kind != "") { n[kind " | " acc]++ }
  kind = ""; acc = ""; frames = 0; inacc = 0
}
{ sub(/^[ \t]+/, "") }
/^WARNING: ThreadSanitizer: / {
  flush()
  kind = $0; sub(/^WARNING: ThreadSanitizer: /, "", kind); sub(/ \(pid=.*/, "", kind)
  next
}
kind == "" { next }
/^(Read|Write|Previous read|Previous write|Atomic|Previous atomic|Mutex|Cycle)/ \
  && / by (main thread|thread T[0-9]+)/ {
  who = $0; sub(/.* by /, "", who); sub(/[ :(].*/, "", who)
  if (who == "thread") who = "other thread"; else who = "main thread"
  what = $0; sub(/ of size.*| at 0x.*/, "", what)
  acc = acc (acc == "" ? "" : " || ") what " [" who "]:"
  inacc = 1; frames = 0
  next
}
inacc && /^#[0-9]+ / {
  if (frames < 3) { f = $2 " " $3; acc = acc (frames ? " < " : " ") f }
  frames++
  next
}
inacc && !/^#/ { inacc = 0 }
/^SUMMARY: ThreadSanitizer/ { flush() }
END {
  flush()
  found = 0
  for (k in n) printf "  %s  (%d occurrences in the logs)\n", k, n[k]
}' "$@")
[ -z "$races" ] && exit 0
printf '%s\n' "$races" | sort
exit 1
