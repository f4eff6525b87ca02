""""Mon compte" preferences and the school directory (issue 20, the guide's TP 3), over
HTTP against a real server process, on SQLite and PostgreSQL (the directory's search is
SQL: case-insensitive matching on names, classes and subjects):

* "Mes informations": a teacher finds the directory's address filled in; a saved
  redirect address is where the ENT's mail goes (``acl.contacts_of``, what the
  notification mailer reads); bad addresses, numbers and minutes are refused with the
  reason next to the field, and nothing is saved;
* "Mes préférences" and "Mes rubriques" are saved and shown again; a rubric the user
  has no role in cannot be followed;
* the directory: staff search by name, class or subject; a number on the liste rouge
  is seen by an administrator, not by a teacher; students and parents get 403.
The same flows in Chromium, with the axe check, are in
:mod:`tests.integration.test_web_preferences_browser`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import html

import acl
from tests.conftest import PASSWORD, Server, running_server
from tests.web import WebClient, csrf_token

PEOPLE = [  # login, profile, display name, e-mail, class, subject
    ("dupont", "teacher", "Marie Dupont", "marie.dupont@ac-test.fr", "4B", "MATHS"),
    ("martin", "teacher", "Paul Martin", "paul.martin@ac-test.fr", "3A", "FR"),
    ("head", "head", "Anne Proviseur", None, None, None),
    ("cpe", "staff", "Jean Vie-Scolaire", None, None, None),
    ("lucas", "student", "Lucas Petit", None, "4B", None),
    ("mme.petit", "parent", "Claire Petit", None, None, None),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("preferences")) as server:
        seed(server)
        yield server


def seed(server: Server) -> dict[str, int]:
    """The school of :data:`PEOPLE`, rubric ``club`` (dupont writer) and ``secret``
    (no role for dupont). Returns the rubric ids."""
    with server.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        for login, profile, name, email, group, subject in PEOPLE:
            user = acl.create_user(s, login, PASSWORD, profile, display_name=name,
                                   email=email, school_id=school)
            server.users[login] = PASSWORD
            if group:
                acl.add_member(s, acl.ensure_group(s, school, group, "class"), user.id)
            if subject:
                names = {"MATHS": "Mathématiques", "FR": "Français"}
                acl.add_teacher_subject(s, user.id,
                                        acl.ensure_subject(s, school, subject, names[subject]))
        club = acl.add_rubric(s, "club", "Club théâtre", school_id=school)
        secret = acl.add_rubric(s, "secret", "Conseil", school_id=school)
        acl.grant(s, "club", "writer", user="dupont")
        acl.grant(s, "secret", "manager", user="head")
        return {"club": club.id, "secret": secret.id}


def signed_in(server: Server, login: str) -> WebClient:
    client = WebClient(server)
    assert client.login(login, PASSWORD).status_code == 302
    return client


def form_value(page: str, name: str) -> str | None:
    found = html.fromstring(page).xpath(f'//*[@name="{name}"]')
    if not found:
        return None
    field = found[0]
    if field.get("type") == "checkbox":
        return "1" if field.get("checked") is not None else ""
    if field.tag == "select":
        chosen = field.xpath("./option[@selected]/@value")
        return str(chosen[0]) if chosen else None
    return str(field.get("value"))


def text(page: str) -> str:
    """The page's words, entities decoded."""
    return " ".join(html.fromstring(page).text_content().split())


def user_id(server: Server, login: str) -> int:
    with server.transaction() as s:
        found = acl.find_user(s, login)
        assert found is not None
        return found.id


def test_my_information_prefilled_saved_used_and_checked(srv: Server) -> None:
    web = signed_in(srv, "dupont")
    page = web.get("/account/preferences")
    assert page.status_code == 200
    assert form_value(page.text, "redirect_email") == "marie.dupont@ac-test.fr"
    assert "Reprise de l'annuaire" in text(page.text)
    token = csrf_token(page.text)

    for field, value, said in [
            ("redirect_email", "pas une adresse", "n'est pas une adresse électronique"),
            ("phone_mobile", "appelez-moi", "n'est pas un numéro de téléphone"),
            ("phone_landline", "1" * 40, "n'est pas un numéro de téléphone")]:
        refused = web.post("/account/preferences/informations",
                           {"csrf_token": token, field: value})
        assert refused.status_code == 400 and said in text(refused.text), field
        assert form_value(refused.text, field) == value  # what was typed stays
        uid = user_id(srv, "dupont")
        with srv.transaction() as s:
            assert acl.preferences_of(s, uid) == acl.Preferences()

    saved = web.post("/account/preferences/informations", {
        "csrf_token": token, "redirect_email": " marie@perso.example ",
        "phone_landline": "01 23 45 67 89", "phone_mobile": "+33 6 12 34 56 78",
        "private_numbers": "1"})
    assert saved.status_code == 303
    page = web.get("/account/preferences")
    assert "Préférences enregistrées." in text(page.text)
    assert form_value(page.text, "redirect_email") == "marie@perso.example"
    assert form_value(page.text, "phone_mobile") == "+33 6 12 34 56 78"
    assert form_value(page.text, "private_numbers") == "1"
    # The ENT's mail goes to the redirect address.
    uid = user_id(srv, "dupont")
    with srv.transaction() as s:
        assert acl.contacts_of(s, {uid})[uid].email == "marie@perso.example"

    # Without the CSRF token: refused, nothing changed.
    forged = web.post("/account/preferences/informations", {"redirect_email": "x@y.fr"})
    assert forged.status_code in (400, 403)
    with srv.transaction() as s:
        assert acl.preferences_of(s, uid).redirect_email == "marie@perso.example"


def test_my_preferences_and_rubrics_are_saved(srv: Server) -> None:
    web = signed_in(srv, "martin")
    page = web.get("/account/preferences")
    # Not a rubric member: none listed; martin's address is prefilled as a teacher's.
    assert "Vous n'avez de rôle dans aucune rubrique." in text(page.text)
    token = csrf_token(page.text)
    for minutes in ("0", "601", "beaucoup", "-5", "²"):  # "²" is a digit int() refuses
        refused = web.post("/account/preferences/reglages", {
            "csrf_token": token, "homework_minutes": minutes, "input_mode": "rich",
            "email": "1"})
        assert refused.status_code == 400 and "minutes" in text(refused.text), minutes
    bad_mode = web.post("/account/preferences/reglages",
                        {"csrf_token": token, "input_mode": "wysiwyg"})
    assert bad_mode.status_code == 400 and "Mode de saisie inconnu" in text(bad_mode.text)
    done = web.post("/account/preferences/reglages", {
        "csrf_token": token, "unfold_rubrics": "1", "homework_minutes": "45",
        "input_mode": "plain"})  # "email" unticked
    assert done.status_code == 303
    page = web.get("/account/preferences").text
    assert form_value(page, "unfold_rubrics") == "1"
    assert form_value(page, "homework_minutes") == "45"
    assert form_value(page, "input_mode") == "plain"
    assert form_value(page, "email") == ""
    uid = user_id(srv, "martin")
    with srv.transaction() as s:
        prefs = acl.preferences_of(s, uid)
        assert (prefs.unfold_rubrics, prefs.homework_minutes, prefs.input_mode) == \
            (True, 45, acl.InputMode.plain)

    rubrics = signed_in(srv, "dupont")
    page = rubrics.get("/account/preferences").text
    rows = html.fromstring(page).xpath('//tr[@data-slug]/@data-slug')
    assert rows == ["club"]  # "secret": no role there
    club = html.fromstring(page).xpath('//tr[@data-slug="club"]//input/@value')[0]
    token = csrf_token(page)
    with srv.transaction() as s:
        secret = acl.get_rubric(s, "secret").id
    refused = rubrics.post("/account/preferences/rubriques",
                           [("csrf_token", token), ("notify", str(secret))])
    assert refused.status_code == 400
    junk = rubrics.post("/account/preferences/rubriques",
                        [("csrf_token", token), ("notify", "club")])
    assert junk.status_code == 400
    assert rubrics.post("/account/preferences/rubriques",
                        [("csrf_token", token), ("notify", club)]).status_code == 303
    assert form_value(rubrics.get("/account/preferences").text, "notify") == "1"
    dupont = user_id(srv, "dupont")
    with srv.transaction() as s:
        assert acl.subscribers(s, int(club)) == {dupont}
    assert rubrics.post("/account/preferences/rubriques",
                        {"csrf_token": token}).status_code == 303
    with srv.transaction() as s:
        assert acl.subscribers(s, int(club)) == set()


def directory_rows(page: str) -> dict[str, dict[str, str]]:
    rows = {}
    for tr in html.fromstring(page).xpath('//table[contains(@class,"directory")]//tr[@data-user]'):
        cells = {td.get("class"): " ".join(td.text_content().split()) for td in tr.xpath("td")}
        rows[cells["name"]] = cells
    return rows


def test_directory_search_and_privacy(srv: Server) -> None:
    cpe, martin = user_id(srv, "cpe"), user_id(srv, "martin")
    with srv.transaction() as s:
        acl.save_preferences(s, cpe, acl.Preferences(
            phone_mobile="06 11 22 33 44", private_numbers=True))
        acl.save_preferences(s, martin, acl.Preferences(
            phone_landline="01 99 88 77 66"))
    teacher = signed_in(srv, "martin")
    everyone = directory_rows(teacher.get("/annuaire/").text)
    assert set(everyone) >= {"Marie Dupont", "Paul Martin", "Anne Proviseur",
                             "Jean Vie-Scolaire"}
    assert "Lucas Petit" not in everyone and "Claire Petit" not in everyone
    assert everyone["Jean Vie-Scolaire"]["phones"] == "liste rouge"
    assert "06 11" not in teacher.get("/annuaire/").text
    assert everyone["Paul Martin"]["phones"] == "01 99 88 77 66"
    assert everyone["Paul Martin"]["subjects"] == "Français"

    assert set(directory_rows(teacher.get("/annuaire/?q=dupont").text)) == {"Marie Dupont"}
    assert set(directory_rows(teacher.get("/annuaire/?q=4b").text)) == {"Marie Dupont"}
    assert set(directory_rows(teacher.get("/annuaire/?q=MATHÉ").text)) == {"Marie Dupont"}
    assert set(directory_rows(teacher.get("/annuaire/?q=maths").text)) == {"Marie Dupont"}
    nobody = teacher.get("/annuaire/?q=zzz")
    assert nobody.status_code == 200 and "Personne ne correspond à « zzz »." in text(nobody.text)
    assert teacher.get("/annuaire/?q=" + "x" * 101).status_code == 400

    head = directory_rows(signed_in(srv, "head").get("/annuaire/").text)
    assert head["Jean Vie-Scolaire"]["phones"] == "06 11 22 33 44"
    for login in ("lucas", "mme.petit"):
        assert signed_in(srv, login).get("/annuaire/").status_code == 403


def test_followers_hear_of_new_contributions_they_may_read(srv: Server) -> None:
    """« Mes rubriques » used: a published file (over WebDAV) and a pending one once a
    moderator publishes it (in the browser) each notify the rubric's followers, not
    their author, not someone who does not follow, and not before they may read it."""
    from web.notifications import notifications_of

    with srv.transaction() as s:
        acl.grant(s, "club", "publisher", user="martin")
        acl.grant(s, "club", "writer", user="cpe")
        acl.grant(s, "club", "moderator", user="head")
        club = acl.get_rubric(s, "club").id
    dupont, martin = user_id(srv, "dupont"), user_id(srv, "martin")
    web = signed_in(srv, "dupont")
    token = csrf_token(web.get("/account/preferences").text)
    assert web.post("/account/preferences/rubriques",
                    [("csrf_token", token), ("notify", str(club))]).status_code == 303

    def notes(uid: int) -> list[tuple[str, str | None]]:
        with srv.transaction() as s:
            return [(n.subject, n.link) for n in notifications_of(s, uid)
                    if n.kind == "rubric_contribution"]

    base = f"{srv.dav_url}/rubriques/club"
    dav = srv.session("martin")
    assert dav.request("MKCOL", f"{base}/Affiches été/").status_code == 201
    assert dav.put(f"{base}/Affiches été/spectacle.pdf", data=b"%PDF").status_code == 201
    assert notes(dupont) == [("Nouveau dans « Club théâtre » : spectacle.pdf",
                              "/documents/rubriques/club/Affiches%20%C3%A9t%C3%A9/")]
    assert notes(martin) == []  # the author, and not a follower
    # Replacing the content is no new contribution.
    assert dav.put(f"{base}/Affiches été/spectacle.pdf", data=b"%PDF v2").status_code == 204
    assert len(notes(dupont)) == 1
    # His own upload: nothing for him.
    assert srv.session("dupont").put(f"{base}/mien.txt", data=b"x").status_code == 201
    assert len(notes(dupont)) == 1

    # A writer's file waits: nothing until a moderator publishes it.
    assert srv.session("cpe").put(f"{base}/planning.txt", data=b"p").status_code == 201
    assert len(notes(dupont)) == 1
    head = signed_in(srv, "head")
    page = head.get("/documents/rubriques/club/")
    assert head.post("/documents/rubriques/club/", [
        ("csrf_token", csrf_token(page.text)), ("action", "publish"),
        ("items", "planning.txt")]).status_code == 303
    assert notes(dupont)[0] == ("Nouveau dans « Club théâtre » : planning.txt",
                                "/documents/rubriques/club/")
    assert len(notes(dupont)) == 2
    # A folder copied in from a porte-documents by a publisher: one notification.
    assert dav.request("MKCOL", f"{srv.dav_url}/porte-documents/Décors/").status_code == 201
    for n in range(3):
        assert dav.put(f"{srv.dav_url}/porte-documents/Décors/plan {n}.png",
                       data=b"png").status_code == 201
    martin_web = signed_in(srv, "martin")
    page = martin_web.get("/documents/rubriques/club/")
    assert martin_web.post("/documents/rubriques/club/", {
        "csrf_token": csrf_token(page.text), "action": "import",
        "source": "porte-documents/Décors"}).status_code == 303
    assert notes(dupont)[0] == ("Nouveau dans « Club théâtre » : Décors",
                                "/documents/rubriques/club/")
    assert len(notes(dupont)) == 3
    # Moved in over WebDAV from a porte-documents: announced too.
    assert dav.put(f"{srv.dav_url}/porte-documents/affiche.png", data=b"png").status_code == 201
    moved = dav.request("MOVE", f"{srv.dav_url}/porte-documents/affiche.png",
                        headers={"Destination": f"{base}/affiche.png"})
    assert moved.status_code == 201
    assert notes(dupont)[0][0] == "Nouveau dans « Club théâtre » : affiche.png"
    assert len(notes(dupont)) == 4
    # Renamed inside the rubric: nothing new.
    renamed = dav.request("MOVE", f"{base}/affiche.png",
                          headers={"Destination": f"{base}/affiche 2026.png"})
    assert renamed.status_code == 201
    assert len(notes(dupont)) == 4
