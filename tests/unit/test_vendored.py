"""The vendored files are the ones their SOURCE.md records: a changed or replaced
file fails here rather than passing unnoticed (tests/vendor/ for the test tools,
web/static/vendor/ for what the pages load)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[1] / "vendor"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

pytestmark = pytest.mark.one_database


def test_axe_core_is_the_pinned_release_with_its_licence() -> None:
    axe = VENDOR / "axe-core" / "axe.min.js"
    assert hashlib.sha256(axe.read_bytes()).hexdigest() == AXE_SHA256
    assert axe.read_text(encoding="utf-8").startswith("/*! axe v4.14.1")
    source = (VENDOR / "axe-core" / "SOURCE.md").read_text(encoding="utf-8")
    assert "4.14.1" in source and AXE_SHA256 in source
    assert (VENDOR / "axe-core" / "LICENSE").read_text(encoding="utf-8").startswith(
        "Mozilla Public License, version 2.0")


QUILL = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "quill"
QUILL_SHA256 = {
    "quill.js": "f6157c72ac9b3f51cdead426335688a027b12405d9d6a4daadd38a676b2d7ff2",
    "quill.snow.css": "1c7948cd13aa92fac6390319bc1e5e461823da171519d3a768db56164f871636",
}


def test_quill_is_the_pinned_release_with_its_licence() -> None:
    """The editor the pages serve (web/static/vendor/quill) is Quill 2.0.3's own
    bundle, unmodified, with its BSD-3-Clause licence and notice."""
    source = (QUILL / "SOURCE.md").read_text(encoding="utf-8")
    for name, digest in QUILL_SHA256.items():
        assert hashlib.sha256((QUILL / name).read_bytes()).hexdigest() == digest, name
        assert digest in source, name
    assert "2.0.3" in source
    assert "Quill Editor v2.0.3" in (QUILL / "quill.js.LICENSE.txt").read_text(encoding="utf-8")
    assert "Redistribution and use in source and binary forms" in \
        (QUILL / "LICENSE").read_text(encoding="utf-8")


PICO = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "pico"
PICO_SHA256 = "fbc9a63fc9fc9f72d12fd7fc9806e11fa9f77ae4f9cad146b27003a1119ba3db"


def test_pico_is_the_pinned_release_with_its_licence() -> None:
    """The design system every page loads (web/static/vendor/pico) is Pico CSS 2.1.1's
    own pico.min.css, unmodified, with its MIT licence; base.html loads it from our
    origin before ent.css."""
    css = PICO / "pico.min.css"
    assert hashlib.sha256(css.read_bytes()).hexdigest() == PICO_SHA256
    assert "Pico CSS ✨ v2.1.1" in css.read_text(encoding="utf-8")[:200]
    source = (PICO / "SOURCE.md").read_text(encoding="utf-8")
    assert "2.1.1" in source and PICO_SHA256 in source
    assert "pico-2.1.1.tgz" in source
    licence = (PICO / "LICENSE.md").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "Permission is hereby granted" in licence
    base = (Path(__file__).resolve().parents[2] / "web" / "templates" / "base.html"
            ).read_text(encoding="utf-8")
    assert base.index("vendor/pico/pico.min.css") < base.index("'ent.css'")
