"""examples/bottle/app.py: a small Bottle app served by subwsgi.

GET  /              a greeting, with the URL of /hello/<name> built by get_url
GET  /hello/<name>  "Hello, <name>!"
POST /echo          the posted form fields back as JSON
"""
import bottle

app = bottle.Bottle()


@app.route("/", name="index")
def index():
    bottle.response.content_type = "text/plain; charset=utf-8"
    # get_url() prefixes SCRIPT_NAME, so links carry the mount prefix.
    return "Bottle on subwsgi. Try %s\n" % app.get_url("hello", name="world")


@app.route("/hello/<name>", name="hello")
def hello(name):
    bottle.response.content_type = "text/plain; charset=utf-8"
    return "Hello, %s!\n" % name


@app.post("/echo")
def echo():
    # A dict return value is sent as JSON by Bottle.
    return dict(bottle.request.forms.decode().items())


application = app
