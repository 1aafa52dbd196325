"""The baseline: a hello-world Flask app, served by the same gunicorn stack as the apps."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """`gunicorn "bench.hello:create_app()"`: one route, the cost of Flask and the server."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app
