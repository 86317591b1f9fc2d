"""Who may run admin subcommands (pure: request and settings in, yes or no out).

Slack: the user id is in settings.admins.slack. Discord: the user id is in settings.admins.discord,
or the adapter reports a platform-level signal (`is_admin_hint`: one of admins.discord_roles, or
Manage Server while admins.discord_manage_server is on). Console: the local operator, always.
"""

from __future__ import annotations

from bot.config import Settings
from bot.core.model import CommandRequest


def is_admin(request: CommandRequest, settings: Settings) -> bool:
    admins = settings.admins
    if request.platform == "console":
        return True
    if request.platform == "slack":
        return request.user_id in admins.slack
    if request.platform == "discord":
        if request.user_id in admins.discord:
            return True
        # The hint is honoured only while the config enables a hint-based route to admin rights.
        return request.is_admin_hint and (bool(admins.discord_roles) or admins.discord_manage_server)
    return False
