"""Where the repository's files are, for a test at any depth."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CONFIG = ROOT / "config"
