#!/usr/bin/python3
"""procwatch.py: resource use of a server's process tree for tests/bench.

  procwatch.py cpu PID             print "cpu_s=X rss_kib=N pss_kib=N procs=N"
                                   for PID and all its descendants now
  procwatch.py watch PID OUT [S]   every S seconds (default 0.5) until PID is
                                   gone or SIGTERM, rewrite OUT with
                                   "peak_rss_kib=N peak_pss_kib=N procs=N"

RSS is summed over the processes, so pages shared after a fork count once per
process (that is what `ps` shows and what the brief asks for); PSS divides
shared pages among the processes that map them, so it is the fairer sum for
pre-forking servers. Both are reported.
"""
import os
import signal
import sys
import time

TICK = os.sysconf('SC_CLK_TCK')
PAGE = os.sysconf('SC_PAGE_SIZE')


def tree(root):
    """PIDs of root and every descendant (root first)."""
    kids = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(')') + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def one(pid):
    """(cpu seconds, rss KiB, pss KiB) of one process, or None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
        fields = st[st.rindex(')') + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK   # utime + stime
        with open('/proc/%d/statm' % pid) as f:
            rss = int(f.read().split()[1]) * PAGE // 1024
        pss = rss
        try:
            with open('/proc/%d/smaps_rollup' % pid) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        pss = int(line.split()[1])
                        break
        except OSError:
            pass
        return cpu, rss, pss
    except (OSError, ValueError, IndexError):
        return None


def totals(root):
    cpu = rss = pss = n = 0
    for pid in tree(root):
        r = one(pid)
        if r is not None:
            cpu += r[0]
            rss += r[1]
            pss += r[2]
            n += 1
    return cpu, rss, pss, n


def main(argv):
    if len(argv) >= 3 and argv[1] == 'cpu':
        cpu, rss, pss, n = totals(int(argv[2]))
        print('cpu_s=%.2f rss_kib=%d pss_kib=%d procs=%d' % (cpu, rss, pss, n))
        return 0
    if len(argv) >= 4 and argv[1] == 'watch':
        root, out = int(argv[2]), argv[3]
        every = float(argv[4]) if len(argv) > 4 else 0.5
        stop = []
        signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
        peak_rss = peak_pss = procs = 0
        while not stop and os.path.exists('/proc/%d' % root):
            _, rss, pss, n = totals(root)
            if rss > peak_rss or pss > peak_pss or n > procs:
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
                procs = max(procs, n)
                with open(out + '.tmp', 'w') as f:
                    f.write('peak_rss_kib=%d peak_pss_kib=%d procs=%d\n'
                            % (peak_rss, peak_pss, procs))
                os.replace(out + '.tmp', out)
            time.sleep(every)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
