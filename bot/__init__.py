"""News-alert bot: RSS/Atom feeds -> keyword rules -> deduplicated alerts on Slack, Discord, console."""

__version__ = "0.1.0"
