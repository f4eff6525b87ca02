"""The thin web layer (Flask) served at ``/`` beside ``/dav/`` (DESIGN.md: ``web/``).

One package per feature, each with its models, services, pages and API:
:mod:`web.textbook` (the cahier de textes; its binder, hand-ins, oversight,
attachments, archive and timetable import in sub-packages), :mod:`web.booking`,
:mod:`web.documents` (the file manager and the corbeille), :mod:`web.rubrics`,
:mod:`web.notifications` (``notify``), :mod:`web.account` (sign-in) and
:mod:`web.home` (the welcome page). The modules at the top of ``web/`` are what every
feature shares: :mod:`.auth` (the request's principal, ``login_required``),
:mod:`.security`, :mod:`.errors`, :mod:`.i18n`, :mod:`.openapi`, :mod:`.jsonapi`,
:mod:`.forms`, :mod:`.dates` and :mod:`.columns`. Imports between them point one way
(``[tool.importlinter]`` in ``pyproject.toml``); this module only assembles them.

Public face: :func:`create_web_app` for the server's factory, and for views of
later issues :func:`login_required`, :func:`profile_required`,
:func:`current_principal` and :class:`CredentialCheck`.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from davserver.config import Config
from davserver.db import Database
from providers import Handoff, SqlLockStorage, Store

from . import (
    account,
    auth,
    errors,
    i18n,
    journal,
    notifications,
    openapi,
    security,
    sessions,
    textbook,
    zones,
)
from .account import app_passwords as account_app_passwords
from .account import charter as account_charter
from .account import federation as account_federation
from .account import login_flow as account_login_flow
from .account import oidc as account_oidc
from .account import pages as account_pages
from .account import preferences as account_preferences
from .account import saml as account_saml
from .auth import CredentialCheck, current_principal, login_required, profile_required
from .booking import api as booking_api
from .booking import edit_pages as booking_edit
from .booking import feed_views as booking_feeds
from .booking import lesson_api as booking_lesson_api
from .booking import lesson_pages as booking_lessons
from .booking import pages as booking_pages
from .documents import init_documents, trash_pages
from .home import pages as home_pages
from .imports import init_imports
from .rubrics import admin_pages as rubric_admin_pages
from .rubrics import home as rubric_home
from .rubrics import notify_invitation
from .rubrics import pages as rubric_pages
from .rubrics import search as rubric_search
from .textbook import (
    activity_pages,
    homework_api,
    homework_pages,
    homework_types_pages,
    lesson_change_pages,
    lesson_pages,
)
from .textbook import api as textbook_api
from .textbook import pages as textbook_pages
from .textbook.archive import pages as archive_pages
from .textbook.attachments import api as attachment_api
from .textbook.attachments import pages as attachment_pages
from .textbook.binder import api as binder_api
from .textbook.binder import pages as binder_pages
from .textbook.handins import api as handin_api
from .textbook.handins import pages as handin_pages
from .textbook.oversight import access_pages as oversight_access_pages
from .textbook.oversight import pages as oversight_pages

__all__ = ["CredentialCheck", "create_web_app", "current_principal", "login_required",
           "notifications", "notify_invitation", "profile_required", "textbook"]


def create_web_app(config: Config, db: Database, credentials: CredentialCheck,
                   store: Store, locks: SqlLockStorage | None = None,
                   handoff: Handoff | None = None) -> Flask:
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
    works on it); ``locks`` the DAV lock storage, which the file manager honours;
    ``handoff`` hands large downloads to nginx (``providers.handoff``; None: never).
    Raises ``ConfigError`` for a ``web.locale`` without a catalogue and ``OSError`` if
    the generated secret key cannot be stored under ``config.data_dir``.
    """
    app = Flask(__name__)
    app.url_map.converters["int"] = security.RowIdConverter  # before any route is added
    security.harden(
        app,
        secret_key=security.load_secret_key(config.server.secret_key, config.data_dir),
        session_lifetime=config.web.session_lifetime,
        trust_forwarded_proto=config.server.trust_forwarded_proto,
    )
    sessions.install(app, db, config.web.session_lifetime)
    i18n.init_babel(app, config.web.locale)
    csrf = CSRFProtect(app)
    account.load_protocols({p.kind for p in config.federation.providers})
    saml_keys = account_saml.ensure_keypair(config.data_dir) \
        if any(p.kind == "saml" for p in config.federation.providers) else None
    auth.init_auth(app, auth.WebContext(db, credentials, store, config.textbook,
                                        config.federation, saml_keys))
    app.register_blueprint(account_pages.bp)
    app.register_blueprint(account_federation.bp)
    if any(p.kind == "oidc" for p in config.federation.providers):
        account_oidc.init_app(app, config.federation)
    app.register_blueprint(account_charter.bp)
    account_charter.install_gate(app)
    csrf.exempt(account_federation.cas_logout)  # posted by the CAS server itself
    csrf.exempt(account_federation.saml_acs)  # posted from the identity provider's page
    app.register_blueprint(account_app_passwords.bp)
    app.register_blueprint(account_preferences.bp)
    app.register_blueprint(account_login_flow.bp)
    app.register_blueprint(home_pages.bp)
    app.register_blueprint(rubric_pages.bp)
    app.register_blueprint(rubric_admin_pages.bp)
    app.register_blueprint(rubric_home.bp)
    app.register_blueprint(rubric_search.bp)
    app.register_blueprint(trash_pages.bp)
    app.register_blueprint(textbook_pages.bp)
    app.register_blueprint(activity_pages.bp)
    app.register_blueprint(homework_pages.bp)
    app.register_blueprint(homework_types_pages.bp)
    app.register_blueprint(lesson_pages.bp)
    app.register_blueprint(oversight_pages.bp)
    app.register_blueprint(oversight_access_pages.bp)
    app.register_blueprint(archive_pages.bp)
    app.register_blueprint(binder_pages.bp)
    app.register_blueprint(booking_pages.bp)
    app.register_blueprint(booking_api.bp)
    app.register_blueprint(booking_edit.bp)
    app.register_blueprint(booking_lesson_api.bp)
    app.register_blueprint(booking_feeds.bp)
    app.register_blueprint(booking_lessons.bp)
    app.register_blueprint(lesson_change_pages.bp)
    app.register_blueprint(textbook_api.bp)
    app.register_blueprint(binder_api.bp)
    app.register_blueprint(homework_api.bp)
    app.register_blueprint(handin_pages.bp)
    app.register_blueprint(handin_api.bp)
    app.register_blueprint(attachment_pages.bp)
    app.register_blueprint(attachment_api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(journal.bp)
    notifications.enable_mail(config.smtp.enabled)
    init_documents(app, config, locks, textbook.school_zone, handoff)
    zones.use_school_zone(app, textbook.school_zone)
    init_imports(app, config, db, store)
    errors.init_errors(app)
    return app
