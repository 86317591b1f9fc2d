"""The operator's configuration: YAML files (yaml_file.py reads them safely) validated into typed
settings (settings.py). Loading reports every problem at once as a ConfigError.

May import bot.core (durations, the rule language) and bot.errors; nothing that does I/O beyond
reading the config files.
"""

from bot.config.settings import (
    CONFIG_FILES,
    AdminChannel,
    Admins,
    BacklogPolicy,
    BotConfig,
    FactConfig,
    FeedConfig,
    FetchSettings,
    HealthSettings,
    NoticeSettings,
    RouteConfig,
    RuleConfig,
    Settings,
    WebSubSettings,
    load_config,
    rule_context,
    validate_config,
)

__all__ = [
    "CONFIG_FILES",
    "AdminChannel",
    "Admins",
    "BacklogPolicy",
    "BotConfig",
    "FactConfig",
    "FeedConfig",
    "FetchSettings",
    "HealthSettings",
    "NoticeSettings",
    "RouteConfig",
    "RuleConfig",
    "Settings",
    "WebSubSettings",
    "load_config",
    "rule_context",
    "validate_config",
]
