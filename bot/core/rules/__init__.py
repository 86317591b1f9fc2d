"""The keyword-rule language: parse one-line queries, match items, explain verdicts.

    text.py      tokenise item text and rule words identically (case, accents, possessives,
                 CJK/Hangul characters, Indic vowel signs, full-width forms); the lead
    lexer.py     query characters -> tokens with positions
    parser.py    tokens -> node tree (precedence, fields, errors with positions)
    nodes.py     the node tree evaluated on a tokenised item (no regex built from rules)
    explain.py   structured and plain-text explanations
    ruleset.py   RuleSpec, RuleSet.compile/match/explain, compile_query
    jsonl.py     the `match` command's JSON-lines core

The language is described in docs/rules.md ("The rule language"). Nothing here does I/O.
"""

from bot.core.rules.explain import ExplainNode, RuleExplanation, format_explanation
from bot.core.rules.jsonl import match_jsonl
from bot.core.rules.ruleset import CompiledQuery, RuleSet, RuleSpec, compile_query
from bot.core.rules.text import Doc

__all__ = [
    "CompiledQuery",
    "Doc",
    "ExplainNode",
    "RuleExplanation",
    "RuleSet",
    "RuleSpec",
    "compile_query",
    "format_explanation",
    "match_jsonl",
]
