"""The allow-list of the cahier de textes' rich text (web/rich_text.py)."""

from __future__ import annotations

import pytest

from web.rich_text import looks_like_html, plain_text_to_html, sanitize_html

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
