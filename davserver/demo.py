"""The demo school of ``davserver demo``: people, classes, subjects and rubrics that
show every role, so that a new user can try each part of the server at once.

Everything is created only when absent: running the demo again keeps the data and
what people changed (passwords, files, grants).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

import acl
from davserver.config import Config
from davserver.db import open_database
from davserver.errors import NotFound

DEMO_SCHOOL = "Collège Jean Moulin (démo)"
DEMO_UAI = "0999999F"
"""A UAI with a valid check letter in département 099, which does not exist: never a
real school's."""
DEMO_ZONE = "C"
# login, profile, display name, class
DEMO_USERS: list[tuple[str, str, str, str | None]] = [
    ("direction", "head", "Mme Claire Lefèvre", None),
    ("admin", "admin", "M. Karim Haddad", None),
    ("m.dupont", "teacher", "M. Marc Dupont (mathématiques)", None),
    ("c.bernard", "teacher", "Mme Cécile Bernard (français)", None),
    ("a.moreau", "teacher", "M. Antoine Moreau (histoire-géographie)", None),
    ("lucas.petit", "student", "Lucas Petit", "4B"),
    ("emma.roux", "student", "Emma Roux", "4B"),
    ("hugo.fournier", "student", "Hugo Fournier", "4B"),
    ("lea.girard", "student", "Léa Girard", "3A"),
    ("nathan.morel", "student", "Nathan Morel", "3A"),
    ("chloe.lambert", "student", "Chloé Lambert", "3A"),
    ("parent.petit", "parent", "Mme Sophie Petit", None),
]


def demo_password(login: str) -> str:
    """The demo password of a demo login (printed by ``davserver demo``)."""
    return f"{login}-demo"


# subject code, name, teachers
DEMO_SUBJECTS = [
    ("MATHS", "Mathématiques", ["m.dupont"]),
    ("FRANC", "Français", ["c.bernard"]),
    ("HIGEO", "Histoire-géographie", ["a.moreau"]),
]
# group name, members
DEMO_GROUPS = [
    ("conseil d'administration", ["direction", "admin", "m.dupont", "parent.petit",
                                  "chloe.lambert"]),
    ("club théâtre", ["c.bernard", "emma.roux", "lea.girard", "nathan.morel"]),
]
DEMO_PARENTS = [("parent.petit", "lucas.petit")]


def _people(s: Session, school: int) -> list[str]:
    """Users, classes, groups, subjects, parents; the logins whose demo password works."""
    usable = []
    ids: dict[str, int] = {}
    for login, profile, name, klass in DEMO_USERS:
        principal = acl.find_user(s, login)
        if principal is None:
            principal = acl.create_user(s, login, demo_password(login), profile,
                                        display_name=name, school_id=school)
            usable.append(login)
        elif acl.verify_credentials(s, login, demo_password(login)):
            usable.append(login)
        ids[login] = principal.id
        if klass:
            acl.add_member(s, acl.ensure_group(s, school, klass), principal.id)
    for code, name, teachers in DEMO_SUBJECTS:
        subject = acl.ensure_subject(s, school, code, name)
        for login in teachers:
            acl.add_teacher_subject(s, ids[login], subject)
    for group, members in DEMO_GROUPS:
        group_id = acl.ensure_group(s, school, group, "group")
        for login in members:
            acl.add_member(s, group_id, ids[login])
    for parent, child in DEMO_PARENTS:
        acl.link_parent(s, ids[parent], ids[child])
    return usable


def _rubrics(s: Session, school: int) -> bool:
    """The demo rubrics, one role of each kind; False when they exist already.

    * ``vie-scolaire``: school-wide; everyone reads, teachers publish, the head
      moderates, the admin manages.
    * ``ca`` (conseil d'administration): members only (writers), the head manages;
      its "Comptes rendus" folder is readable by the whole school (a folder grant,
      added by :func:`create_demo` once the folder exists).
    * ``theatre``: the club's students write (a moderator publishes), its teacher
      moderates; sub-rubric ``theatre-spectacle`` inherits those grants, and a
      pending invitation asks M. Moreau to join as writer.
    """
    if acl.find_rubric(s, "vie-scolaire") is not None:
        return False
    acl.add_rubric(s, "vie-scolaire", "Vie scolaire", school_id=school)
    acl.grant(s, "vie-scolaire", "visitor", pop=acl.Population())
    acl.grant(s, "vie-scolaire", "publisher", pop=acl.population(s, school, profile="teacher"))
    acl.grant(s, "vie-scolaire", "moderator", user="direction")
    acl.grant(s, "vie-scolaire", "manager", user="admin")
    acl.add_rubric(s, "ca", "Conseil d'administration", school_id=school)
    acl.grant(s, "ca", "writer", pop=acl.population(s, school, group="conseil d'administration"))
    acl.grant(s, "ca", "manager", user="direction")
    acl.add_rubric(s, "theatre", "Club théâtre", school_id=school)
    acl.grant(s, "theatre", "writer", pop=acl.population(s, school, group="club théâtre",
                                                         profile="student"))
    acl.grant(s, "theatre", "moderator", user="c.bernard")
    acl.add_rubric(s, "theatre-spectacle", "Spectacle de fin d'année", parent="theatre")
    acl.invite(s, "theatre", "writer", "a.moreau", invited_by="c.bernard")
    return True


# domain, profiles who book, managers, [(resource, kind, quantity, validation, location)]
DEMO_BOOKING = [
    ("Salles informatiques", ["teacher", "staff"], ["admin"], [
        ("Salle informatique 1", "place", 1, False, "Bâtiment B, salle 12"),
        ("Chariot de 15 tablettes", "equipment", 15, True, "CDI"),
    ]),
    ("Matériel de la vie scolaire", ["teacher", "staff", "head"], ["admin"], [
        ("Vidéoprojecteur mobile", "equipment", 2, False, "Vie scolaire"),
    ]),
]


def _booking(s: Session, school: int) -> None:
    """The demo's resource domains and resources, unless the school has domains."""
    from web.booking import admin

    if any(d.school_id == school for d in admin.domains(s)):
        return
    for name, profiles, managers, resources in DEMO_BOOKING:
        domain = admin.add_domain(s, school, name, admin.Hours(), profiles=profiles,
                                  managers=managers)
        for label, kind, quantity, validation, location in resources:
            admin.add_resource(s, domain, label, kind, quantity=quantity,
                               needs_validation=validation, location=location)


def _school(s: Session) -> int:
    """The demo school, added as ``davserver school add`` does when absent (a demo
    made by an older version, without a UAI, is kept as it is)."""
    for ref in (DEMO_SCHOOL, DEMO_UAI):
        try:
            return acl.find_school(s, ref)
        except NotFound:
            pass
    return acl.add_school(s, DEMO_SCHOOL, uai=DEMO_UAI, zone=DEMO_ZONE).id


def create_demo(config: Config) -> list[str]:
    """Create the demo school, its people and rubrics, unless they exist. Returns the
    demo logins whose demo password still works (changed or disabled ones are left
    as they are, and not listed)."""
    from davserver.app import create_app  # the crown: the store for the CA folder
    from providers import Stamp

    db = open_database(config)
    try:
        with db.transaction() as s:
            school = _school(s)
            usable = _people(s, school)
            created = _rubrics(s, school)
            _booking(s, school)
            ca = acl.get_rubric(s, "ca")
            head = acl.find_user(s, "direction")
    finally:
        db.dispose()
    if created and head is not None:
        app = create_app(config)
        try:
            space = app.store.ensure_space("rubric", rubric_id=ca.id)
            folder = app.store.make_collection(space.id, "/Comptes rendus",
                                               stamp=Stamp(head.id, True))
            with app.db.transaction() as s:
                acl.grant(s, "ca", "visitor", pop=acl.Population(), folder_node_id=folder.id)
        finally:
            app.close()
    return usable


def demo_banner(usable: list[str]) -> str:
    """What ``davserver demo`` prints under the address: logins, passwords, rubrics."""
    lines = ["", "Demo school: " + DEMO_SCHOOL, "Mount {url} with one of these logins:"]
    for login, profile, name, klass in DEMO_USERS:
        if login in usable:
            extra = f", {klass}" if klass else ""
            lines.append(f"  {login:<15} {demo_password(login):<22} {profile}{extra} — {name}")
    hidden = [login for login, *_ in DEMO_USERS if login not in usable]
    if hidden:
        lines.append("(not listed, their password was changed or they were disabled: "
                     + ", ".join(hidden) + ")")
    lines.append("Rubrics (rubriques/): vie-scolaire (everyone reads), ca (members only; "
                 "'Comptes rendus' readable by all), theatre and theatre-spectacle (club). "
                 "See them with: davserver rubric show SLUG")
    return "\n".join(lines)
