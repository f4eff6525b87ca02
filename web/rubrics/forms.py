"""Forms and French labels of the rubric pages (issue 4, "Management").

Every form is a Flask-WTF form, so it carries its CSRF token; the field labels and
choices go through Flask-Babel (French source strings).
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

import acl
from web.forms import RichTextAreaField
from web.i18n import PROFILE_LABELS

MAX_NAME = 200  # acl.Rubric.name, acl.Group.name
MAX_BOX = 100_000  # characters of an encadré's HTML, as the editor sends it
MAX_LOGIN = 100
MAX_PERSON = MAX_NAME + MAX_LOGIN + 3  # « Name (login) », as the picker fills it

ROLE_LABELS = {
    acl.Role.visitor: _l("Visiteur"),
    acl.Role.writer: _l("Rédacteur"),
    acl.Role.publisher: _l("Rédacteur avec mise en ligne"),
    acl.Role.moderator: _l("Modérateur"),
    acl.Role.manager: _l("Gestionnaire"),
}
"""French names of ``acl.Role`` (DESIGN.md vocabulary: rédacteur, gestionnaire…)."""

SERVICE_LABELS = {
    acl.Service.shared_folders.value: _l("Dossiers partagés"),
}
"""French names of the services a rubric can switch on (``acl.Service``)."""

STATUS_LABELS = {
    acl.InvitationStatus.pending: _l("En attente"),
    acl.InvitationStatus.accepted: _l("Acceptée"),
    acl.InvitationStatus.declined: _l("Refusée"),
    acl.InvitationStatus.expired: _l("Expirée"),
}


def _role_choices() -> list[tuple[str, object]]:
    return [(role.value, label) for role, label in ROLE_LABELS.items()]


def holder_label(grant: acl.GrantInfo, names: dict[str, str] | None = None) -> str:
    """Who a grant is for, in French: a user (by name when ``names``, login → name,
    knows it), the parts of a population joined by « × », or the whole school."""
    if grant.login is not None:
        return _("utilisateur %(login)s", login=(names or {}).get(grant.login, grant.login))
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
    login = StringField(_l("Personne (nom, à choisir dans la liste)"),
                        validators=[Optional(), Length(max=MAX_PERSON)])
    group = StringField(_l("Groupe ou classe"), validators=[Optional(), Length(max=MAX_NAME)])
    profile = SelectField(_l("Profil"), default="", choices=[
        ("", _l("Tous les profils")), *PROFILE_LABELS.items()])
    subject = StringField(_l("Discipline (code ou nom)"),
                          validators=[Optional(), Length(max=MAX_NAME)])
    folder = StringField(_l("Dossier (facultatif, ex. /Comptes rendus)"),
                         validators=[Optional(), Length(max=1000)])

    def validate_login(self, field: StringField) -> None:
        if self.holder.data == "user" and not (field.data or "").strip():
            raise ValidationError(_("Choisissez une personne."))

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
    login = StringField(_l("Personne (nom, à choisir dans la liste)"), validators=[
        DataRequired(_l("Choisissez une personne.")), Length(max=MAX_PERSON)])


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


class GeneralForm(Panel):
    """The Généralités tab: the rubric's name, its home page, and (for a sub-rubric)
    grant inheritance."""

    panel = "general"

    name = StringField(_l("Nom de la rubrique"), validators=[
        DataRequired(_l("Saisissez un nom.")), Length(max=MAX_NAME)])
    home_page = BooleanField(_l("Afficher une page d'accueil aux lecteurs de la rubrique"))
    inherit = BooleanField(_l("Hérite des droits de la rubrique parente"))


class BoxForm(Panel):
    """The Encadré tab: the header box's rich text and its image."""

    panel = "box"

    body = RichTextAreaField(_l("Texte de l'encadré"), validators=[Length(max=MAX_BOX)],
                             render_kw={"rows": 8})
    image = FileField(_l("Image (PNG, JPEG, GIF ou WebP, 2 Mo au plus)"),
                      render_kw={"accept": "image/png,image/jpeg,image/gif,image/webp"})
    image_alt = StringField(_l("Description de l'image (vide si elle est décorative)"),
                            validators=[Optional(), Length(max=300)])
    drop_image = BooleanField(_l("Retirer l'image"))


class SettingsForm(Panel):
    """The rubric's services and grant inheritance (the form of the services tab
    carries its own ordered list; this one stays for the former single page's
    address, ``/reglages``)."""

    panel = "settings"

    shared_folders = BooleanField(_l("Dossiers partagés (service activé)"))
    inherit = BooleanField(_l("Hérite des droits de la rubrique parente"))
