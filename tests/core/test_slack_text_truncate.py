"""bot.core.render.text: cutting feed text to a platform limit at a readable place."""

from __future__ import annotations

import random

import pytest

from bot.core.render.text import ELLIPSIS, fit, truncate


def test_text_within_limit_is_returned_unchanged() -> None:
    assert truncate("Bezos backs Project Prometheus.", 31) == "Bezos backs Project Prometheus."


def test_long_text_is_cut_after_the_last_whole_sentence() -> None:
    text = "Bezos is co-CEO. The venture raised $6.2 billion in November. More to come soon."
    assert truncate(text, 70) == "Bezos is co-CEO. The venture raised $6.2 billion in November" + ELLIPSIS


def test_without_a_late_sentence_end_the_cut_falls_between_words() -> None:
    text = "Project Prometheus plans a fund of about one hundred billion dollars to buy manufacturers"
    out = truncate(text, 41)
    assert out == "Project Prometheus plans a fund of about" + ELLIPSIS
    assert len(out) == 41


def test_an_early_sentence_end_is_not_used_when_it_would_drop_most_of_the_text() -> None:
    text = "Yes. " + "word " * 40
    out = truncate(text, 60)
    assert len(out) > 30
    assert out.endswith("word" + ELLIPSIS)


def test_one_huge_word_is_cut_mid_word() -> None:
    out = truncate("x" * 500, 100)
    assert out == "x" * 99 + ELLIPSIS


def test_trailing_comma_is_dropped_before_the_ellipsis() -> None:
    out = truncate("alpha beta gamma, delta epsilon zeta eta theta", 22)
    assert out == "alpha beta gamma" + ELLIPSIS


@pytest.mark.parametrize("limit", [0, -5])
def test_no_room_gives_empty_text(limit: int) -> None:
    assert truncate("anything", limit) == ""


def test_room_for_only_the_ellipsis_gives_the_ellipsis() -> None:
    assert truncate("anything", 1) == ELLIPSIS


def test_random_text_never_exceeds_the_limit() -> None:
    rng = random.Random(7)
    alphabet = "ab .!?\n,"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        limit = rng.randint(0, 90)
        out = truncate(text, limit)
        assert len(out) <= max(limit, 0)
        if len(text) <= limit:
            assert out == text
        elif limit > 0:
            assert out.endswith(ELLIPSIS)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;")


def test_fit_makes_the_escaped_form_fit_without_splitting_an_escape() -> None:
    out = fit("a & b & c & d & e & f", 12, _escape)
    assert len(out) <= 12
    assert out == "a &amp; b" + ELLIPSIS


def test_fit_returns_the_whole_escaped_text_when_it_fits() -> None:
    assert fit("a & b", 12, _escape) == "a &amp; b"


def test_fit_keeps_as_much_as_fits() -> None:
    text = "&" * 1000
    out = fit(text, 3000, _escape)
    assert len(out) <= 3000
    assert out.count("&amp;") >= 590
