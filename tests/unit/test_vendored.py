"""The vendored test tools are the files their SOURCE.md records: a changed or
replaced file fails here rather than passing unnoticed (tests/vendor/)."""

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
