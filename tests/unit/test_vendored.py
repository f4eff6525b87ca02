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
