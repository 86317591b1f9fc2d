"""Key-figure extraction from story text (pure)."""

from __future__ import annotations

from bot.commands.figures import extract_key_figures


def shown(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in extract_key_figures(text)]


def test_amounts_in_words_and_abbreviations_are_normalised() -> None:
    text = "Prometheus raised $6.2 billion; a $100B fund follows, then US$2.5bn and €40 million and 3 billion dollars."
    assert [t for k, t in shown(text) if k == "amount"] == [
        "$6.2 billion", "$100 billion", "$2.5 billion", "€40 million", "$3 billion",
    ]  # fmt: skip


def test_the_same_amount_written_twice_is_one_figure() -> None:
    assert shown("A $100 billion fund ($100B) for $100bn") == [("amount", "$100 billion")]


def test_small_prices_are_not_key_figures_but_grouped_numbers_are() -> None:
    assert shown("Tickets cost $5 and $20.") == []
    assert shown("It paid $1,200,000 for it.") == [("amount", "$1,200,000")]


def test_people_with_roles_either_way_round() -> None:
    assert shown("Vik Bajaj, co-CEO of the startup, said") == [("person", "Vik Bajaj, co-CEO")]
    assert shown("says Amazon founder Jeff Bezos") == [("person", "Jeff Bezos, Amazon founder")]
    assert shown("The chief executive Tim Cook spoke") == [("person", "Tim Cook, chief executive")]


def test_title_case_headlines_do_not_swallow_the_next_word() -> None:
    assert shown("Co-CEO Vik Bajaj Says Prometheus Will Buy Factories") == [("person", "Vik Bajaj, Co-CEO")]


def test_dates_in_common_news_forms() -> None:
    text = "Launched in November 2025; filed Nov. 17, 2025; on 3 March 2026 and Dec 1."
    assert [t for k, t in shown(text) if k == "date"] == [
        "November 2025", "November 17, 2025", "March 3, 2026", "December 1",
    ]  # fmt: skip


def test_words_that_are_not_dates_or_people_are_ignored() -> None:
    assert shown("May we see the Project Prometheus plan? Marching on, 2025 was big.") == []


def test_figures_come_in_order_of_appearance() -> None:
    text = "On Nov. 17, 2025 co-CEO Vik Bajaj confirmed $6.2 billion."
    assert [k for k, _ in shown(text)] == ["date", "person", "amount"]
