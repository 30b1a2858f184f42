"""tests/apps/cgi313/cgi.py: the part of the standard library's cgi module
that Debian 12's Django 3.2 and Bottle 0.12 import. CPython 3.13 removed the
module; test_examples.c puts this directory on the example apps' python-path
on 3.13+ only (tests/apps/django_app.py falls back to it itself), so the example files themselves stay as a user would write
them. parse_header and valid_boundary are CPython 3.12's; FieldStorage (Bottle
uses it for multipart bodies only) is absent, so multipart uploads fail."""
import re

__all__ = ["parse_header", "valid_boundary"]


def _parseparam(s):
    while s[:1] == ';':
        s = s[1:]
        end = s.find(';')
        while end > 0 and (s.count('"', 0, end) - s.count('\\"', 0, end)) % 2:
            end = s.find(';', end + 1)
        if end < 0:
            end = len(s)
        f = s[:end]
        yield f.strip()
        s = s[end:]


def parse_header(line):
    """Content-Type-like header -> (main value, dict of parameters)."""
    parts = _parseparam(';' + line)
    key = parts.__next__()
    pdict = {}
    for p in parts:
        i = p.find('=')
        if i >= 0:
            name = p[:i].strip().lower()
            value = p[i + 1:].strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
                value = value.replace('\\\\', '\\').replace('\\"', '"')
            pdict[name] = value
    return key, pdict


def valid_boundary(s):
    pat = b"^[ -~]{0,200}[!-~]$" if isinstance(s, bytes) else "^[ -~]{0,200}[!-~]$"
    return re.match(pat, s)
