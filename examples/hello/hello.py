"""The smallest WSGI app: says hello and shows where it runs."""


def application(environ, start_response):
    body = ("Hello from subwsgi! app=%s generation=%s path=%s\n" % (
        environ["subwsgi.app"], environ["subwsgi.generation"],
        environ["SCRIPT_NAME"] + environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
