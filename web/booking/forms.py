"""Forms of the booking pages (Flask-WTF: each carries its CSRF token) and the French
labels of booking states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import BookingStatus

STATUS_LABELS = {
    BookingStatus.confirmed: _l("Confirmée"),
    BookingStatus.pending: _l("En attente de validation"),
    BookingStatus.refused: _l("Refusée"),
    BookingStatus.cancelled: _l("Annulée"),
    BookingStatus.suspended: _l("Suspendue (ressource indisponible)"),
}


class PeriodForm(FlaskForm):
    """The fields of a booking: its day, start and end in the school's wall-clock
    time, quantity and purpose."""

    day = DateField(_l("Date"), validators=[DataRequired(_l("Indiquez la date."))])
    start = TimeField(_l("Début"), validators=[DataRequired(_l("Indiquez l'heure de "
                                                                "début."))])
    end = TimeField(_l("Fin"), validators=[DataRequired(_l("Indiquez l'heure de fin."))])
    quantity = IntegerField(_l("Quantité"), default=1, validators=[
        DataRequired(_l("Indiquez la quantité.")), NumberRange(min=1)])
    purpose = StringField(_l("Motif"), validators=[Length(max=500)])


class BookingForm(PeriodForm):
    """One booking, or a series (``repeat`` 1 or 2 weeks until ``until``)."""

    on_behalf_of = StringField(_l("Pour (identifiant, si vous réservez pour quelqu'un "
                                  "d'autre)"), validators=[Optional(), Length(max=100)])
    repeat = SelectField(_l("Répétition"), choices=[
        ("0", _l("Aucune")), ("1", _l("Chaque semaine")),
        ("2", _l("Toutes les deux semaines"))], default="0")
    until = DateField(_l("Jusqu'au (pour une série)"), validators=[Optional()])
    on_conflict = SelectField(_l("Dates en conflit"), choices=[
        ("report", _l("Me les montrer sans rien réserver")),
        ("skip", _l("Les ignorer et réserver les autres"))], default="report")


class RefuseForm(FlaskForm):
    """A manager's refusal, with the message the requester will read."""

    reason = StringField(_l("Raison du refus"), validators=[
        DataRequired(_l("Donnez la raison du refus.")), Length(max=500)])


class EditForm(PeriodForm):
    """Editing a booking: this booking only, or every occurrence of its series that
    has not started (``scope``), and what to do with the occurrences that cannot change
    (``on_conflict``)."""

    scope = SelectField(_l("Modifier"), choices=[
        ("one", _l("Cette date seulement")),
        ("series", _l("Toutes les dates à venir de la série (décalées de même)"))],
        default="one")
    on_conflict = SelectField(_l("Dates en conflit"), choices=[
        ("report", _l("Me les montrer sans rien modifier")),
        ("skip", _l("Les laisser telles quelles et modifier les autres"))],
        default="report")
