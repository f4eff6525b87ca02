"""The thin web layer (Flask): today the welcome page; the cahier de textes and
resource booking come with their issues (DESIGN.md: ``web/``)."""

from __future__ import annotations

from flask import Flask, render_template, request


def create_web_app(*, school_name: str = "ENT") -> Flask:
    """Flask application served at ``/`` beside ``/dav/``."""
    app = Flask(__name__)
    app.config["SCHOOL_NAME"] = school_name

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
        )
        return response

    @app.get("/")
    def index() -> str:
        base = request.host_url.rstrip("/")
        return render_template("index.html", dav_url=base + "/dav/",
                               school_name=app.config["SCHOOL_NAME"])

    return app
