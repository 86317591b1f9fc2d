"""RuleSet.match/explain, format_explanation and match_jsonl: what admins and the CLI see."""

from __future__ import annotations

import json

from bot.core.model import RuleMatch
from bot.core.rules import RuleSet, RuleSpec, format_explanation, match_jsonl

RULES = RuleSet.compile(
    [
        RuleSpec("prometheus", '"Project Prometheus" OR (Prometheus AND (Bezos OR Bajaj))'),
        RuleSpec("monitoring", "Prometheus AND (Grafana OR PromQL)", enabled=False),
        RuleSpec("fund", 'Bezos NEAR/5 fund NOT "Earth Fund"'),
    ]
)


def test_match_lists_enabled_rules_in_spec_order_with_their_terms() -> None:
    found = RULES.match("Bezos's Prometheus venture", "Bezos plans a fund with Grafana dashboards")
    assert found == [
        RuleMatch("prometheus", ("Bezos's", "Prometheus", "Bezos")),
        RuleMatch("fund", ("Bezos", "fund")),
    ]


def test_disabled_rules_never_match_but_are_named_and_explained() -> None:
    assert RULES.names == ["prometheus", "monitoring", "fund"]
    assert RULES.match("Prometheus with Grafana", "") == []
    explanations = RULES.explain("Prometheus with Grafana", "")
    assert [e.rule for e in explanations] == RULES.names
    assert explanations[1].matched and not explanations[1].enabled


def test_explain_shows_each_subexpression_with_its_value_and_terms() -> None:
    explanation = RULES.explain("Prometheus exporters released", "Grafana and Bajaj Auto news")[0]
    assert explanation.matched
    root = explanation.root
    assert (root.kind, root.matched) == ("or", True)
    phrase, conjunction = root.children
    assert (phrase.expr, phrase.matched, phrase.terms) == ('"Project Prometheus"', False, ())
    assert conjunction.expr == "(Prometheus AND (Bezos OR Bajaj))"
    assert [(c.expr, c.matched) for c in conjunction.children] == [
        ("Prometheus", True),
        ("(Bezos OR Bajaj)", True),
    ]
    bezos, bajaj = conjunction.children[1].children
    assert (bezos.matched, bajaj.matched, bajaj.terms) == (False, True, ("Bajaj",))


def test_explain_says_which_not_excluded_an_item() -> None:
    explanation = RULES.explain("Bezos Earth Fund gives grants", "")[2]
    assert not explanation.matched
    near, negation = explanation.root.children
    assert near.matched and near.terms == ("Bezos", "Fund")
    assert negation.kind == "not" and not negation.matched
    assert negation.children[0].terms == ("Earth Fund",)
    assert explanation.terms == ("Bezos", "Fund", "Earth Fund")


def test_format_explanation_renders_marks_terms_and_disabled_rules() -> None:
    text = format_explanation(RULES.explain("Bezos Earth Fund gives grants", ""))
    assert text.splitlines()[:4] == [
        "rule prometheus: no match",
        '  ✗ "Project Prometheus" OR (Prometheus AND (Bezos OR Bajaj))',
        '    ✗ "Project Prometheus"',
        "    ✗ (Prometheus AND (Bezos OR Bajaj))",
    ]
    assert "rule monitoring (disabled): no match" in text
    assert "rule fund: no match" in text
    assert "      ✓ \"Earth Fund\"  found: 'Earth Fund'" in text
    assert format_explanation([]) == "no rules"


def _run(lines: list[str]) -> list[dict[str, object]]:
    return [json.loads(out) for out in match_jsonl(lines, RULES)]


def test_match_jsonl_writes_one_verdict_per_item() -> None:
    items = [
        {
            "id": "a",
            "title": "Project Prometheus hires",
            "summary": "Bezos plans a fund",
            "link": "https://x/a",
        },
        {"id": 7, "title": "Grafana 12", "summary": "PromQL", "link": None, "source": "Blog"},
    ]
    out = _run([json.dumps(item) for item in items])
    assert out == [
        {
            "id": "a",
            "matched": True,
            "rules": ["prometheus", "fund"],
            "terms": ["Project Prometheus", "Bezos", "fund"],
        },
        {"id": 7, "matched": False, "rules": [], "terms": []},
    ]


def test_match_jsonl_reports_bad_lines_and_carries_on() -> None:
    lines = [
        "not json",
        "[1, 2]",
        '{"title": "no id"}',
        '{"id": "t", "title": 5}',
        '{"id": "s", "title": "ok", "summary": ["list"]}',
        "",
        '{"id": "good", "title": "Project Prometheus", "summary": ""}',
    ]
    out = _run(lines)
    assert [o["id"] for o in out] == [None, None, None, "t", "s", "good"]
    assert "not valid JSON" in str(out[0]["error"]) and "line 1" in str(out[0]["error"])
    assert "JSON object" in str(out[1]["error"])
    assert '"id"' in str(out[2]["error"])
    assert '"title"' in str(out[3]["error"])
    assert '"summary"' in str(out[4]["error"])
    assert out[5] == {"id": "good", "matched": True, "rules": ["prometheus"], "terms": ["Project Prometheus"]}


def test_match_jsonl_keeps_non_ascii_text_readable() -> None:
    line = json.dumps({"id": "é", "title": "Bézos's Project Prometheus", "summary": ""})
    (out,) = list(match_jsonl([line], RULES))
    assert json.loads(out)["terms"] == ["Bézos's", "Project Prometheus"]
    assert '"id": "é"' in out and "Bézos's" in out
