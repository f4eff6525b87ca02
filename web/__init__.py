"""The thin web layer (Flask) served at ``/`` beside ``/dav/`` (DESIGN.md: ``web/``).

Public face: :func:`create_web_app` for the server's factory, and for views of
later issues :func:`login_required`, :func:`profile_required`,
:func:`current_principal` and :class:`CredentialCheck`; the textbook's models,
services and timetable import in :mod:`web.textbook`; resource booking in
:mod:`web.booking`; notifications (``notify``) in :mod:`web.notifications`.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from davserver.config import Config
from davserver.db import Database
from providers import SqlLockStorage, Store

from . import (
    auth,
    errors,
    i18n,
    journal,
    notifications,
    openapi,
    rubric_admin,
    rubrics,
    security,
    sessions,
    textbook,
    textbook_access_views,
    textbook_activity,
    textbook_api,
    textbook_archive_views,
    textbook_attachment_api,
    textbook_attachment_views,
    textbook_binder_api,
    textbook_binder_views,
    textbook_handin_api,
    textbook_handin_views,
    textbook_homework,
    textbook_homework_api,
    textbook_lesson_views,
    textbook_lessons,
    textbook_oversight_views,
    textbook_types_views,
    textbook_views,
    trash,
    views,
)
from .auth import CredentialCheck, current_principal, login_required, profile_required
from .booking import api as booking_api
from .booking import edit_pages as booking_edit
from .booking import feed_views as booking_feeds
from .booking import lesson_api as booking_lesson_api
from .booking import lesson_pages as booking_lessons
from .booking import pages as booking_pages
from .documents import init_documents
from .rubric_notices import notify_invitation

__all__ = ["CredentialCheck", "create_web_app", "current_principal", "login_required",
           "notifications", "notify_invitation", "profile_required", "textbook"]


def create_web_app(config: Config, db: Database, credentials: CredentialCheck,
                   store: Store, locks: SqlLockStorage | None = None) -> Flask:
    """Build the Flask application, in this order: key and cookie hardening (and the
    proxy fix when configured), translations, CSRF protection of every POST, PUT,
    PATCH and DELETE (Flask-WTF), sign-in, pages (the rubric, trash, textbook, booking
    and notification pages among them), the booking and textbook JSON APIs, the file
    manager (pages and JSON API), error pages. Notifications queue e-mail copies in
    this process only when ``smtp.enabled`` (the sending thread is started by
    ``davserver serve``, not here).

    ``credentials`` is the server's verifier, shared with the DAV side
    (``davserver.auth.CredentialVerifier``); ``store`` the server's node store (the
    rubric management page names the folders that carry grants, the file manager
    works on it); ``locks`` the DAV lock storage, which the file manager honours.
    Raises ``ConfigError`` for a ``web.locale`` without a catalogue and ``OSError`` if
    the generated secret key cannot be stored under ``config.data_dir``.
    """
    app = Flask(__name__)
    security.harden(
        app,
        secret_key=security.load_secret_key(config.server.secret_key, config.data_dir),
        session_lifetime=config.web.session_lifetime,
        trust_forwarded_proto=config.server.trust_forwarded_proto,
    )
    sessions.install(app, db, config.web.session_lifetime)
    i18n.init_babel(app, config.web.locale)
    CSRFProtect(app)
    auth.init_auth(app, auth.WebContext(db, credentials, store, config.textbook))
    app.register_blueprint(views.bp)
    app.register_blueprint(rubrics.bp)
    app.register_blueprint(rubric_admin.bp)
    app.register_blueprint(trash.bp)
    app.register_blueprint(textbook_views.bp)
    app.register_blueprint(textbook_activity.bp)
    app.register_blueprint(textbook_homework.bp)
    app.register_blueprint(textbook_types_views.bp)
    app.register_blueprint(textbook_lesson_views.bp)
    app.register_blueprint(textbook_oversight_views.bp)
    app.register_blueprint(textbook_access_views.bp)
    app.register_blueprint(textbook_archive_views.bp)
    app.register_blueprint(textbook_binder_views.bp)
    app.register_blueprint(booking_pages.bp)
    app.register_blueprint(booking_api.bp)
    app.register_blueprint(booking_edit.bp)
    app.register_blueprint(booking_lesson_api.bp)
    app.register_blueprint(booking_feeds.bp)
    app.register_blueprint(booking_lessons.bp)
    app.register_blueprint(textbook_lessons.bp)
    app.register_blueprint(textbook_api.bp)
    app.register_blueprint(textbook_binder_api.bp)
    app.register_blueprint(textbook_homework_api.bp)
    app.register_blueprint(textbook_handin_views.bp)
    app.register_blueprint(textbook_handin_api.bp)
    app.register_blueprint(textbook_attachment_views.bp)
    app.register_blueprint(textbook_attachment_api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(journal.bp)
    notifications.enable_mail(config.smtp.enabled)
    init_documents(app, config, locks)
    errors.init_errors(app)
    return app
