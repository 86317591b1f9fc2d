"""Entry points that assemble the bot for one use: the service, one poll, one operator command.

Platform adapters are attached here only when their credentials are in the environment; with none,
alerts go to the console, so a fresh checkout runs with no set-up.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import Bot, Environment, build_bot
from bot.core.model import CommandRequest
from bot.core.render.console import render_console_reply
from bot.core.routing import Reachable
from bot.deliver.dispatch import dispatch_due
from bot.service import Service

log = logging.getLogger(__name__)


def command_core(bot: Bot, reachable: Reachable):  # type: ignore[no-untyped-def]
    """The command core over `bot`; `reachable` says which channels a command may queue alerts for."""
    from bot.commands import CommandCore
    from bot.commands.feed_check import make_feed_validator

    validate_feed = make_feed_validator(bot.config.file_config, bot.http)  # checks use the bot's client
    return CommandCore(
        db=bot.db, config_provider=bot.config.file_config, validate_feed=validate_feed, reachable=reachable
    )


async def connect_platforms(
    bot: Bot, *, listen: bool, slack_http: bool = False
) -> list[Callable[[], Awaitable[None]]]:
    """Add a sender for each platform whose credentials are set; return listeners to run (slash commands)."""
    env = bot.env
    config = bot.config.effective()
    settings = config.settings
    listeners: list[Callable[[], Awaitable[None]]] = []
    core = command_core(bot, bot.can_deliver) if listen else None

    if env.slack_bot_token:
        from bot.deliver.adapters.slack import (
            SlackAlertSender,
            build_slack_app,
            make_slack_client,
            run_slack_http,
            run_slack_socket_mode,
        )

        bot.senders["slack"] = SlackAlertSender(make_slack_client(env.slack_bot_token, env.slack_api_url))
        if core is not None and (env.slack_app_token or env.slack_signing_secret):
            app = build_slack_app(
                token=env.slack_bot_token,
                signing_secret=env.slack_signing_secret,
                api_url=env.slack_api_url,
                handle_command=core.handle,
                command_name="/" + settings.command_name,
            )
            if env.slack_app_token and not slack_http:
                token = env.slack_app_token
                listeners.append(lambda: run_slack_socket_mode(app, token))
            else:
                port, secret = env.port, env.slack_signing_secret
                listeners.append(lambda: run_slack_http(app, port, signing_secret=secret))

    has_webhook_route = any(
        route.platform == "discord" and route.channel.startswith("http") for route in config.routes
    )
    if env.discord_bot_token or has_webhook_route:
        from bot.deliver.adapters.discord import (
            DiscordAlertSender,
            set_discord_api_url,
            set_discord_gateway_url,
        )

        set_discord_api_url(env.discord_api_url)
        set_discord_gateway_url(env.discord_gateway_url)
        colors = {rule.name: int(rule.color.lstrip("#"), 16) for rule in config.rules if rule.color}
        sender = DiscordAlertSender(token=env.discord_bot_token, rule_colors=colors)
        await sender.start()
        bot.senders["discord"] = sender
        if core is not None and env.discord_bot_token:
            from bot.deliver.adapters.discord_commands import run_discord_gateway

            token = env.discord_bot_token
            guilds = [int(guild) for guild in settings.discord_guilds]
            roles = [int(role) for role in settings.admins.discord_roles]
            listeners.append(
                lambda: run_discord_gateway(
                    token,
                    core.handle,
                    guild_ids=guilds,
                    group_name=settings.command_name,
                    admin_role_ids=roles,
                    manage_server_is_admin=settings.admins.discord_manage_server,
                    name_lookup=core.names,
                )
            )
    return listeners


async def run_service(env: Environment, *, slack_http: bool = False) -> None:
    bot = build_bot(env)
    try:
        listeners = await connect_platforms(bot, listen=True, slack_http=slack_http)
        if set(bot.senders) == {"console"}:
            log.info("no Slack or Discord credentials set: alerts go to the console")
        await Service(bot, listeners).run()
    finally:
        await bot.close()


async def poll_once(
    env: Environment, *, db_path: Path | None = None, console_only: bool = False, only_due: bool = False
) -> int:
    """One poll cycle over every enabled feed (`only_due`: those whose next fetch has come) and one
    dispatch round; prints the cycle's summary. Exit code 1 if every feed failed."""
    bot = build_bot(env, db_path=db_path)
    try:
        if not console_only:
            await connect_platforms(bot, listen=False)
        report = await bot.pipeline.run_cycle(only_due=only_due)
        sent = await dispatch_due(bot.db, bot.senders, clock=time.time)
        print(f"{report.summary()}; {sent.sent} alerts posted", file=sys.stderr)
        for url, error in sorted(report.errors.items()):
            print(f"  failed: {url}: {error}", file=sys.stderr)
        return 1 if report.offline or (report.feeds_due and report.failed == report.feeds_due) else 0
    finally:
        await bot.close()


async def run_operator_command(env: Environment, text: str) -> tuple[str, bool]:
    bot = build_bot(env)
    try:
        # No platform is connected here: alerts a command queues go to the channels this environment
        # has credentials for, and the running service sends them.
        reply = await command_core(bot, bot.env.can_reach).handle(
            CommandRequest(platform="console", user_id="operator", user_name="operator", text=text)
        )
        return render_console_reply(reply), reply.is_error
    finally:
        await bot.close()
