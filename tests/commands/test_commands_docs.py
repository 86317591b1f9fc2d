"""The command reference in docs/commands.md stays complete."""

from __future__ import annotations

from bot.commands.help import USAGES
from tests.paths import ROOT

DOC = ROOT / "docs" / "commands.md"


def test_every_subcommand_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [u.name for u in USAGES if f"`{u.name}" not in text and f"/ {u.name.split()[-1]}" not in text]
    assert missing == []
