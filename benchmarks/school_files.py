"""Small files that look like what a school stores, made deterministically (issue 22).

The small-PUT figures once sent 4 KiB of repeated ``s``: libmagic's slowest case
(1.3 ms of CPU, against 5 µs for French prose), so the figure measured libmagic. The
mix here is drawn from a seeded generator, the same in every run and for every
server: French prose (``.txt``), a one-page PDF, a PNG, an Office document (``.docx``
and ``.odt``, both zip containers) and a CSV of marks (semicolons, as French
spreadsheets write it). Each is a valid file of its format, 0.6 to 12 KiB (median
1.5 KiB for the first 1,000).
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass

SEED = 20261206
KINDS = ("txt", "pdf", "png", "docx", "odt", "csv")
_WORDS = ("la", "le", "les", "des", "élèves", "classe", "devoir", "pour", "lundi", "mardi",
          "exercice", "leçon", "cahier", "page", "rédaction", "mathématiques", "français",
          "histoire", "géographie", "corrigé", "à", "rendre", "avant", "chapitre", "et",
          "une", "évaluation", "professeur", "réviser", "sciences", "être", "très", "bien")
_NAMES = ("Léa", "Hugo", "Chloé", "Noah", "Inès", "Louis", "Jade", "Gabriel", "Zoé", "Théo")
# The zip members' timestamp: fixed, so the bytes do not depend on the day.
_FIXED_DATE = (2026, 9, 1, 8, 0, 0)


@dataclass(frozen=True)
class SchoolFile:
    """One file of the mix: its name's extension and its bytes."""

    kind: str
    body: bytes

    def name(self, index: int) -> str:
        return f"f{index:05d}.{self.kind}"


def _prose(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        n = min(words, rng.randint(6, 16))
        words -= n
        sentence = " ".join(rng.choice(_WORDS) for _ in range(n))
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def _txt(rng: random.Random) -> bytes:
    return (_prose(rng, rng.randint(150, 1200)) + "\n").encode()


def _csv(rng: random.Random) -> bytes:
    lines = ["Nom;Prénom;Devoir 1;Devoir 2;Moyenne"]
    for i in range(rng.randint(20, 35)):
        a, b = rng.randint(0, 40) / 2, rng.randint(0, 40) / 2
        lines.append(f"Élève{i:02d};{rng.choice(_NAMES)};{a:.1f};{b:.1f};"
                     f"{(a + b) / 2:.2f}".replace(".", ","))
    return ("\r\n".join(lines) + "\r\n").encode()


def _pdf(rng: random.Random) -> bytes:
    text = _prose(rng, rng.randint(40, 200)).encode("latin-1", "replace")
    text = text.replace(b"\\", b"").replace(b"(", b"").replace(b")", b"")
    stream = b"BT /F1 11 Tf 50 780 Td (" + text + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
               b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _png(rng: random.Random) -> bytes:
    width, height = rng.randint(16, 64), rng.randint(16, 64)
    rows = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(width * 3))
                    for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = method
            archive.writestr(info, data)
    return out.getvalue()


def _docx(rng: random.Random) -> bytes:
    paragraphs = "".join(f"<w:p><w:r><w:t>{_prose(rng, rng.randint(20, 80))}</w:t></w:r></w:p>"
                         for _ in range(rng.randint(2, 8)))
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    return _zip([
        ("[Content_Types].xml",
         b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
         b'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
         b'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
         b'"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
         b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
         zipfile.ZIP_DEFLATED),
        ("_rels/.rels",
         b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         b'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         b'Target="word/document.xml"/></Relationships>', zipfile.ZIP_DEFLATED),
        ("word/document.xml",
         f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body>'
         f"{paragraphs}</w:body></w:document>".encode(), zipfile.ZIP_DEFLATED),
    ])


def _odt(rng: random.Random) -> bytes:
    paragraphs = "".join(f"<text:p>{_prose(rng, rng.randint(20, 80))}</text:p>"
                         for _ in range(rng.randint(2, 8)))
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    return _zip([
        # OpenDocument: "mimetype" first and stored, so libmagic reads it (ODF 1.2 §3.3).
        ("mimetype", b"application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED),
        ("META-INF/manifest.xml",
         b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
         b'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry'
         b' manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
         b'text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type='
         b'"text/xml"/></manifest:manifest>', zipfile.ZIP_DEFLATED),
        ("content.xml",
         f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office='
         f'"{office}" xmlns:text="{text}" office:version="1.2"><office:body><office:text>'
         f"{paragraphs}</office:text></office:body></office:document-content>".encode(),
         zipfile.ZIP_DEFLATED),
    ])


_MAKERS = {"txt": _txt, "pdf": _pdf, "png": _png, "docx": _docx, "odt": _odt, "csv": _csv}


def school_mix(count: int, seed: int = SEED) -> list[SchoolFile]:
    """``count`` files drawn from the mix, the same list for the same ``count`` and
    ``seed`` on every machine and Python 3 version (``random.Random`` with an integer
    seed is stable). The kinds take turns so that any prefix holds each of them."""
    rng = random.Random(seed)
    return [SchoolFile(KINDS[i % len(KINDS)], _MAKERS[KINDS[i % len(KINDS)]](rng))
            for i in range(count)]
