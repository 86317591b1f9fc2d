"""Rules on text in other scripts: CJK and Hangul phrases inside running text, Indic vowel signs,
accent folding, full-width forms; and the `lead:` field."""

from __future__ import annotations

from bot.core.render.text import highlight, terms_pattern
from bot.core.rules import Doc, RuleSet, RuleSpec, compile_query
from bot.core.rules.text import words_of


def matches(query: str, title: str, summary: str = "") -> bool:
    return compile_query(query).matches(title, summary)


def terms(query: str, title: str, summary: str = "") -> list[str]:
    found = RuleSet.compile([RuleSpec("r", query)]).match(title, summary)
    return list(found[0].terms) if found else []


# --- Chinese, Japanese, Korean -----------------------------------------------------------------


def test_a_japanese_name_matches_inside_running_text() -> None:
    text = "アマゾン創業者のジェフ・ベゾス氏が設立したAI企業「プロジェクト・プロメテウス」"
    assert matches("ベゾス", text)  # a bare CJK word is the phrase of its characters
    assert matches('"ベゾス"', text)
    assert matches("プロメテウス", text)
    assert matches("ジェフ・ベゾス", text)  # ・ separates like punctuation, on both sides
    assert matches('"ジェフ ベゾス"', text)
    assert not matches("ベゾス", "ベスト・ゾーン")  # the characters must be adjacent and in order
    assert terms("ベゾス", text) == ["ベゾス"]
    assert terms("ジェフ・ベゾス", text) == ["ジェフ・ベゾス"]


def test_the_katakana_long_vowel_mark_is_part_of_the_word() -> None:
    assert words_of("データ") == ["デ", "ー", "タ"]
    assert matches("データ", "AIのデータセンター")
    assert not matches("データ", "デタラメ")


def test_a_chinese_name_matches_inside_running_text() -> None:
    text = "亚马逊创始人贝索斯创立的人工智能公司普罗米修斯计划筹集1000亿美元"
    assert matches("贝索斯", text)
    assert matches("贝索斯 AND 普罗米修斯", text)
    assert matches('"1000亿"', text)
    assert not matches("贝索斯", "索斯贝")
    assert matches("京都", "東京都の会社")  # the price of character words: a word inside a longer one
    assert terms("贝索斯", text) == ["贝索斯"]


def test_a_korean_name_matches_with_particles_attached() -> None:
    assert matches("베이조스", "아마존 창업자 베이조스의 새 AI 회사")
    assert matches("베이조스", "베이조스가 공동 CEO를 맡는다")
    assert matches('"베이조스 AI"', "베이조스 AI 스타트업")  # a space between words is no obstacle
    assert terms("베이조스", "베이조스의 회사") == ["베이조스"]


def test_a_wildcard_after_cjk_adds_nothing_and_is_accepted() -> None:
    assert matches("ベゾス*", "ベゾス氏")
    assert matches("贝*", "贝索斯")


def test_near_counts_each_cjk_character_as_a_word() -> None:
    text = "Jeff Bezos (ジェフ・ベゾス) launches Prometheus"
    assert matches("Bezos NEAR/5 ベゾス", text)
    assert matches("ベゾス NEAR/3 launches", text)
    assert not matches("Bezos NEAR/3 ベゾス", text)  # ジ ェ フ stand between
    assert terms("Bezos NEAR/5 ベゾス", text) == ["Bezos", "ベゾス"]


# --- Indic scripts, accents, digits ------------------------------------------------------------


def test_hindi_words_keep_their_vowel_signs() -> None:
    assert words_of("बेजोस ने कहा") == ["बेजोस", "ने", "कहा"]
    assert matches("बेजोस", "अमेज़न के संस्थापक जेफ बेजोस ने नई कंपनी शुरू की")
    assert matches('"जेफ बेजोस"', "अमेज़न के संस्थापक जेफ बेजोस ने")
    assert not matches("बेज", "जेफ बेजोस")  # whole words, as in English
    assert not matches("बजस", "जेफ बेजोस")  # the vowel signs are not dropped like accents
    assert terms("बेजोस", "जेफ बेजोस ने") == ["बेजोस"]


def test_bengali_and_thai_vowel_signs_stay_in_the_word() -> None:
    assert words_of("বেজোস") == ["বেজোস"]
    assert len(words_of("กรุงเทพ")) == 1  # Thai is not segmented: one run between spaces


def test_latin_greek_and_cyrillic_accents_are_still_folded() -> None:
    assert matches("Bezos", "Jeff Bézos")
    assert matches("Bézos", "Jeff Bezos")
    assert matches("Bezos", "Jeff Be\u0301zos")  # decomposed
    assert words_of("Ἀθῆναι ёлка") == ["αθηναι", "елка"]
    assert terms("bezos", "Jeff Bézos") == ["Bézos"]


def test_full_width_digits_and_letters_are_folded() -> None:
    assert words_of("１０００億ドル") == ["1000", "億", "ド", "ル"]
    assert words_of("1000億") == ["1000", "億"]
    assert matches('"1000億"', "ベゾス氏、１０００億ドル規模のファンド")
    assert matches("AI", "ＡＩ企業")
    assert matches('"100,000"', "１００，０００人")
    # Highlighting gets the text as the item wrote it, full-width and all.
    assert terms('"1000億"', "ベゾス氏、１０００億ドル規模") == ["１０００億"]
    assert terms("ガイド", "ｶﾞｲﾄﾞ") == ["ガイド"]  # recomposed: cut from the folded text


def test_other_digits_are_numbers_too() -> None:
    assert words_of("१०० अरब") == ["100", "अरब"]
    assert matches('"100 अरब"', "$१०० अरब")


def test_soft_hyphens_and_joiners_do_not_split_words() -> None:
    assert words_of("manu\u00adfacturing") == ["manufacturing"]
    assert terms("manufacturing", "AI manu\u00adfacturing") == ["manu\u00adfacturing"]


def test_doc_positions_stay_consistent_for_mixed_scripts() -> None:
    doc = Doc.of("ＡＩ企業 Bezos", "ベゾス氏")
    assert doc.tokens == ["ai", "企", "業", "bezos", None, "ベ", "ゾ", "ス", "氏"]
    assert doc.surface(0, 2) == "ＡＩ企業"


def test_reported_cjk_terms_are_found_again_for_bolding() -> None:
    summary = "アマゾン創業者ベゾス氏が１０００億ドルのファンド。베이조스의 회사"
    found = terms('ベゾス OR "1000億" OR 베이조스', "News", summary)
    assert found == ["ベゾス", "１０００億", "베이조스"]
    bold = highlight(summary, terms_pattern(found), lambda s: s, lambda s: f"<{s}>")
    assert bold == "アマゾン創業者<ベゾス>氏が<１０００億>ドルのファンド。<베이조스>의 회사"
