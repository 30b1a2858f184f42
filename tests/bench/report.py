#!/usr/bin/python3
"""report.py: turn run.sh's raw TSV into the markdown table, the ratios and
the DESIGN.md section 8 verdicts.

  report.py table RUNS_TSV CELLS_TSV LABEL ISOLATION
  report.py starvation STARVATION_TSV LABEL ISOLATION HELLO_C CPU_C CPU_INTERPS
"""
import statistics
import sys
from collections import OrderedDict


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt(x, nd=1):
    return '-' if x is None else '%.*f' % (nd, x)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def load(runs_path, cells_path):
    cells = OrderedDict()
    with open(cells_path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) < 9:
                continue
            key = tuple(p[:4])
            cells[key] = {'conc': p[4], 'rss': num(p[5]), 'pss': num(p[6]),
                          'procs': p[7], 'status': p[8], 'runs': []}
    with open(runs_path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) < 15:
                continue
            key = tuple(p[:4])
            c = cells.setdefault(key, {'conc': p[4], 'rss': None, 'pss': None,
                                       'procs': '', 'status': 'incomplete',
                                       'runs': []})
            c['runs'].append({'rps': num(p[6]), 'p50': num(p[7]), 'p99': num(p[8]),
                              'max': num(p[9]), 'errors': num(p[10]) or 0,
                              'non2xx': num(p[11]) or 0, 'cpu_s': num(p[12]),
                              'wall': num(p[13]), 'requests': num(p[14]),
                              'speed': num(p[15]) if len(p) > 15 else None,
                              'client': num(p[16]) if len(p) > 16 else None,
                              'other': num(p[17]) if len(p) > 17 else None})
    for c in cells.values():
        r = c['runs']
        c['rps'] = med(x['rps'] for x in r)
        rr = [x['rps'] for x in r if x['rps'] is not None]
        c['range'] = '%.0f-%.0f' % (min(rr), max(rr)) if rr else '-'
        c['p50'] = med(x['p50'] for x in r)
        c['p99'] = med(x['p99'] for x in r)
        c['bad'] = sum(x['errors'] + x['non2xx'] for x in r)
        c['cores'] = med(x['cpu_s'] / x['wall'] for x in r if x['cpu_s'] is not None and x['wall'])
        c['us_req'] = med(x['cpu_s'] * 1e6 / x['requests'] for x in r
                          if x['cpu_s'] is not None and x['requests'])
        c['speed'] = med(x['speed'] for x in r)
        c['other'] = med(x['other'] for x in r)
        c['client'] = med(x['client'] / x['wall'] for x in r if x['client'] is not None and x['wall'])
        c['nruns'] = len(r)
    return cells


def table(argv):
    runs_path, cells_path, label, isolation = argv[:4]
    cells = load(runs_path, cells_path)
    sw = 'subwsgi-' + label
    out = []
    w = out.append
    w('| mode | app | server | procs x threads | conc | rps (median) | rps min-max | p50 ms | p99 ms (median) '
      '| errors + non-2xx | server CPU (cores) | server CPU us/req | peak RSS MiB | peak PSS MiB | runs '
      '| client CPU (cores) | other load (cores) | speed probe ms | note |')
    w('|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|')
    for (mode, app, server, layout), c in cells.items():
        mname = 'direct SCGI (unix)' if mode == 'direct' else 'wrk -> nginx'
        note = '' if c['status'] == 'ok' else c['status']
        w('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %d | %s | %s | %s | %s |' % (
            mname, app, server, layout, c['conc'], fmt(c['rps']), c['range'], fmt(c['p50'], 3),
            fmt(c['p99'], 3), c['bad'], fmt(c['cores'], 2), fmt(c['us_req'], 0),
            fmt(c['rss'] and c['rss'] / 1024), fmt(c['pss'] and c['pss'] / 1024),
            c['nruns'], fmt(c['client'], 2), fmt(c['other'], 2), fmt(c['speed'], 2),
            note.replace('|', '/')))
    w('')

    def get(mode, app, server, layout):
        return cells.get((mode, app, server, layout))

    w('Ratios (subwsgi / other; rps above 1 and p99 below 1 favour subwsgi):')
    w('')
    w('| mode | app | procs x threads | rps sw/uWSGI | p99 sw/uWSGI | rps sw/gunicorn | p99 sw/gunicorn '
      '| PSS sw/uWSGI | rps as share of nginx return 200 (sw / uWSGI / gunicorn) |')
    w('|---|---|---|---:|---:|---:|---:|---:|---|')
    ceil = get('nginx', 'hello', 'nginx-return', '1x1')
    seen = []
    for (mode, app, server, layout) in cells:
        if (mode, app, layout) in seen or server == 'nginx-return':
            continue
        seen.append((mode, app, layout))
        s, u, g = (get(mode, app, x, layout) for x in (sw, 'uwsgi', 'gunicorn'))
        def r(a, b, k):
            return fmt(ratio(a and a[k], b and b[k]), 2)
        share = '-'
        if mode == 'nginx' and ceil and ceil['rps']:
            share = ' / '.join(fmt(x and x['rps'] and 100 * x['rps'] / ceil['rps'], 1) + '%'
                               for x in (s, u, g))
        w('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            mode, app, layout, r(s, u, 'rps'), r(s, u, 'p99'), r(s, g, 'rps'),
            r(s, g, 'p99'), r(s, u, 'pss'), share))
    w('')

    w('DESIGN.md section 8 targets (this build: %s, isolation=%s):' % (label, isolation))
    w('')
    for app in ('hello', 'flask'):
        s, u = get('direct', app, sw, '1x1'), get('direct', app, 'uwsgi', '1x1')
        if not (s and u and s['rps'] and u['rps']):
            w('- %s direct SCGI rps >= 1.2x uWSGI: not measured' % app)
            continue
        rr = s['rps'] / u['rps']
        pr = ratio(s['p99'], u['p99'])
        w('- %s, direct SCGI, 1x1: rps %s vs uWSGI %s = %.2fx (target >= 1.20x: %s, %.0f%% of '
          'target); p99 %s ms vs %s ms = %sx (target <= 1.00x: %s)' % (
              app, fmt(s['rps']), fmt(u['rps']), rr, 'MET' if rr >= 1.2 else 'MISSED',
              100 * rr / 1.2, fmt(s['p99'], 3), fmt(u['p99'], 3), fmt(pr, 2),
              'MET' if pr is not None and pr <= 1.0 else 'MISSED'))
    par = [k for k in cells if k[0] == 'direct' and k[1] == 'cpu' and k[3] != '1x1']
    for (_, _, server, layout) in par:
        if server != sw:
            continue
        s1, sp = get('direct', 'cpu', sw, '1x1'), get('direct', 'cpu', sw, layout)
        up = get('direct', 'cpu', 'uwsgi', layout)
        sc = ratio(sp and sp['rps'], s1 and s1['rps'])
        vs = ratio(sp and sp['rps'], up and up['rps'])
        mem = ratio(sp and sp['pss'], up and up['pss'])
        w('- cpu, %s interpreters vs 1: %sx (target >= 1.8x with own-gil on 3.13: %s)' % (
            layout, fmt(sc, 2), 'MET' if sc and sc >= 1.8 else 'MISSED'))
        w('- cpu, %s: subwsgi / uWSGI %s processes rps = %sx (target >= 0.90x: %s); '
          'PSS %s / %s MiB = %sx, RSS %s / %s MiB (target: less memory: %s)' % (
              layout, layout.split('x')[0], fmt(vs, 2), 'MET' if vs and vs >= 0.9 else 'MISSED',
              fmt(sp and sp['pss'] and sp['pss'] / 1024), fmt(up and up['pss'] and up['pss'] / 1024),
              fmt(mem, 2), fmt(sp and sp['rss'] and sp['rss'] / 1024),
              fmt(up and up['rss'] and up['rss'] / 1024),
              'MET' if mem is not None and mem < 1 else 'MISSED'))
    print('\n'.join(out))
    return 0


def starvation(argv):
    path, label, isolation, hc, cc, ci = argv[:6]
    rows = {'alone': [], 'busy': []}
    with open(path) as f:
        next(f)
        for line in f:
            p = line.rstrip('\n').split('\t')
            rows[p[0]].append([num(x) for x in p[2:]])
    print('| subwsgi | isolation | phase | hello conc | hello rps | hello p50 ms | hello p99 ms '
          '| hello max ms | hello errors | cpu app rps (conc %s, %s interp.) | runs |' % (cc, ci))
    print('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    m = {}
    for phase in ('alone', 'busy'):
        r = rows[phase]
        m[phase] = [med(x[i] for x in r) for i in range(7)]
        v = m[phase]
        print('| %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %d |' % (
            label, isolation, 'hello alone' if phase == 'alone' else 'cpu app kept busy',
            hc, fmt(v[0]), fmt(v[1], 3), fmt(v[2], 3), fmt(v[3], 3),
            sum(x[4] or 0 for x in r), fmt(v[5]), len(r)))
    print('')
    print('hello p99 with the cpu app busy / alone: %sx; hello rps busy / alone: %sx'
          % (fmt(ratio(m['busy'][2], m['alone'][2]), 2), fmt(ratio(m['busy'][0], m['alone'][0]), 2)))
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'table':
        sys.exit(table(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == 'starvation':
        sys.exit(starvation(sys.argv[2:]))
    sys.stderr.write(__doc__)
    sys.exit(2)
