"""The /news slash command over Discord's gateway: an app_commands Group that only translates.

Each subcommand hands its option values to bot.deliver.adapters.discord_slash, which turns them
into the core's text line ("latest 5 prometheus") the same way for the HTTP interactions endpoint
(bot.deliver.adapters.discord_interactions); the platform-neutral CommandHandler answers a
CommandRequest, and the Reply is rendered as embeds. Who may run admin subcommands is the core's
decision; this module only passes the platform's hint (discord_slash.AdminHint: Manage Server,
Administrator, or a configured admin role). Nothing here parses arguments or checks them beyond
what Discord's option types already do.

The Group defined here is also what is registered with Discord (`NewsBotClient.setup_hook`), for
both paths: `sync_discord_commands` registers it over REST alone when the HTTP endpoint answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Coroutine
from typing import Any

import discord
from discord import app_commands

from bot.core.platform import CommandHandler
from bot.deliver.adapters.discord_components import (
    AlertButton,
    DraftButton,
    GatewayUI,
    gateway_request,
    on_modal_submit,
)
from bot.deliver.adapters.discord_render import render_discord_reply
from bot.deliver.adapters.discord_slash import (
    AdminHint,
    NameLookup,
    command_line,
    reply_for,
    request_line,
    suggestions,
)
from bot.deliver.adapters.discord_ui import DiscordUI
from bot.errors import DeliveryError

__all__ = [
    "NewsBotClient",
    "build_command_tree",
    "command_line",
    "run_discord_gateway",
    "sync_discord_commands",
]
log = logging.getLogger(__name__)

Autocomplete = Callable[[discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]
DEFER_AFTER = 2.0  # seconds; Discord drops interactions not answered within 3


def build_command_tree(
    client: discord.Client,
    handle_command: CommandHandler,
    *,
    group_name: str = "news",
    admin_role_ids: Collection[int] = (),
    name_lookup: NameLookup | None = None,
    defer_after: float = DEFER_AFTER,
    manage_server_is_admin: bool = True,
    ui: DiscordUI | None = None,
) -> app_commands.CommandTree[discord.Client]:
    """A CommandTree holding one Group (`/news ...`) whose subcommands mirror the core's.

    `admin_role_ids` and `manage_server_is_admin` mirror settings.admins.discord_roles and
    .discord_manage_server; they only set CommandRequest.is_admin_hint, the core decides. With
    `ui`, `/news rules add|edit <name>` without a query opens the rule editor for an admin.
    """
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    hint = AdminHint(admin_role_ids, manage_server_is_admin)
    answer = _Answerer(handle_command, hint, defer_after, ui)
    group = app_commands.Group(name=group_name, description="Project Prometheus news alerts")

    def complete(subcommand: str, option: str) -> Autocomplete:
        return _autocomplete(subcommand, option, name_lookup)

    @group.command(name="latest", description="Show the latest matched stories")
    @app_commands.describe(
        n="How many stories (1-10, default 5)", rule="Only stories matched by this rule", page="Page number"
    )
    @app_commands.autocomplete(rule=complete("latest", "rule"))
    async def latest(
        interaction: discord.Interaction,
        n: app_commands.Range[int, 1, 10] | None = None,
        rule: str | None = None,
        page: app_commands.Range[int, 1, 1000] | None = None,
    ) -> None:
        await answer(interaction, "latest", n=n, rule=rule, page=page)

    @group.command(name="search", description="Full-text search over every stored story")
    @app_commands.describe(words='Words to look for; "quotes" keep a phrase together', page="Page number")
    async def search(
        interaction: discord.Interaction, words: str, page: app_commands.Range[int, 1, 1000] | None = None
    ) -> None:
        await answer(interaction, "search", words=words, page=page)

    @group.command(name="facts", description="Curated facts; admins can add or remove them")
    @app_commands.describe(
        action="Empty lists facts; add or remove (admins)", text="Fact text, or id to remove"
    )
    @app_commands.autocomplete(action=complete("facts", "action"))
    async def facts(
        interaction: discord.Interaction, action: str | None = None, text: str | None = None
    ) -> None:
        await answer(interaction, "facts", action=action, text=text)

    @group.command(name="status", description="Feeds, last poll and delivery health")
    async def status(interaction: discord.Interaction) -> None:
        await answer(interaction, "status")

    @group.command(name="story", description="A story's reports with their ids; admins can split one out")
    @app_commands.describe(action="show, or split (admins)", report="A report's id or link")
    @app_commands.autocomplete(action=complete("story", "action"))
    async def story(interaction: discord.Interaction, action: str, report: str) -> None:
        await answer(interaction, "story", action=action, report=report)

    @group.command(name="help", description="What each subcommand does")
    @app_commands.describe(topic="A subcommand to explain")
    @app_commands.autocomplete(topic=complete("help", "topic"))
    async def help_(interaction: discord.Interaction, topic: str | None = None) -> None:
        await answer(interaction, "help", topic=topic)

    @group.command(name="rules", description="Admin: list, add, edit, remove, enable, disable, test rules")
    @app_commands.describe(action="What to do with rules", args="Rule name, then the query where needed")
    @app_commands.autocomplete(action=complete("rules", "action"), args=complete("rules", "args"))
    async def rules(
        interaction: discord.Interaction, action: str | None = None, args: str | None = None
    ) -> None:
        await answer(interaction, "rules", action=action, args=args)

    @group.command(name="feeds", description="Admin: list, add, remove, pause, resume, export feeds")
    @app_commands.describe(action="What to do with feeds", args="Feed URL or name, then options")
    @app_commands.autocomplete(action=complete("feeds", "action"), args=complete("feeds", "args"))
    async def feeds(
        interaction: discord.Interaction, action: str | None = None, args: str | None = None
    ) -> None:
        await answer(interaction, "feeds", action=action, args=args)

    @group.command(name="routes", description="Admin: which rules go to which channels")
    async def routes(interaction: discord.Interaction) -> None:
        await answer(interaction, "routes")

    @group.command(name="audit", description="Admin: the newest edits and refused attempts")
    @app_commands.describe(n="How many records")
    async def audit(
        interaction: discord.Interaction, n: app_commands.Range[int, 1, 100] | None = None
    ) -> None:
        await answer(interaction, "audit", n=n)

    tree.add_command(group)
    return tree


class _Answerer:
    """Runs one subcommand: request to the core, reply back as embeds, deferring when slow."""

    def __init__(
        self, handle: CommandHandler, admin_hint: AdminHint, defer_after: float, ui: DiscordUI | None
    ) -> None:
        self.handle, self.admin_hint, self.defer_after, self.ui = handle, admin_hint, defer_after, ui

    async def __call__(
        self, interaction: discord.Interaction, subcommand: str, **options: str | int | None
    ) -> None:
        text, private = request_line(subcommand, options)
        request = gateway_request(interaction, self.admin_hint, text)
        if self.ui is not None and subcommand == "rules":
            editor = self.ui.slash_editor(request, options.get("action"), options.get("args"))
            if editor is not None:
                try:
                    await interaction.response.send_modal(editor.modal)
                except discord.HTTPException as exc:
                    log.warning("Discord editor failed to open: %s %s", exc.status, exc.code)
                return
        task = asyncio.ensure_future(reply_for(self.handle, request))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.defer_after)
            if task in done:
                reply = task.result()
                await interaction.response.send_message(
                    embeds=render_discord_reply(reply),
                    ephemeral=reply.ephemeral,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                return
            # Slow answer: acknowledge now (Discord's 3-second window), follow up when ready.
            await interaction.response.defer(ephemeral=private, thinking=True)
            reply = await task
            embeds = render_discord_reply(reply)
            if reply.ephemeral and not private:
                # A public "thinking…" placeholder cannot become private: remove it, answer privately.
                await interaction.delete_original_response()
            await interaction.followup.send(
                embeds=embeds, ephemeral=reply.ephemeral, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as exc:
            # e.g. the interaction expired (10062): nobody is left to tell, so log and move on.
            log.warning("Discord interaction reply failed: %s %s", exc.status, exc.code)
        finally:
            task.cancel()


def _autocomplete(subcommand: str, option: str, lookup: NameLookup | None) -> Autocomplete:
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=n, value=n) for n in suggestions(subcommand, option, current, lookup)
        ]

    return complete


class NewsBotClient(discord.Client):
    """A gateway client carrying the command tree; syncs commands once, at login.

    `tree_options` go to build_command_tree (group_name, admin_role_ids, name_lookup, ...).
    """

    def __init__(
        self,
        handle_command: CommandHandler,
        *,
        guild_ids: Collection[int] = (),
        sync_global: bool = False,
        **tree_options: Any,
    ) -> None:
        # guilds intent only: slash commands need no privileged intents.
        none = discord.AllowedMentions.none()
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=none)
        self.guild_ids = tuple(int(g) for g in guild_ids)
        self.sync_global = sync_global or not self.guild_ids
        self.tree = build_command_tree(self, handle_command, **tree_options)
        ui = tree_options.get("ui")
        hint = AdminHint(
            tree_options.get("admin_role_ids", ()), tree_options.get("manage_server_is_admin", True)
        )
        # Alert buttons and the rule editor (read by discord_components' handlers)
        self.news_ui = GatewayUI(ui, hint) if ui is not None else None
        if self.news_ui is not None:
            self.add_dynamic_items(AlertButton, DraftButton)  # before login: every click, after restarts too

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if self.news_ui is not None:
            await on_modal_submit(interaction)

    async def setup_hook(self) -> None:
        # setup_hook runs once after login and before the gateway connects; on_ready would
        # re-sync on every reconnect and spend Discord's small command-update quota.
        for guild_id in self.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Discord commands synced to guild %s: %d", guild_id, len(synced))
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("Discord commands synced globally: %d (can take an hour to show)", len(synced))


async def run_discord_gateway(
    token: str,
    handle_command: CommandHandler,
    *,
    guild_ids: Collection[int] = (),
    sync_global: bool = False,
    **tree_options: Any,
) -> None:
    """Connect to the gateway and answer slash commands until cancelled.

    Commands are synced to each of `guild_ids` (instant) and globally when `sync_global` is set
    or no guild is given. `tree_options` go to build_command_tree (group_name, admin_role_ids,
    manage_server_is_admin, name_lookup). Alerts do not depend on this connection.
    """
    client = NewsBotClient(handle_command, guild_ids=guild_ids, sync_global=sync_global, **tree_options)
    async with client:
        try:
            await client.start(token)
        except discord.LoginFailure:
            message = "Discord rejected DISCORD_BOT_TOKEN (401)"
            raise DeliveryError(message, retryable=False, code="invalid_token") from None


async def sync_discord_commands(
    token: str,
    handle_command: CommandHandler,
    *,
    guild_ids: Collection[int] = (),
    sync_global: bool = False,
    **tree_options: Any,
) -> None:
    """Register the /news Group with Discord over REST (log in, sync, close), with no gateway
    connection: for when the HTTP interactions endpoint answers the commands.

    The same Group and the same guild or global sync as the gateway path. A failure is logged,
    not raised: the commands registered before keep working, and alerts do not depend on this.
    """
    client = NewsBotClient(handle_command, guild_ids=guild_ids, sync_global=sync_global, **tree_options)
    expected = _EndpointIsExpected()
    discord_log = logging.getLogger("discord.client")
    discord_log.addFilter(expected)
    try:
        async with client:
            await client.login(token)  # REST only; setup_hook syncs
    except discord.LoginFailure:
        log.error("Discord rejected DISCORD_BOT_TOKEN (401): /news was not registered")
    except discord.HTTPException as exc:
        log.warning("Discord command sync failed: HTTP %s %s", exc.status, exc.code)
    except Exception as exc:  # network trouble: the earlier registration stays in force
        log.warning("Discord command sync failed: %s", type(exc).__name__)
    finally:
        discord_log.removeFilter(expected)


class _EndpointIsExpected(logging.Filter):
    """discord.py warns at login that an app with an Interactions Endpoint URL gets no commands over
    the gateway; when the endpoint is what answers them, that is the point, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "interaction endpoint URL" not in record.getMessage()
