"""examples/flask/app.py: a small Flask app served by subwsgi.

GET  /              a greeting, with the URL of /hello/<name> built by url_for
GET  /hello/<name>  "Hello, <name>!"
POST /echo          the posted form fields back as JSON
"""
from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.route("/")
def index():
    # url_for() includes the mount prefix (SCRIPT_NAME) that subwsgi sets,
    # so links stay right when the app is mounted under /something.
    return ("Flask on subwsgi. Try %s\n" % url_for("hello", name="world"),
            200, {"Content-Type": "text/plain; charset=utf-8"})


@app.route("/hello/<name>")
def hello(name):
    return "Hello, %s!\n" % name, 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/echo", methods=["POST"])
def echo():
    return jsonify(dict(request.form.items()))

