"""Forms and French labels of the rubric pages (issue 4, "Management").

Every form is a Flask-WTF form, so it carries its CSRF token; the field labels and
choices go through Flask-Babel (French source strings).
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

import acl
from web.i18n import PROFILE_LABELS

MAX_NAME = 200  # acl.Rubric.name, acl.Group.name
MAX_LOGIN = 100

ROLE_LABELS = {
    acl.Role.visitor: _l("Visiteur"),
    acl.Role.writer: _l("Rédacteur"),
    acl.Role.publisher: _l("Rédacteur avec mise en ligne"),
    acl.Role.moderator: _l("Modérateur"),
    acl.Role.manager: _l("Gestionnaire"),
}
"""French names of ``acl.Role`` (DESIGN.md vocabulary: rédacteur, gestionnaire…)."""

STATUS_LABELS = {
    acl.InvitationStatus.pending: _l("En attente"),
    acl.InvitationStatus.accepted: _l("Acceptée"),
    acl.InvitationStatus.declined: _l("Refusée"),
    acl.InvitationStatus.expired: _l("Expirée"),
}


def _role_choices() -> list[tuple[str, object]]:
    return [(role.value, label) for role, label in ROLE_LABELS.items()]


def holder_label(grant: acl.GrantInfo) -> str:
    """Who a grant is for, in French: a user, the parts of a population joined by
    « × », or the whole school."""
    if grant.login is not None:
        return _("utilisateur %(login)s", login=grant.login)
    parts = []
    if grant.group:
        parts.append(_("groupe %(name)s", name=grant.group))
    if grant.profile:
        parts.append(_("profil %(profile)s", profile=PROFILE_LABELS[grant.profile.value]))
    if grant.subject:
        parts.append(_("discipline %(code)s", code=grant.subject))
    return " × ".join(parts) or _("tout l'établissement")


class Panel(FlaskForm):
    """One form among several on a page: its fields are named and identified
    ``<panel>-<field>`` (``grant-login``), so that labels, ids and submitted values
    never mix between forms."""

    panel: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(prefix=self.panel, **kwargs)


class GrantForm(Panel):
    """Give a role to a user, a population (group × profile × subject, any part
    open but not all) or the whole school; on the rubric or one of its folders."""

    panel = "grant"

    role = SelectField(_l("Rôle"), choices=_role_choices(), default=acl.Role.visitor.value)
    holder = RadioField(_l("Bénéficiaire"), default="user", choices=[
        ("user", _l("Un utilisateur")), ("population", _l("Une population")),
        ("everyone", _l("Tout l'établissement"))])
    login = StringField(_l("Identifiant"), validators=[Optional(), Length(max=MAX_LOGIN)])
    group = StringField(_l("Groupe ou classe"), validators=[Optional(), Length(max=MAX_NAME)])
    profile = SelectField(_l("Profil"), default="", choices=[
        ("", _l("Tous les profils")), *PROFILE_LABELS.items()])
    subject = StringField(_l("Discipline (code ou nom)"),
                          validators=[Optional(), Length(max=MAX_NAME)])
    folder = StringField(_l("Dossier (facultatif, ex. /Comptes rendus)"),
                         validators=[Optional(), Length(max=1000)])

    def validate_login(self, field: StringField) -> None:
        if self.holder.data == "user" and not (field.data or "").strip():
            raise ValidationError(_("Saisissez l'identifiant de l'utilisateur."))

    def validate_holder(self, field: RadioField) -> None:
        if field.data == "population" and not any(
                (f.data or "").strip() for f in (self.group, self.profile, self.subject)):
            raise ValidationError(_("Choisissez au moins un groupe, un profil ou une "
                                    "discipline."))

    def who(self) -> tuple[str | None, dict[str, str | None] | None]:
        """(login, None) for a user, (None, population parts) otherwise; the parts
        are all None for the whole school."""
        if self.holder.data == "user":
            return (self.login.data or "").strip(), None
        if self.holder.data == "everyone":
            return None, {"group": None, "profile": None, "subject": None}
        return None, {name: (getattr(self, name).data or "").strip() or None
                      for name in ("group", "profile", "subject")}


class InviteForm(Panel):
    """Invite a user to a role; the grant is made when they accept."""

    panel = "invite"

    role = SelectField(_l("Rôle"), choices=_role_choices(), default=acl.Role.writer.value)
    login = StringField(_l("Identifiant"), validators=[
        DataRequired(_l("Saisissez l'identifiant de l'utilisateur.")),
        Length(max=MAX_LOGIN)])


class SubRubricForm(Panel):
    """Create a sub-rubric of the managed rubric."""

    panel = "sub"

    slug = StringField(_l("Identifiant d'adresse (minuscules, chiffres, tirets)"),
                       validators=[DataRequired(_l("Saisissez un identifiant.")),
                                   Length(max=64)])
    name = StringField(_l("Nom"), validators=[DataRequired(_l("Saisissez un nom.")),
                                              Length(max=MAX_NAME)])
    inherit = BooleanField(_l("Hérite des droits de la rubrique parente"), default=True)
    shared_folders = BooleanField(_l("Dossiers partagés"), default=True)


class SettingsForm(Panel):
    """The rubric's services and grant inheritance."""

    panel = "settings"

    shared_folders = BooleanField(_l("Dossiers partagés (service activé)"))
    inherit = BooleanField(_l("Hérite des droits de la rubrique parente"))
