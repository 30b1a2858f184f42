# A tiny WSGI app that good.ini points at (config tests only check that the
# file exists and is readable).


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"config test\n"]


application = app
