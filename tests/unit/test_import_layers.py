"""Imports point down (DESIGN.md, "Packages, and which way imports go").

The contracts are ``[tool.importlinter]`` in ``pyproject.toml``, checked by
import-linter on grimp's graph of our packages (function-level imports included):

* packages: the ``davserver`` crown, then ``web``, ``providers``, ``quotas`` and
  ``acl`` (which may not import each other), then the ``davserver`` trunk;
* web features: ``home`` and ``account``, then ``booking``, ``textbook``,
  ``documents`` and ``rubrics``, ``notifications``, then the modules every feature
  shares; a feature may use one below it, never one above, so no two features import
  each other, and a shared module imports no feature.

Around them, what a contract cannot say: every ``davserver`` module is placed (a new
CLI module must join the crown), and no package imports the ``web`` assembly
(``web/__init__.py``) but the crown.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

# One database is enough: the import graph
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("davserver", "acl", "quotas", "providers", "web")
TRUNK = {"davserver", "davserver.clock", "davserver.config", "davserver.db", "davserver.errors",
         "davserver.journal", "davserver.migrations", "davserver.outage"}


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _crown() -> set[str]:
    layers = _contracts()["packages"]["layers"]
    assert isinstance(layers, list)
    return {name.strip() for name in layers[0].split(":")}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_the_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    """``lint-imports``: its report (which import breaks which layer) is the message.

    import-linter calls ``logging.config.dictConfig``, which disables every logger
    that exists (``wsgidav``'s included): their state is put back afterwards, or the
    tests that read those loggers and run next in this process would fail."""
    loggers = [logger for logger in logging.Logger.manager.loggerDict.values()
               if isinstance(logger, logging.Logger)]
    disabled = {logger.name: logger.disabled for logger in loggers}
    try:
        status = lint_imports(config_filename=str(ROOT / "pyproject.toml"),
                              no_cache=True, no_logo=True)
    finally:
        for logger in loggers:
            logger.disabled = disabled[logger.name]
    assert status == 0, capsys.readouterr().out


def test_every_davserver_module_is_in_the_trunk_or_the_crown(
        graph: grimp.ImportGraph) -> None:
    """A module the contract does not name would escape the packages' layers."""
    modules = {m for m in graph.find_children("davserver")}
    left_out = modules - TRUNK - _crown()
    assert not left_out, f"add these to the crown (or the trunk) in pyproject.toml: {left_out}"
    assert not _crown() - modules, "the crown names a module that does not exist"


def test_only_the_crown_imports_the_web_assembly(graph: grimp.ImportGraph) -> None:
    """``web/__init__.py`` imports every feature: a feature importing it imports up."""
    importers = graph.find_modules_that_directly_import("web")
    assert importers <= _crown(), sorted(importers - _crown())
