"""Forms of the oversight pages (issue 7): the head's visa and an inspector's access.

Flask-WTF forms, so each carries its CSRF token; dates are ``YYYY-MM-DD`` (HTML date
inputs), wall-clock dates in the school's time zone. The services check every rule
again inside the write transaction: these checks only give the page its messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from web import textbook
from web.textbook.oversight import visas


class VisaForm(FlaskForm):
    """A visa: the day it covers up to (included), an optional comment."""

    until = DateField(_l("Séances couvertes jusqu'au (inclus)"),
                      validators=[DataRequired(_l("Indiquez la date du visa."))])
    comment = TextAreaField(_l("Commentaire (facultatif)"),
                            validators=[Optional(), Length(max=visas.MAX_COMMENT)])

    def __init__(self, **kwargs: object) -> None:
        super().__init__(prefix="visa", **kwargs)


class AccessForm(FlaskForm):
    """An inspector's access: who, to which teacher's textbook, which services
    (none chosen: all the teacher's services), from and until (both included)."""

    # Choices are not enforced here: the service refuses a non-inspector, a teacher
    # of another school or a service not the teacher's with a message naming it.
    inspector = SelectField(_l("Inspecteur"), coerce=int, validate_choice=False)
    teacher = SelectField(_l("Enseignant"), coerce=int, validate_choice=False)
    services = SelectMultipleField(
        _l("Services (aucun choisi : tous les services de l'enseignant)"), coerce=int,
        validators=[Optional()], validate_choice=False)
    valid_from = DateField(_l("Du"), validators=[DataRequired(_l("Indiquez le premier jour."))])
    valid_until = DateField(_l("Au (inclus)"),
                            validators=[DataRequired(_l("Indiquez le dernier jour."))])

    def __init__(self, **kwargs: object) -> None:
        super().__init__(prefix="access", **kwargs)

    def validate_valid_until(self, field: DateField) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_l("Le dernier jour précède le premier."))

    def to_input(self) -> textbook.AccessInput:
        """The :class:`web.textbook.AccessInput` of a validated form."""
        assert self.valid_from.data is not None and self.valid_until.data is not None
        return textbook.AccessInput(self.inspector.data, self.teacher.data,
                                    self.valid_from.data, self.valid_until.data,
                                    tuple(self.services.data or ()))


def set_access_choices(form: AccessForm, inspectors: Sequence[tuple[int, str]],
                       teachers: Sequence[tuple[int, str]],
                       services: Sequence[tuple[int, str]]) -> None:
    """The choices of an access form (ids, labels)."""
    form.inspector.choices = list(inspectors)
    form.teacher.choices = list(teachers)
    form.services.choices = list(services)
