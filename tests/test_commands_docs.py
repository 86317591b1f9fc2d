"""The command reference in docs/commands.md stays complete."""

from __future__ import annotations

from pathlib import Path

from bot.commands.help import USAGES

DOC = Path(__file__).resolve().parent.parent / "docs" / "commands.md"


def test_every_subcommand_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [u.name for u in USAGES if f"`{u.name}" not in text and f"/ {u.name.split()[-1]}" not in text]
    assert missing == []
