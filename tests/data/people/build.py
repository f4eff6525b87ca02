# ruff: noqa: E501  (the STS-web sample keeps the export's long lines)
"""Writes the people-import fixtures of this folder (``python tests/data/people/build.py``).

Made from the public descriptions of each format (Open ENT NG's feeder and its AAF and
ONDE test files, GEPI's SIECLE and STS-web readers, Laclasse's AAF synchroniser; see
``/work/shared/notes/school-formats.md``), with their pitfalls kept byte for byte:
declared encodings (ISO-8859-15, ISO-8859-1, UTF-8), an AAF file without an XML
declaration, CRLF line ends, Latin-1 CSV, a UTF-8 CSV with a byte order mark, ONDE's
quoted fields, ``" Cycle"`` header and ragged relatives' rows. The people are invented;
``README.md`` lists who is where and the figures a correct import gives.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DTD = '<!DOCTYPE ficAlimMENESR SYSTEM "ficAlimMENESR.dtd">'


def attrs(pairs: list[tuple[str, list[str]]]) -> str:
    out = []
    for name, values in pairs:
        inner = "".join(f"<value>{v}</value>" if v else "<value/>" for v in values or [""])
        out.append(f'<attr name="{name}">{inner}</attr>')
    return "\n".join(out)


def request(category: str, ident: str, pairs: list[tuple[str, list[str]]],
            kind: str = "Personne", op: str = "add") -> str:
    head = (f'<{op}Request>\n<operationalAttributes><attr name="categorie{kind}">'
            f"<value>{category}</value></attr></operationalAttributes>\n"
            f"<identifier><id>{ident}</id></identifier>\n")
    if op == "add":
        return head + f"<attributes>\n{attrs(pairs)}\n</attributes>\n</addRequest>\n"
    if op == "modify":
        mods = "\n".join(
            f'<modification name="{n}" operation="replace">'
            + "".join(f"<value>{v}</value>" for v in vs) + "</modification>"
            for n, vs in pairs)
        return head + f"<modifications>\n{mods}\n</modifications>\n</modifyRequest>\n"
    return head + "</deleteRequest>\n"


def aaf_file(name: str, body: str, encoding: str | None, crlf: bool) -> None:
    decl = f'<?xml version="1.0" encoding="{encoding}"?>\n' if encoding else ""
    text = (decl + DTD + "\n<ficAlimMENESR>\n<!-- versionAF=\"AAF-VE2407\" -->\n"
            "<!-- degre=\"2D\" -->\n" + body + "</ficAlimMENESR>\n")
    if crlf:
        text = text.replace("\n", "\r\n")
    (HERE / "aaf" / name).write_bytes(text.encode(encoding or "utf-8"))


def student(ident: str, last: str, first: str, born: str, ine: str, klass: str,
            rels: list[str], groups: tuple[str, ...] = ()) -> str:
    struct = klass.split("$")[0]
    return request("Eleve", ident, [
        ("ENTPersonJointure", [ident]), ("ENTEleveINE", [ine]),
        ("ENTPersonDateNaissance", [born]), ("ENTPersonNomPatro", [last.upper()]),
        ("sn", [last]), ("givenName", [first]), ("personalTitle", ["M."]),
        ("ENTElevePersRelEleve", rels), ("ENTPersonStructRattach", [struct]),
        ("ENTEleveClasses", [klass]), ("ENTEleveGroupes", list(groups)),
    ])


def relative(ident: str, last: str, first: str, mail: str = "") -> str:
    return request("PersRelEleve", ident, [
        ("ENTPersonJointure", [ident]), ("sn", [last]), ("givenName", [first]),
        ("personalTitle", ["Mme"]), ("mail", [mail]), ("mobile", ["0600000000"]),
    ])


def ascii_name(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if c.isalnum() and c.isascii())


def staff(ident: str, last: str, first: str, born: str, *, functions: list[str],
          classes: tuple[str, ...] = (), services: tuple[str, ...] = (),
          group_services: tuple[str, ...] = (),
          extra: tuple[tuple[str, list[str]], ...] = ()) -> str:
    return request("PersEducNat", ident, [
        ("ENTPersonJointure", [ident]), ("ENTPersonDateNaissance", [born]),
        ("sn", [last]), ("givenName", [first]),
        ("mail", [f"{ascii_name(first)}.{ascii_name(last)}@ac-paris.fr"]),
        ("ENTPersonFonctions", functions), ("ENTAuxEnsClasses", list(classes)),
        ("ENTAuxEnsClassesMatieres", list(services)),
        ("ENTAuxEnsGroupesMatieres", list(group_services)), *extra,
    ])


def build_aaf() -> None:
    (HERE / "aaf").mkdir(exist_ok=True)
    etab = "".join(request("EtabEducNat", j, [
        ("ENTStructureJointure", [j]), ("ENTStructureUAI", [uai]),
        ("ENTEtablissementUAI", [uai]), ("ENTStructureNomCourant", [name]),
        ("ENTStructureTypeStruct", ["CLG"]), ("ENTServAcAcademie", ["PARIS"]),
        ("ENTStructureClasses", classes), ("ENTStructureGroupes", groups),
    ], kind="Structure") for j, uai, name, classes, groups in [
        ("7501", "0759990B", "CLG-VICTOR HUGO-ac-PARIS",
         ["6A$6EME A", "6B$6EME B", "5A$5EME A"], ["ESP2$ESPAGNOL LV2", "LATIN$LATIN"]),
        ("7502", "0759991C", "CLG-JULES FERRY-CŒUR DE VILLE-ac-PARIS", ["4A$4EME A"], []),
        ("7999", "1004001V", "Z.REMP-PARIS CENTRE", [], []),
    ])
    aaf_file("ENT_Complet_20250901_EtabEducNat_0000.xml", etab, "ISO-8859-15", True)
    subjects = "".join(request("MatEducNat", code, [
        ("ENTMatJointure", [code]), ("ENTLibelleMatiere", [label])], kind="Matiere")
        for code, label in [("061300", "MATHEMATIQUES"), ("020700", "FRANCAIS"),
                            ("030602", "ESPAGNOL LV2"), ("020100", "LATIN")])
    aaf_file("ENT_Complet_20250901_MatiereEducNat_0000.xml", subjects, "UTF-8", False)
    eleves = "".join([
        student("3001", "Martin", "Léa", "12/03/2013", "123456789AB", "7501$6A",
                ["4001$20$1$1$1$0", "4002$10$1$1$1$0"], ("7501$ESP2",)),
        student("3002", "Martin", "Léa", "05/11/2012", "223456789AB", "7501$5A",
                ["4003$10$1$1$1$0"], ("7501$LATIN",)),
        student("3003", "Petit", "Hugo", "01/02/2013", "323456789AB", "7501$6A",
                ["4004$20$1$1$1$0", "4005$10$1$1$1$0", "4006$90$0$0$1$0"]),
        student("3004", "Petit", "Emma", "14/07/2012", "423456789AB", "7501$5A",
                ["4004$20$1$1$1$0", "4005$10$1$1$1$0"]),
        student("3005", "Dubois-Garcia", "Noé", "30/09/2012", "523456789AB", "7501$6B",
                ["4007$50$1$2$1$0", "4008$10$1$1$1$0"]),
        student("3006", "Bernard", "Inès", "02/02/2011", "623456789AB", "7502$4A",
                ["4005$10$1$1$1$0"]),
        student("3007", "Lefèvre", "Chloé", "20/05/2013", "723456789AB", "7501$6B",
                ["4009$10$1$1$1$0"]),
        student("3008", "Roux", "Zoé", "11/11/2011", "823456789AB", "7502$4A",
                ["4010$20$1$1$1$0"]),
    ])
    aaf_file("ENT_Complet_20250901_Eleve_0000.xml", eleves, None, False)
    relatives = "".join([
        relative("4001", "Martin", "Paul", "paul.martin@example.org"),
        relative("4002", "Martin", "Sophie"), relative("4003", "Martin", "Claire"),
        relative("4004", "Petit", "Marc", "marc.petit@example.org"),
        relative("4005", "Petit", "Julie", "julie.petit@example.org"),
        relative("4006", "Petit", "Odette"), relative("4007", "Tuteur", "Jean"),
        relative("4008", "Garcia", "Ana"), relative("4010", "Roux", "Paul"),
    ])
    aaf_file("ENT_Complet_20250901_PersRelEleve_0000.xml", relatives, "UTF-8", True)
    ens = "7501$ENS$ENSEIGNEMENT$L1300$MATHEMATIQUES"
    personnel = "".join([
        staff("5001", "Dupont", "Marc", "12/12/1980", functions=[ens],
              classes=("7501$6A", "7501$5A", "7501$6A"),
              services=("7501$6A$061300", "7501$5A$061300"),
              extra=(("PersEducNatPresenceDevantEleves", ["O"]),)),
        staff("5002", "Bernard", "Cécile", "03/04/1975",
              functions=["7501$ENS$ENSEIGNEMENT$L0202$LETTRES CLASSIQUES",
                         "7502$ENS$ENSEIGNEMENT$L0202$LETTRES CLASSIQUES"],
              services=("7501$6B$020700", "7502$4A$020700"),
              group_services=("7501$LATIN$020100",)),
        staff("5003", "Moreau", "Antoine", "21/06/1985",
              functions=["7501$ENS$ENSEIGNEMENT$L0426$ESPAGNOL"],
              group_services=("7501$ESP2$030602",)),
        staff("5004", "Lefèvre", "Claire", "01/09/1970",
              functions=["7501$DIR$DIRECTION$D0010$DIRECTION CHEF D&apos;ETABLISSEMENT"]),
        staff("5005", "Haddad", "Karim", "15/01/1982",
              functions=["7501$EDU$EDUCATION$E0030$EDUCATION  (CE ,CPE)"]),
        staff("5006", "Garnier", "Anne", "08/08/1978",
              functions=["7501$DOC$DOCUMENTATION$L0080$DOCUMENTATION"]),
        staff("5007", "Roussel", "Yves", "09/09/1979",
              functions=["7502$ENS$ENSEIGNEMENT$L1300$MATHEMATIQUES"],
              services=("7502$4A$061300",)),
        staff("5008", "Colin", "Léo", "10/10/1990", functions=[],
              extra=(("ENTPersonStructRattach", ["7501"]),
                     ("ENTPersonCategorieEnseignant", ["N"]))),
    ])
    aaf_file("ENT_Complet_20250901_PersEducNat_0000.xml", personnel, "ISO-8859-1", True)
    delta = "".join([
        request("Eleve", "3003", [("ENTEleveClasses", ["7501$6B"])], op="modify"),
        request("Eleve", "3007", [], op="delete"),
        student("3009", "Petit", "Lucas", "08/08/2014", "923456789AB", "7501$6A",
                ["4004$20$1$1$1$0", "4005$10$1$1$1$0"]),
    ])
    aaf_file("ENT_Delta_20250915_Eleve_0000.xml", delta, "UTF-8", False)
    aaf_file("ENT_Delta_20250915_PersRelEleve_0000.xml", request(
        "PersRelEleve", "4001", [("mail", ["paul.martin@example.net"])], op="modify"),
        "UTF-8", False)


SIECLE_HEADER = ("Nom de famille;Prénom 1;Date de naissance;INE;Division;"
                 "Nom de famille resp. légal1;Prénom resp. légal1;Courriel resp. légal1;"
                 "Nom de famille resp. légal2;Prénom resp. légal2;Courriel resp. légal2")
SIECLE_ROWS = [
    "DURAND;Théo;03/04/2012;111111111AA;5B;DURAND;Michel;michel.durand@example.org;"
    "LEROY;Anne;anne.leroy@example.org",
    "DURAND;Manon;19/10/2013;222222222BB;6C;DURAND;Michel;michel.durand@example.org;"
    "LEROY;Anne;anne.leroy@example.org",
    "MARTIN;Léa;12/03/2013;333333333CC;6C;MARTIN;Paul;;;;",
    "MARTIN;Léa;01/01/2012;444444444DD;5B;MARTIN;Julien;julien.martin@example.org;;;",
    "N'DIAYE;Aïssatou;07/07/2012;555555555EE;5B;N'DIAYE;Fatou;fatou.ndiaye@example.org;;;",
]


def build_siecle() -> None:
    first = "\r\n".join([SIECLE_HEADER, *SIECLE_ROWS]) + "\r\n"
    (HERE / "siecle_eleves_2025.csv").write_bytes(first.encode("latin-1"))
    rows = [r.replace("03/04/2012;111111111AA;5B", "03/04/2012;111111111AA;6C")
            for r in SIECLE_ROWS if "333333333CC" not in r]
    rows.append("DURAND;Lucie;02/02/2015;666666666FF;6C;DURAND;Michel;"
                "michel.durand@example.org;LEROY;Anne;anne.leroy@example.org")
    second = "\ufeff" + "\r\n".join([SIECLE_HEADER, *rows]) + "\r\n"
    (HERE / "siecle_eleves_2025_v2.csv").write_bytes(second.encode("utf-8"))


def onde(rows: list[list[str]]) -> bytes:
    lines = [";".join(f'"{c}"' if c else "" for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def build_onde() -> None:
    (HERE / "onde").mkdir(exist_ok=True)
    head = ["Nom Elève", "Nom d'usage Elève", "Prénom Elève", "Date naissance", "Sexe",
            "Adresse1", "Cp1", "Commune1", "Pays1", "Adresse2", "Cp2", "Commune2", "Pays2",
            " Cycle", "Niveau", "Classe", "Attestation fournie",
            "Autorisations associations", "Autorisations photos", "Décision de passage"]
    pad = [""] * 8
    students = [head] + [
        [last, "", first, born, sex, *pad, cycle, level, klass, "Oui", "Non", "Oui", ""]
        for last, first, born, sex, cycle, level, klass in [
            ("BELMAHDI", "Mathilde", "2017-08-17", "F", "CYCLE II", "CE1", "CE1"),
            ("CAILLET", "Eléa", "2017-09-27", "F", "CYCLE II", "CE1", "CE1"),
            ("CAILLET", "Tom", "2019-01-15", "M", "CYCLE II", "CP", "CP"),
            ("FONTAINE", "Maëlle", "2016-03-03", "F", "CYCLE III", "CM1", "CM1-CM2"),
        ]]
    (HERE / "onde" / "CSVExtraction-eleves.csv").write_bytes(onde(students))
    teachers = [["Civilité", "Nom usage", "Nom", "Prénom", "Adresse", "CP", "Commune",
                 "Pays", "Courriel", "Téléphone domicile", "Téléphone portable",
                 "Directeur", "Classe"],
                ["MME", "", "BAILLY", "Catherine", *[""] * 4, "c.bailly@example.org",
                 "", "", "oui", "CM1-CM2"],
                ["M.", "", "BRIAUD", "Simon", *[""] * 7, "non", "CE1"],
                ["M.", "", "GROLLEAU", "Bernard", *[""] * 7, "non", "CP"]]
    (HERE / "onde" / "CSVExtraction-enseignants.csv").write_bytes(onde(teachers))
    block = ["Nom d'usage enfant", "Nom de famille enfant", "Prénom enfant",
             "Classes enfants"]
    person = ["Civilité Responsable", "Nom usage responsable", "Nom responsable",
              "Prénom responsable", "Adresse responsable", "CP responsable",
              "Commune responsable", "Pays", "Courriel", "Téléphone domicile",
              "Téléphone travail", "Numéro de poste", "Téléphone portable"]
    relatives = [person + block * 3,
                 ["Mme", "", "CAILLET", "Odile", "48 Passage du Havre", "61000", "Alençon",
                  *[""] * 6, "", "CAILLET", "Eléa", "CE1", "", "CAILLET", "Tom", "CP"],
                 ["M.", "", "CAILLET", "Norbert", "48 Passage du Havre", "61000",
                  "Alençon", *[""] * 6, "", "CAILLET", "Eléa", "CE1"],
                 ["Mme", "", "BELMAHDI", "Sarah", *[""] * 9, "", "BELMAHDI", "Mathilde",
                  "CE1"],
                 ["Mme", "", "FONTAINE", "Julie", *[""] * 9, "", "FONTAINE", "Maëlle",
                  "CM1-CM2", "", "INCONNU", "Personne", "CP"]]
    (HERE / "onde" / "CSVExtraction-responsables.csv").write_bytes(onde(relatives))


STS = """<?xml version="1.0" encoding="ISO-8859-15"?>
<STS_EDT>
<PARAMETRES><UAJ CODE="0759990B"/><ANNEE_SCOLAIRE ANNEE="2025"/></PARAMETRES>
<NOMENCLATURES><MATIERES>
<MATIERE CODE="061300"><CODE_GESTION>MATHS</CODE_GESTION><LIBELLE_COURT>MATHEMATIQUES</LIBELLE_COURT><LIBELLE_LONG>MATHEMATIQUES</LIBELLE_LONG></MATIERE>
<MATIERE CODE="020700"><CODE_GESTION>FRANC</CODE_GESTION><LIBELLE_COURT>FRANCAIS</LIBELLE_COURT><LIBELLE_LONG>FRANÇAIS</LIBELLE_LONG></MATIERE>
<MATIERE CODE="030602"><CODE_GESTION>ESP2</CODE_GESTION><LIBELLE_LONG>ESPAGNOL LV2</LIBELLE_LONG></MATIERE>
</MATIERES></NOMENCLATURES>
<DONNEES>
<INDIVIDUS>
<INDIVIDU ID="8001" TYPE="epp"><NOM_USAGE>DUPONT</NOM_USAGE><NOM_PATRONYMIQUE>DUPONT</NOM_PATRONYMIQUE><PRENOM>Marc</PRENOM><SEXE>1</SEXE><CIVILITE>1</CIVILITE><DATE_NAISSANCE>1980-12-12</DATE_NAISSANCE><GRADE>CERTIFIE</GRADE><FONCTION>ENS</FONCTION><DISCIPLINES><DISCIPLINE CODE="L1300"><LIBELLE_COURT>MATHEMATIQUES</LIBELLE_COURT></DISCIPLINE></DISCIPLINES></INDIVIDU>
<INDIVIDU ID="8002" TYPE="epp"><NOM_USAGE>BERNARD</NOM_USAGE><PRENOM>Cécile</PRENOM><DATE_NAISSANCE>1975-04-03</DATE_NAISSANCE><FONCTION>ENS</FONCTION></INDIVIDU>
<INDIVIDU ID="8003" TYPE="epp"><NOM_USAGE>MOREAU</NOM_USAGE><PRENOM>Antoine</PRENOM><DATE_NAISSANCE>1985-06-21</DATE_NAISSANCE><FONCTION>ENS</FONCTION></INDIVIDU>
<INDIVIDU ID="8004" TYPE="epp"><NOM_USAGE>GARNIER</NOM_USAGE><PRENOM>Anne</PRENOM><DATE_NAISSANCE>1978-08-08</DATE_NAISSANCE><FONCTION>DOC</FONCTION></INDIVIDU>
<INDIVIDU ID="12" TYPE="local"><NOM_USAGE>REMPLAÇANT</NOM_USAGE><PRENOM>Paul</PRENOM><DATE_NAISSANCE>1990-05-05</DATE_NAISSANCE><FONCTION>ENS</FONCTION></INDIVIDU>
</INDIVIDUS>
<STRUCTURE>
<DIVISIONS>
<DIVISION CODE="6A"><LIBELLE_LONG>6EME A</LIBELLE_LONG><MEFS_APPARTENANCE><MEF_APPARTENANCE CODE="10010012110"/></MEFS_APPARTENANCE>
<SERVICES><SERVICE CODE_MATIERE="061300" CODE_MOD_COURS="CG"><ENSEIGNANTS><ENSEIGNANT ID="8001" TYPE="epp"/></ENSEIGNANTS></SERVICE>
<SERVICE CODE_MATIERE="020700" CODE_MOD_COURS="CG"><ENSEIGNANTS><ENSEIGNANT ID="12" TYPE="local"/><ENSEIGNANT ID="9999" TYPE="epp"/></ENSEIGNANTS></SERVICE></SERVICES>
</DIVISION>
<DIVISION CODE="6B"><SERVICES><SERVICE CODE_MATIERE="020700"><ENSEIGNANTS><ENSEIGNANT ID="8002" TYPE="epp"/></ENSEIGNANTS></SERVICE></SERVICES></DIVISION>
</DIVISIONS>
<GROUPES>
<GROUPE CODE="ESP2"><LIBELLE_LONG>ESPAGNOL LV2</LIBELLE_LONG><DIVISIONS_APPARTENANCE><DIVISION_APPARTENANCE CODE="6A"/><DIVISION_APPARTENANCE CODE="6B"/></DIVISIONS_APPARTENANCE>
<SERVICES><SERVICE CODE_MATIERE="030602"><ENSEIGNANTS><ENSEIGNANT ID="8003" TYPE="epp"/></ENSEIGNANTS></SERVICE></SERVICES></GROUPE>
</GROUPES>
</STRUCTURE>
</DONNEES>
</STS_EDT>
"""


def build_sts() -> None:
    (HERE / "sts_emp_0759990B_2025.xml").write_bytes(
        STS.replace("\n", "\r\n").encode("iso-8859-15"))


if __name__ == "__main__":
    build_aaf()
    build_siecle()
    build_onde()
    build_sts()
