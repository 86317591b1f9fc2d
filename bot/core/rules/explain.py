"""Why a rule did or did not match an item: structured data and a plain-text rendering.

`ExplainNode` mirrors the compiled rule: each sub-expression with its truth value and the terms
it found in the item. `format_explanation` turns a list of them into text for the CLI and chat
(plain and unescaped: each platform's renderer escapes it). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExplainNode:
    """One sub-expression of a rule, evaluated on one item."""

    expr: str  # the sub-expression as written in the query
    kind: str  # "word" | "phrase" | "near" | "and" | "or" | "not"
    matched: bool
    terms: tuple[str, ...] = ()  # what it found in the item, as written there
    children: tuple[ExplainNode, ...] = ()
    field: str = "any"  # a word or phrase: where it had to be ("title", "summary", "lead", "any")
    outside: tuple[str, ...] = ()  # a word or phrase found nowhere in its field: where it was instead


@dataclass(frozen=True)
class RuleExplanation:
    """One rule's verdict on one item, with the evaluated tree of its query."""

    rule: str
    query: str
    enabled: bool
    matched: bool
    root: ExplainNode

    @property
    def terms(self) -> tuple[str, ...]:
        """Every term found anywhere in the tree (including ones under a NOT)."""
        found: dict[str, None] = {}
        stack = [self.root]
        while stack:
            node = stack.pop()
            found.update(dict.fromkeys(node.terms))
            stack.extend(reversed(node.children))
        return tuple(found)


def format_explanation(explanations: list[RuleExplanation]) -> str:
    """Human-readable text: one block per rule, sub-expressions indented with ✓ or ✗."""
    blocks = []
    for explanation in explanations:
        verdict = "MATCHED" if explanation.matched else "no match"
        state = "" if explanation.enabled else " (disabled)"
        lines = [f"rule {explanation.rule}{state}: {verdict}"]
        _render(explanation.root, 1, lines)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "no rules"


def _render(node: ExplainNode, depth: int, lines: list[str]) -> None:
    mark = "✓" if node.matched else "✗"
    found = f"  found: {_quoted(node.terms)}" if node.terms else ""
    outside = f"  found outside the {node.field}: {_quoted(node.outside)}" if node.outside else ""
    lines.append(f"{'  ' * depth}{mark} {_expression(node)}{found}{outside}")
    # A leaf's children would repeat it; NEAR/AND/OR/NOT show their operands.
    for child in node.children:
        _render(child, depth + 1, lines)


def _expression(node: ExplainNode) -> str:
    """The sub-expression as written, plus its field when a group set it (`lead:(a OR b)` shows `a [lead]`)."""
    if node.field == "any" or node.expr.casefold().startswith(f"{node.field}:"):
        return node.expr
    return f"{node.expr} [{node.field}]"


def _quoted(terms: tuple[str, ...]) -> str:
    return ", ".join(repr(t) for t in terms)
