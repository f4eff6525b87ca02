"""The allow-list of the cahier de textes' rich text (web/rich_text.py)."""

from __future__ import annotations

import pytest

from web.rich_text import (
    html_to_plain_text,
    looks_like_html,
    plain_text_to_html,
    sanitize_html,
)

pytestmark = pytest.mark.one_database


def test_what_the_editor_makes_is_kept() -> None:
    body = ('<h2>Les fractions</h2><p><strong>Une</strong> <em>unité</em> <u>u</u> <s>s</s>'
            '</p><ul><li>a</li></ul><ol start="3"><li>b</li></ol><blockquote>q</blockquote>'
            '<p><a href="https://example.org/x">lien</a> <a href="/textbook/">ici</a></p>'
            '<p><img src="/textbook/pieces-jointes/1/media" alt="parts"></p>'
            '<table><tbody><tr><td colspan="2">t</td></tr></tbody></table>')
    clean = sanitize_html(body)
    for kept in ("<h2>Les fractions</h2>", "<strong>Une</strong>", "<em>unité</em>",
                 "<u>u</u>", "<s>s</s>", "<ul><li>a</li></ul>", '<ol start="3">',
                 "<blockquote>q</blockquote>", 'href="https://example.org/x"',
                 'href="/textbook/"', 'rel="noopener noreferrer"', 'alt="parts"',
                 '<td colspan="2">t</td>'):
        assert kept in clean, kept


def test_media_get_controls_and_never_play_alone() -> None:
    clean = sanitize_html('<audio src="/m" autoplay loop onplay="x()"></audio>'
                          '<video src="/v" autoplay></video>')
    assert "autoplay" not in clean and "onplay" not in clean and "loop" not in clean
    assert clean.count('controls=""') == 2


@pytest.mark.parametrize("evil, gone", [
    ("<script>alert(1)</script>", "alert"),
    ('<img src="x" onerror="alert(1)">', "onerror"),
    ('<a href="javascript:alert(1)">x</a>', "javascript"),
    ('<a href=" JaVaScRiPt:alert(1)">x</a>', "alert"),
    ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "data:"),
    ('<iframe src="https://example.org/"></iframe>', "iframe"),
    ('<p style="background:url(x)">x</p>', "style"),
    ("<svg><script>alert(1)</script></svg>", "svg"),
    ("<style>body{display:none}</style>", "display"),
    ('<form action="/x"><input name="p"></form>', "input"),
    ('<object data="x.swf"></object>', "object"),
    ("<!-- <script>x</script> -->", "script"),
    ('<p class="ql-x" id="main">x</p>', "id="),
])
def test_dangerous_html_is_dropped(evil: str, gone: str) -> None:
    assert gone not in sanitize_html(evil).lower()


def test_typed_text_keeps_its_lines_and_paragraphs() -> None:
    assert plain_text_to_html("a\r\nb\n\n\nc < d & e") == "<p>a<br>b</p><p>c &lt; d &amp; e</p>"
    assert sanitize_html("Ligne 1\nLigne 2") == "<p>Ligne 1<br>Ligne 2</p>"
    assert sanitize_html("") == "" and sanitize_html("  \n ") == ""
    assert not looks_like_html("3 < 4 et 5 > 2") and looks_like_html("<p>x</p>")


def test_an_image_without_alternative_gets_an_empty_one() -> None:
    assert sanitize_html('<p><img src="/a"></p>') == '<p><img alt="" src="/a"></p>'
    assert sanitize_html('<img src="/a" alt="x">').count("alt=") == 1


# What Quill 2.0.3's table module writes (getSemanticHTML): a data-row per cell.
QUILL_TABLE = ('<table><tbody><tr><td data-row="row-a1">Nom</td><td data-row="row-a1">'
               'Rôle</td></tr><tr><td data-row="row-b2">1/2</td><td data-row="row-b2">'
               'moitié</td></tr></tbody></table><p>Après</p>')


def test_a_table_of_the_editor_is_kept_without_its_row_marks() -> None:
    """The table survives; Quill's data-row goes (the editor rebuilds rows from <tr>)."""
    assert sanitize_html(QUILL_TABLE) == (
        "<table><tbody><tr><td>Nom</td><td>Rôle</td></tr><tr><td>1/2</td><td>moitié</td>"
        "</tr></tbody></table><p>Après</p>")


def test_a_pasted_table_keeps_its_header_and_spans() -> None:
    clean = sanitize_html('<table><caption>Notes</caption><thead><tr><th scope="col">A'
                          '</th><th scope="COL ">B</th></tr></thead><tbody><tr>'
                          '<td colspan="2" rowspan="3">x</td></tr></tbody></table>')
    assert clean == ('<table><caption>Notes</caption><thead><tr><th scope="col">A</th>'
                     '<th scope="col">B</th></tr></thead><tbody><tr>'
                     '<td colspan="2" rowspan="3">x</td></tr></tbody></table>')


@pytest.mark.parametrize("cell, kept", [
    ('<td onclick="alert(1)">x</td>', "<td>x</td>"),
    ('<td style="background:url(javascript:x)">x</td>', "<td>x</td>"),
    ('<td class="evil" id="main" data-x="1">x</td>', "<td>x</td>"),
    ('<td colspan="2;x">x</td>', "<td>x</td>"),
    ('<td colspan="-1">x</td>', "<td>x</td>"),
    ('<td colspan="999999">x</td>', "<td>x</td>"),
    ('<td colspan=" 02 ">x</td>', '<td colspan="2">x</td>'),
    ('<td rowspan="javascript:1">x</td>', "<td>x</td>"),
    ('<th scope="onload">x</th>', "<th>x</th>"),
    ('<td width="50%" align="left" bgcolor="red">x</td>', "<td>x</td>"),
])
def test_table_cells_keep_only_safe_attributes(cell: str, kept: str) -> None:
    assert sanitize_html(f"<table><tbody><tr>{cell}</tr></tbody></table>") == \
        f"<table><tbody><tr>{kept}</tr></tbody></table>"


def test_table_elements_carry_no_attribute() -> None:
    clean = sanitize_html('<table border="9" onmouseover="x()" style="width:1px">'
                          '<tbody class="y"><tr onclick="z()"><td>1</td></tr></tbody></table>')
    assert clean == "<table><tbody><tr><td>1</td></tr></tbody></table>"


def test_media_sizes_are_numbers() -> None:
    assert sanitize_html('<img src="/a" alt="" width="40" height="x">') == \
        '<img src="/a" alt="" width="40">'


def test_plain_text_comes_back_from_paragraphs_and_line_breaks() -> None:
    """The plain input mode shows a stored text as typed text: the way back of
    plain_text_to_html; anything formatted is refused (None) rather than flattened."""
    typed = "Première ligne\nDeuxième ligne\n\nAutre paragraphe < 3 & fin"
    assert html_to_plain_text(plain_text_to_html(typed)) == typed
    assert html_to_plain_text("<p>a</p><p><br></p><p>b<br/>c</p>") == "a\n\nb\nc"
    assert html_to_plain_text("<p>a\nb</p>") == "a b"  # a source line break is a space
    assert html_to_plain_text("") == "" and html_to_plain_text("sans balise") == "sans balise"
    for formatted in ("<p><strong>a</strong></p>", "<ul><li>a</li></ul>", QUILL_TABLE,
                      '<p><img src="/x" alt=""></p>', '<p class="x">a</p>',
                      '<p><a href="/">a</a></p>', "<h2>Titre</h2>"):
        assert html_to_plain_text(formatted) is None, formatted
