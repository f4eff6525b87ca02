"""What kind of file this is, from its content (never its name): the timetable formats
this import reads, and the files people send by mistake, named so that the message
says which command reads them.

:func:`detect_format` returns ``edt``, ``udt``, ``pronote``, ``csv`` or ``ics``, or
raises :class:`WrongKind` (a ``BadRequest``) naming what the file looks like.
:func:`parse_xml` is the one XML parser of the imports: lxml with entities left
unexpanded, no DTD loaded and no network (``resolve_entities=False``,
``no_network=True``), so a hostile file can neither blow up memory nor make the server
fetch anything.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from davserver.errors import BadRequest

from .text import fold

if TYPE_CHECKING:
    from lxml.etree import _Element

FORMATS = ("edt", "udt", "pronote", "csv", "ics")
_SNIFF = 65536
_WEEKDAY = re.compile(r"^(lun|mar|mer|jeu|ven|sam|dim)", re.IGNORECASE)
_HOUR = re.compile(r"^\s*\d{1,2}\s*[hH:]\s*\d{0,2}")


class WrongKind(BadRequest):
    """The file is not a timetable this import reads; the message says what it looks
    like and, when we know, which command reads it."""


def parse_xml(data: bytes) -> _Element:
    """The root element of an XML document. The declaration's encoding is honoured
    (UTF-8 with or without BOM, ISO-8859-1...). Entities are not expanded, no DTD is
    loaded, nothing is fetched. Raises ``BadRequest`` naming the line and column of a
    file that is not well-formed (a truncated export, typically)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=True,
                             remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        where = f"line {exc.lineno}, column {exc.offset}" if exc.lineno else "start"
        hint = (" (the file looks truncated: export it again)"
                if "end of data" in str(exc.msg).lower() or "premature" in str(
                    exc.msg).lower() else "")
        raise BadRequest(f"not well-formed XML at {where}: {exc.msg}{hint}") from exc
    if root is None:
        raise BadRequest("not well-formed XML: no root element")
    return root


def _xml_root(data: bytes) -> tuple[str, dict[str, str]]:
    """The root element's name and attributes, read from the start of the file only
    (a truncated EDT export is still recognised, then refused by its parser)."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("start",), resolve_entities=False,
                                 no_network=True, load_dtd=False)
    try:
        parser.feed(data[:_SNIFF])
        for _event, element in parser.read_events():
            return etree.QName(element).localname, dict(element.attrib)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"not well-formed XML at line {exc.lineno}: {exc.msg}") from exc
    raise BadRequest("not well-formed XML: no root element")


_PEOPLE_HINT = "use `davserver import people`"


def _xml_kind(data: bytes) -> str:
    root, attrs = _xml_root(data)
    name = root.upper()
    if name == "TABLE":
        kind = attrs.get("nom", "")
        if fold(kind) in ("cours", "cours_annuels", ""):
            return "edt"
        raise WrongKind(f"this is an EDT text export of '{kind}', not of courses: in EDT, "
                        "export the data type 'Cours' as XML (EXP_COURS.xml)")
    if name == "FICALIMMENESR":
        raise WrongKind("this looks like an AAF directory file (ficAlimMENESR), not a "
                        f"timetable: {_PEOPLE_HINT}")
    if name.startswith("BEE_"):
        raise WrongKind(f"this looks like a SIECLE export ({root}), not a timetable: "
                        f"{_PEOPLE_HINT}")
    if name == "STS_EDT":
        raise WrongKind("this looks like an STS-web export (sts_emp), not a timetable: "
                        f"{_PEOPLE_HINT}")
    if name == "HTML":
        raise WrongKind("this is a web page (HTML), not a timetable export: save the "
                        "file itself, not the page that offers it")
    raise WrongKind(f"an XML file whose root is <{root}> is not a timetable this import "
                    "reads (EDT's EXP_COURS.xml has the root <TABLE nom=\"Cours\">)")


def _ics_kind(text: str) -> str:
    head = text[:_SNIFF].upper()
    if re.search(r"^PRODID[;:].*(INDEX-EDUCATION|PRONOTE|HYPERPLANNING)", head, re.MULTILINE) \
            or "-INDEX-EDUCATION\r" in head or "-INDEX-EDUCATION\n" in head:
        return "pronote"
    events = head.count("BEGIN:VEVENT")
    all_day = len(re.findall(r"^DTSTART;VALUE=DATE:", head, re.MULTILINE))
    if events and all_day == events and "VACANCES" in head:
        raise WrongKind("this looks like a holiday calendar (every event a whole day of "
                        "vacances), not a timetable: use `davserver import holidays`")
    return "ics"


def _json_kind(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise WrongKind(f"a JSON file that cannot be read ({exc}), not a timetable") from exc
    records = value.get("results", value) if isinstance(value, dict) else value
    first = records[0] if isinstance(records, list) and records else {}
    if isinstance(first, dict) and "fields" in first:
        first = first["fields"]
    if isinstance(first, dict) and {"description", "start_date"} <= set(first):
        raise WrongKind("this looks like the ministry's school calendar "
                        "(fr-en-calendrier-scolaire), not a timetable: use `davserver "
                        "import holidays`")
    raise WrongKind("a JSON file is not a timetable this import reads")


def _csv_kind(text: str) -> str:
    lines = [line for line in text[:_SNIFF].splitlines() if line.strip()]
    if not lines:
        raise BadRequest("empty file")
    first = lines[0]
    delimiter = max(";,\t", key=first.count)
    cells = [fold(c).strip('"') for c in first.split(delimiter)]
    names = set(cells)
    udt = {"jour", "heure", "div", "matiere", "professeur", "salle", "groupe", "regroup",
           "freq"}
    if len(names & udt) >= 5 and "div" in names:
        return "udt"
    if {"login", "identifiant"} & names and {"profil", "profile"} & names:
        raise WrongKind("this looks like a people file (login and profil columns), not a "
                        f"timetable: {_PEOPLE_HINT}")
    ours = {"jour", "day", "weekday"} & names and {"debut", "start"} & names
    if ours:
        return "csv"
    if {"nom", "prenom"} <= names:  # SIECLE's and ONDE's extractions, people CSVs
        raise WrongKind("this looks like a list of people (nom, prénom columns), not a "
                        f"timetable: {_PEOPLE_HINT}")
    if len(cells) >= 11 and _WEEKDAY.match(cells[0]) and _HOUR.match(cells[1]):
        return "udt"  # UDT's export without its header line (GEPI asks for that)
    raise WrongKind("a text file whose first line is neither our timetable CSV's header "
                    "(classe;matiere;professeur;jour;debut;fin) nor UnDeuxTEMPS's "
                    "(Jour;Heure;Div;Matière;Professeur;Salle;Groupe;Regroup;Eff;Mo;Freq;"
                    "Aire): not a timetable this import reads")


def detect_format(data: bytes) -> str:
    """The format of a timetable file, from its first bytes and, for XML, its root
    element. Raises :class:`WrongKind` for anything else (an AAF or SIECLE file, the
    holiday calendar, a spreadsheet, a PDF, an archive...) and ``BadRequest`` for an
    empty file or one in an unreadable encoding."""
    from .text import decode_text

    if not data.strip():
        raise BadRequest("empty file")
    if data.startswith(b"PK\x03\x04"):
        raise WrongKind("this is a zip archive (a spreadsheet, or UnDeuxTEMPS's export for "
                        "ENTs), not a timetable this import reads: export the timetable "
                        "from UnDeuxTEMPS as CSV, or save the spreadsheet as CSV")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise WrongKind("this is an Excel 97 workbook (.xls), not CSV: save it as CSV")
    if data.startswith(b"%PDF"):
        raise WrongKind("this is a PDF document, not a timetable export")
    head = data[:_SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return _xml_kind(data)
    sample = data
    if len(data) > _SNIFF and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        cut = data.rfind(b"\n", 0, _SNIFF)  # whole lines: no UTF-8 character cut in two
        sample = data[:cut + 1] if cut > 0 else data[:_SNIFF]
    text, _encoding = decode_text(sample)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.upper().startswith("BEGIN:VCALENDAR"):
        return _ics_kind(stripped)
    if stripped.startswith(("[", "{")):
        return _json_kind(decode_text(data)[0])
    if stripped.startswith("<"):
        return _xml_kind(data)
    return _csv_kind(stripped)
