"""flask_app.py: a Flask app for the framework and nginx tests. Every JSON
answer is a flat object of strings.

GET  /               "flask index"
GET  /env/<path>     SCRIPT_NAME, PATH_INFO, request.path, script_root, rest
POST /form           the posted form fields, plus "_method"
GET  /urls           url_for() results (they must carry the mount prefix)
"""
from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.route('/')
def index():
    return 'flask index\n', 200, {'Content-Type': 'text/plain; charset=utf-8'}


@app.route('/env/<path:rest>')
def env(rest):
    e = request.environ
    return jsonify(SCRIPT_NAME=e.get('SCRIPT_NAME', ''),
                   PATH_INFO=e.get('PATH_INFO', ''),
                   path=request.path, script_root=request.script_root,
                   rest=rest, app=str(e.get('subwsgi.app', '')))


@app.route('/form', methods=['POST'])
def form():
    d = {k: v for k, v in request.form.items()}
    d['_method'] = request.method
    return jsonify(d)


@app.route('/urls')
def urls():
    return jsonify(index=url_for('index'),
                   env=url_for('env', rest='x/y'),
                   form=url_for('form'),
                   external=url_for('index', _external=True))


application = app
