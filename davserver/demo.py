"""The demo school of ``davserver demo``: people, classes, subjects and rubrics that
show every role, so that a new user can try each part of the server at once.

Its cahier de textes is made around the day the demo is first run (``clock.today``,
issue 20, "The demo shows all of it"): the school year holding that day (from the
summer holidays on, the coming one, whose lessons start at the rentrée), the school
holidays of its zone (C), a weekly timetable of 4B and 3A placed on the previous,
current and two next school weeks (no lesson on a public holiday or in the school
holidays: in the Christmas holidays, the week shown is the rentrée's), contents
and homework in the lessons already held (one homework to hand in online), bookings of
the next lessons, a visa on M. Dupont's textbook up to the end of last week, and two
files of the club théâtre waiting for its moderator.

Everything is created only when absent: running the demo again keeps the data and
what people changed (passwords, files, grants).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import acl
from davserver import clock
from davserver.config import Config
from davserver.db import open_database
from davserver.errors import DomainError, NotFound
from providers import Stamp

if TYPE_CHECKING:
    from web.textbook import Lesson
    from web.textbook.timetable import SchoolCalendar

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


DEMO_TIME_ZONE = "Europe/Paris"
# weekday (0 Monday), hour, class, subject code, teacher, room: one week of 4B and 3A
DEMO_TIMETABLE = [
    (0, 8, "4B", "MATHS", "m.dupont", "B12"), (0, 10, "4B", "FRANC", "c.bernard", "A03"),
    (0, 10, "3A", "MATHS", "m.dupont", "B12"), (0, 14, "3A", "HIGEO", "a.moreau", "A05"),
    (1, 8, "3A", "FRANC", "c.bernard", "A03"), (1, 10, "4B", "MATHS", "m.dupont", "B12"),
    (1, 14, "4B", "HIGEO", "a.moreau", "A05"), (2, 9, "4B", "FRANC", "c.bernard", "A03"),
    (2, 10, "3A", "MATHS", "m.dupont", "B12"), (3, 8, "3A", "HIGEO", "a.moreau", "A05"),
    (3, 10, "3A", "FRANC", "c.bernard", "A03"), (3, 14, "4B", "MATHS", "m.dupont", "B12"),
    (4, 8, "4B", "HIGEO", "a.moreau", "A05"), (4, 11, "4B", "FRANC", "c.bernard", "A03"),
    (4, 14, "3A", "MATHS", "m.dupont", "B12"),
]
# (class, subject): contents of the lessons held, oldest first (title, HTML body)
DEMO_CONTENTS = {
    ("4B", "MATHS"): [
        ("Les fractions", "<h2>Définition</h2><p>Une <strong>fraction</strong> partage "
         "une unité en parts <em>égales</em>.</p><ul><li>le numérateur compte les parts "
         "prises ;</li><li>le dénominateur dit en combien de parts l'unité est "
         "partagée.</li></ul>"),
        ("Fractions égales", "<h2>La règle</h2><p>On ne change pas une fraction "
         "en multipliant son numérateur et son dénominateur par le même nombre.</p>"
         "<ol><li>Exemple : 2/3 = 4/6.</li><li>Simplifier 12/18.</li></ol>"),
        ("Comparer des fractions", "<p>Réduire au <strong>même dénominateur</strong>, "
         "puis comparer les numérateurs.</p>"),
    ],
    ("4B", "FRANC"): [
        ("Le portrait", "<h2>Le portrait dans le roman</h2><p>Lecture d'un extrait de "
         "<em>Germinal</em> : relever le vocabulaire du physique et du caractère.</p>"),
    ],
    ("3A", "HIGEO"): [
        ("La Première Guerre mondiale", "<h2>1914-1918</h2><p>Une guerre "
         "<strong>totale</strong> : front, arrière, colonies.</p><p>Voir la "
         "<a href=\"https://www.cheminsdememoire.gouv.fr/\">page des Chemins de "
         "mémoire</a>.</p>"),
    ],
}
# (class, subject): homework given in the last lesson held (title, body, type, minutes,
# online hand-in)
DEMO_HOMEWORK = {
    ("4B", "MATHS"): ("Exercices 12 à 15 p. 48", "<p>Simplifier chaque fraction et "
                      "justifier.</p>", "Exercices", 30, False),
    ("4B", "FRANC"): ("Rédaction : le portrait d'un personnage", "<p>Une page : le "
                      "physique, puis le caractère. À rendre <strong>en ligne</strong>, "
                      "au format PDF ou traitement de texte.</p>", "Devoir maison", 60,
                      True),
    ("3A", "HIGEO"): ("Apprendre la leçon", "<p>Savoir définir « guerre totale ».</p>",
                      "Autre", 20, False),
}
# (class, subject, resource, quantity, purpose): booked for the next lesson to come
DEMO_BOOKINGS = [
    ("4B", "MATHS", "Salle informatique 1", 1, "Exercices sur tableur"),
    ("3A", "HIGEO", "Vidéoprojecteur mobile", 1, "Projection de documents d'archives"),
]
# Files the club théâtre's students sent to its rubric, waiting for the moderator
DEMO_PENDING = [("emma.roux", "Affiche du spectacle (projet).txt",
                 "Affiche : « Le Malade imaginaire », vendredi 19 h, salle polyvalente.\n"),
                ("nathan.morel", "Répétitions.txt",
                 "Répétitions le mardi de 12 h 30 à 13 h 30 au foyer.\n")]
# Published files, so that the rubrics' home pages and the home page's « Fichiers
# récents » and « Rubriques avec du nouveau » show something, by the head: (rubric,
# path, text)
DEMO_PUBLISHED = [
    ("vie-scolaire", "/Calendrier des conseils de classe.txt",
     "Conseils de classe du premier trimestre : du 7 au 11 décembre, après 17 h.\n"),
    ("ca", "/Comptes rendus/Compte rendu du CA de novembre.txt",
     "Le conseil a adopté le budget et le règlement intérieur modifié.\n"),
]
# The encadré of the Vie scolaire's home page (already clean HTML: web/rich_text.py's
# allow-list keeps all of it).
DEMO_BOX = ("<h2>Bienvenue sur la vie scolaire</h2><p>Retrouvez ici les informations de la "
            "CPE et de la direction : <strong>calendrier</strong>, règlement, sorties.</p>")


def demo_year(today: date) -> tuple[date, date]:
    """The French school year holding ``today`` (1 September to 4 July); from the summer
    holidays on (5 July), the coming one."""
    first = today.year if today >= date(today.year, 7, 5) else today.year - 1
    return date(first, 9, 1), date(first + 1, 7, 4)


def demo_weeks(today: date, start: date, calendar: SchoolCalendar) -> list[date]:
    """The Mondays of the demo's weeks around ``today``, or around the rentrée
    ``start`` when the year has not begun: the previous school week, the current week
    if it has classes, and the two school weeks after it (a school week has at least
    one school day in ``calendar``), so that a demo started in the holidays shows the
    week of the return to class filled."""
    anchor = max(today, start)
    monday = anchor - timedelta(days=anchor.weekday())

    def school_week(m: date) -> bool:
        return calendar.week(m) is not None

    first, last = monday_of(calendar.first), monday_of(calendar.last)
    before = monday - timedelta(weeks=1)
    while before >= first and not school_week(before):
        before -= timedelta(weeks=1)
    weeks = [before] if before >= first else []
    if school_week(monday):
        weeks.append(monday)
    after = monday + timedelta(weeks=1)
    for _n in range(2):
        while after <= last and not school_week(after):
            after += timedelta(weeks=1)
        if after <= last:
            weeks.append(after)
        after += timedelta(weeks=1)
    return weeks


def _textbook(s: Session, school: int) -> bool:
    """The demo's school year, timetable, contents, homework and visa, unless the
    school has a school year already; False then."""
    from web import textbook  # the crown builds on the web layer
    from web.textbook.timetable import SchoolCalendar, zone_holidays

    if textbook.current_school_year(s, school) is not None:
        return False
    zone = ZoneInfo(DEMO_TIME_ZONE)
    today, now = clock.today(zone), clock.now()
    start, end = demo_year(today)
    year = textbook.set_school_year(s, school, start, end, DEMO_TIME_ZONE)
    if not textbook.holidays_of(s, school):  # holidays imported by hand are kept
        textbook.replace_holidays(s, school, zone_holidays(start, end, DEMO_ZONE))
    calendar = SchoolCalendar.build(start, end, textbook.holidays_of(s, school), DEMO_UAI)
    user = {login: acl.find_user(s, login) for login, *_ in DEMO_USERS}
    ids = {login: p.id for login, p in user.items() if p is not None}
    lessons: dict[tuple[str, str], list[Lesson]] = {}
    for monday in demo_weeks(today, start, calendar):
        for weekday, hour, klass, code, teacher, room in DEMO_TIMETABLE:
            day = monday + timedelta(days=weekday)
            if calendar.off(day) is not None:  # outside the year, holidays, jour férié
                continue
            service = textbook.ensure_service(
                s, school, acl.ensure_group(s, school, klass),
                acl.ensure_subject(s, school, code), [ids[teacher]])
            begin = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
            lessons.setdefault((klass, code), []).append(textbook.create_lesson(
                s, service, begin, begin + timedelta(minutes=55), year, room=room))
    for key, rows in lessons.items():
        rows.sort(key=lambda lesson: lesson.start)
        held = [lesson for lesson in rows if lesson.start <= now] or rows[:1]
        teacher_id = ids[next(t for _d, _h, k, c, t, _r in DEMO_TIMETABLE if (k, c) == key)]
        for lesson, (title, body) in zip(held[-len(DEMO_CONTENTS.get(key, [])):],
                                         DEMO_CONTENTS.get(key, []), strict=False):
            textbook.add_activity(s, teacher_id, lesson.id, textbook.ActivityInput(
                textbook.ActivityKind.content, title, body))
        if key in DEMO_HOMEWORK:
            title, body, kind, minutes, online = DEMO_HOMEWORK[key]
            textbook.add_activity(s, teacher_id, held[-1].id, textbook.ActivityInput(
                textbook.ActivityKind.homework, title, body, homework_type=kind,
                minutes=minutes, online_submission=online))
    last_friday = monday_of(today) - timedelta(days=3)
    if start <= last_friday and "direction" in ids:
        textbook.put_visa(s, ids["direction"], ids["m.dupont"], last_friday,
                          "Cahier de textes tenu avec soin.")
    _lesson_bookings(s, school, ids, lessons, now)
    return True


def monday_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def _lesson_bookings(s: Session, school: int, ids: dict[str, int],
                     lessons: dict[tuple[str, str], list[Lesson]], now: datetime) -> None:
    """Book :data:`DEMO_BOOKINGS` for the next lesson of each service, as its teacher
    does from the lesson page. A booking the domain's rules refuse is left out: the
    demo never fails on one."""
    from web.booking.lessons import book_for_lesson
    from web.booking.models import Resource, ResourceDomain

    resources = {r.name: r.id for r in s.scalars(
        select(Resource).join(ResourceDomain, Resource.domain_id == ResourceDomain.id)
        .where(ResourceDomain.school_id == school))}
    for klass, code, label, quantity, purpose in DEMO_BOOKINGS:
        coming = [lesson for lesson in lessons.get((klass, code), []) if lesson.start > now]
        if not coming or label not in resources:
            continue
        teacher = next(t for _d, _h, k, c, t, _r in DEMO_TIMETABLE if (k, c) == (klass, code))
        try:
            with s.begin_nested():
                book_for_lesson(s, acl.user_context(s, ids[teacher], school), coming[0].id,
                                [(resources[label], quantity)], purpose)
        except DomainError:
            continue


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

    db = open_database(config)
    try:
        with db.transaction() as s:
            school = _school(s)
            usable = _people(s, school)
            created = _rubrics(s, school)
            _booking(s, school)
            _textbook(s, school)
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
                theatre = acl.get_rubric(s, "theatre").id
                authors = {login: acl.find_user(s, login) for login, _n, _t in DEMO_PENDING}
            stage = app.store.ensure_space("rubric", rubric_id=theatre)
            for login, name, text in DEMO_PENDING:
                author = authors[login]
                app.store.write_bytes(stage.id, "/" + name, text.encode(),
                       Stamp(author.id if author else None, published=False))
            for slug, path, text in DEMO_PUBLISHED:
                with app.db.transaction(write=False) as s:
                    rubric_id = acl.get_rubric(s, slug).id
                shared = app.store.ensure_space("rubric", rubric_id=rubric_id)
                app.store.write_bytes(shared.id, path, text.encode(), Stamp(head.id, True))
            with app.db.transaction() as s:
                acl.set_general(s, "vie-scolaire", name="Vie scolaire", home_page=True)
                acl.set_box(s, "vie-scolaire", box_html=DEMO_BOX)
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
    lines.append("Cahier de textes (/textbook/): a 4B and 3A timetable around today (school "
                 "holidays of zone C and public holidays left free), with contents, homework "
                 "(one to hand in online), bookings and a visa.")
    lines.append("Rubrics (rubriques/): vie-scolaire (everyone reads; its home page is "
                 "/rubriques/vie-scolaire/), ca (members only; "
                 "'Comptes rendus' readable by all), theatre and theatre-spectacle (club). "
                 "See them with: davserver rubric show SLUG")
    return "\n".join(lines)
