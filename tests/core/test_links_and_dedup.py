"""Pure dedup keys: canonical links, redirect unwrapping, headline keys."""

from __future__ import annotations

import base64
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.dedup import _NON_WORD, fold, item_id, story_key, strip_outlet_suffix
from bot.core.links import canonical_link, display_link, unwrap_redirect


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.reuters.com/tech/bezos/?utm_source=rss&utm_medium=x", "http://reuters.com/tech/bezos"),
        ("https://example.com/a?fbclid=XYZ&id=3#comments", "https://EXAMPLE.com:443/a?id=3"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/story/amp/", "https://example.com/story"),
        ("https://m.example.com/story?gclid=1&mc_cid=2", "https://example.com/story"),
    ],
)
def test_the_same_article_gets_one_canonical_link(a, b):
    assert canonical_link(a) == canonical_link(b)


def test_different_articles_keep_different_links():
    assert canonical_link("https://example.com/a?id=1") != canonical_link("https://example.com/a?id=2")


@pytest.mark.parametrize(
    "url", ["https://example.com/", "ftp://example.com/file", "javascript:alert(1)", "", None, "http://[::1"]
)
def test_urls_that_cannot_identify_an_article_have_no_canonical_link(url):
    assert canonical_link(url) is None


def test_google_redirect_with_url_parameter_is_unwrapped():
    assert unwrap_redirect("https://www.google.com/url?rct=j&url=https://www.ft.com/content/abc&ct=ga") == (
        "https://www.ft.com/content/abc"
    )


def test_google_news_article_id_carrying_the_url_is_unwrapped():
    payload = b"\x08\x13\x22\x2chttps://www.wsj.com/tech/ai/bezos-fund-1a2b3c?mod=rss\xd2\x01\x00"
    article = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    url = f"https://news.google.com/rss/articles/{article}?oc=5"
    assert display_link(url) == "https://www.wsj.com/tech/ai/bezos-fund-1a2b3c"


def test_opaque_google_news_ids_are_left_alone():
    url = "https://news.google.com/rss/articles/AU_yqLOpaqueTokenThatHasNoUrl?oc=5"
    assert unwrap_redirect(url) == url


def test_display_link_keeps_the_scheme_and_drops_tracking():
    assert display_link("http://Example.com/a?utm_campaign=z&page=2") == "http://example.com/a?page=2"
    assert display_link("javascript:alert(1)") is None


def test_outlet_suffix_is_removed_when_it_names_the_source():
    assert strip_outlet_suffix("Bezos raises a fund - Reuters", "Reuters") == "Bezos raises a fund"
    assert strip_outlet_suffix("Bezos raises a giant fund to buy factories | Financial Times") == (
        "Bezos raises a giant fund to buy factories"
    )


def test_a_colon_in_a_short_headline_is_not_taken_for_an_outlet():
    assert strip_outlet_suffix("Prometheus: the AI lab explained") == "Prometheus: the AI lab explained"


def test_story_key_ignores_case_accents_punctuation_and_outlet():
    assert story_key("Bézos’s Project Prometheus raises $6.2B - Bloomberg", "Bloomberg") == story_key(
        "bezos's project prometheus raises $6.2b"
    )


def test_short_headlines_have_no_story_key():
    assert story_key("Markets wrap") is None


def test_item_id_prefers_guid_then_link_then_headline_and_date():
    assert item_id("g1", "https://a/b", "t", None) == item_id("g1", "https://other", "x", "2026")
    assert item_id(None, "https://a/b", "t", None) == item_id("", "https://a/b", "other title", None)
    assert item_id(None, None, "Title", "2026-11-25") != item_id(None, None, "Title", "2026-11-26")


def _fold_every_character(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NON_WORD.sub(" ", without_marks.replace("'", "").replace("\u2019", "")).split())


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_folding_ascii_text_takes_a_shortcut_with_the_same_result(text):
    assert fold(text) == _fold_every_character(text)
