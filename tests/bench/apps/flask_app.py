"""flask_app.py: benchmark app, Debian's python3-flask with one route
returning a small string. Measures the server plus a typical framework."""
from flask import Flask

app = Flask(__name__)


@app.route('/')
def index():
    return 'Hello from Flask\n'


application = app
