"""The documentation keeps up with the code (no server needed).

* Every ``davserver`` command, found by walking the parser that ``davserver/cli.py``
  builds (sub-commands of sub-commands included, so a new command is caught), is
  written out in ``docs/admin.md``: its full command line (``davserver booking domain
  add``) in a heading, a code span or a line of a code block.
* Every relative link of ``README.md`` and ``docs/*.md`` leads to a file that exists
  and, with ``#anchor``, to a heading of that file, by GitHub's anchor rule (lower
  case, punctuation dropped, spaces to hyphens, ``-1``, ``-2``... for repeats).
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from davserver.cli import _parser

# One database is enough: the documentation against the code
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

REPO = Path(__file__).resolve().parents[2]
ADMIN = REPO / "docs" / "admin.md"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# [text](target "title"), ![alt](target): the target; text may hold one level of [ ].
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]"
                          r"\(\s*<?([^\s)>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Page:
    """A Markdown file split into its prose (code blocks blanked out, so line numbers
    stay), its headings and the lines of its code blocks."""

    path: Path
    prose: str
    headings: list[str]
    code_lines: list[str]

    @classmethod
    def read(cls, path: Path) -> Page:
        prose, headings, code = [], [], []
        fence: str | None = None
        for line in path.read_text(encoding="utf-8").split("\n"):
            opening = _FENCE.match(line)
            if fence is not None:
                if opening and opening.group(1)[0] == fence[0] \
                        and len(opening.group(1)) >= len(fence) \
                        and not line.strip()[len(opening.group(1)):].strip():
                    fence = None
                else:
                    code.append(line)
                prose.append("")
                continue
            if opening:
                fence = opening.group(1)
                prose.append("")
                continue
            prose.append(line)
            heading = _HEADING.match(line)
            if heading:
                headings.append(heading.group(1))
        return cls(path, "\n".join(prose), headings, code)

    @property
    def name(self) -> str:
        return shown(self.path)

    def anchors(self) -> list[str]:
        """The anchors GitHub gives this page's headings, in order."""
        seen: dict[str, int] = {}
        out = []
        for heading in self.headings:
            slug = github_slug(heading)
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            out.append(slug if count == 0 else f"{slug}-{count}")
        return out

    def code_spans(self) -> list[str]:
        return [m.group(2) for m in _CODE_SPAN.finditer(self.prose)]

    def links(self) -> Iterator[tuple[int, str]]:
        """(line number, target) of every link and image, code spans left out."""
        text = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), self.prose)
        for pattern in (_INLINE_LINK, _REFERENCE):
            for match in pattern.finditer(text):
                yield text.count("\n", 0, match.start()) + 1, match.group(1)


def shown(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def github_slug(heading: str) -> str:
    """The anchor GitHub makes of a heading's text: links and code reduced to their
    text, lower case, every character but letters, digits, ``_``, ``-`` and spaces
    dropped, spaces turned into hyphens (repeats get ``-1``... in :meth:`Page.anchors`)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def leaf_commands(parser: argparse.ArgumentParser,
                  prefix: tuple[str, ...] = ("davserver",)) -> Iterator[str]:
    """Every runnable command line under ``parser``: ``davserver fsck``,
    ``davserver booking domain add``..."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield " ".join(prefix)
        return
    for group in groups:
        for name, sub in group.choices.items():
            yield from leaf_commands(sub, (*prefix, name))


def documented(command: str, page: Page) -> bool:
    """True if ``command`` is written out in a heading, a code span or a code line of
    ``page`` (followed by its arguments or nothing, not by more of a longer name)."""
    pattern = re.compile(r"(?<![\w-])" + re.escape(command) + r"(?![\w-])")
    texts = [*page.headings, *page.code_spans(), *page.code_lines]
    return any(pattern.search(" ".join(t.split())) for t in texts)


def broken_links(page: Page) -> list[str]:
    """One message per relative link of ``page`` whose file or anchor is missing."""
    problems = []
    for line, target in page.links():
        if _SCHEME.match(target) or target.startswith("//"):
            continue
        file_part, _, anchor = target.partition("#")
        where = f"{page.name}:{line}: link {target!r}"
        path = (page.path.parent / file_part).resolve() if file_part else page.path
        if not path.exists():
            problems.append(f"{where}: no file {file_part!r} (looked for {path})")
            continue
        if not anchor:
            continue
        if path.suffix != ".md":
            problems.append(f"{where}: an anchor into {path.name}, which is not Markdown")
            continue
        anchors = Page.read(path).anchors()
        if anchor not in anchors:
            close = difflib.get_close_matches(anchor, anchors, n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            problems.append(f"{where}: no heading with anchor {anchor!r} in "
                            f"{shown(path)}{hint}")
    return problems


def test_the_command_walk_reaches_nested_commands() -> None:
    commands = set(leaf_commands(_parser()))
    assert {"davserver serve", "davserver fsck", "davserver db upgrade",
            "davserver booking domain add", "davserver archive textbooks"} <= commands
    assert "davserver booking" not in commands  # a group, not a command


def test_every_command_is_in_admin_md() -> None:
    page = Page.read(ADMIN)
    missing = [c for c in leaf_commands(_parser()) if not documented(c, page)]
    assert not missing, (f"{page.name} does not write out: " + ", ".join(missing)
                         + " (add each to the command list of its 'Command line' section)")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path: Path) -> None:
    problems = broken_links(Page.read(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Mounting `/dav/`", "mounting-dav"),
    ("The trash: retention and restores", "the-trash-retention-and-restores"),
    ("Resource booking (réservations)", "resource-booking-réservations"),
    ("Where the code differs from DESIGN.md", "where-the-code-differs-from-designmd"),
    ("Run it (demo school, SQLite, files under `var/`)",
     "run-it-demo-school-sqlite-files-under-var"),
])
def test_github_slug(heading: str, anchor: str) -> None:
    assert github_slug(heading) == anchor


def test_the_checks_find_what_is_wrong(tmp_path: Path) -> None:
    """The checkers above report a missing file, a missing anchor and a missing
    command, and see through code blocks and code spans."""
    (tmp_path / "other.md").write_text("# Title\n\n## Part one\n\n## Part one\n",
                                       encoding="utf-8")
    page_path = tmp_path / "page.md"
    page_path.write_text(
        "# Page\n\n[ok](other.md#part-one-1) [gone](missing.md) [bad](other.md#part-two)\n"
        "`[not a link](nowhere.md)` [self](#page) [web](https://example.org/x)\n\n"
        "```sh\n# not a heading\ndavserver user add LOGIN\n```\n\n"
        "Run `davserver\n  fsck --repair` at night.\n", encoding="utf-8")
    page = Page.read(page_path)
    problems = broken_links(page)
    assert page.anchors() == ["page"]
    assert len(problems) == 2, problems
    assert "'missing.md'" in problems[0] and "'other.md#part-two'" in problems[1]
    assert "'part-one'" in problems[1]  # the hint names the nearest anchor
    assert documented("davserver user add", page)
    assert documented("davserver fsck", page)
    assert not documented("davserver user", Page(page_path, "", [], []))
    assert not documented("davserver user list", page)
