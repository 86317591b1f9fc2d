"""The gateway side of Discord's buttons and rule editor (bot.deliver.adapters.discord_ui decides).

Buttons are discord.py dynamic items: registered once with `client.add_dynamic_items`, they match
any click whose custom_id fits their template, so the buttons of alerts posted before a restart
keep working. A modal submission is read in `on_modal_submit` from the interaction's raw data by
its custom_id, because discord.py hands a submission only to the Modal object that opened it, and
that object is gone after a restart. Answers are private and sent with no allowed mentions; slow
work (a rule's test or save) is deferred first, so Discord's 3-second window always holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import discord

from bot.core.model import CommandRequest
from bot.deliver.adapters.discord_slash import AdminHint
from bot.deliver.adapters.discord_ui import (
    ALERT_BUTTON,
    DRAFT_BUTTON,
    DiscordUI,
    UIMessage,
    UIModal,
    submitted_values,
)

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()


class GatewayUI:
    """What the dynamic items and the submit listener need from the client: the UI and the admin hint."""

    def __init__(self, ui: DiscordUI, admin_hint: AdminHint) -> None:
        self.ui, self.admin_hint = ui, admin_hint

    def request(self, interaction: discord.Interaction[Any], text: str = "") -> CommandRequest:
        return gateway_request(interaction, self.admin_hint, text)


def gateway_request(interaction: discord.Interaction[Any], hint: AdminHint, text: str) -> CommandRequest:
    """Who is asking, from a real Interaction. Member.roles resolves ids through the guild cache,
    which a REST-only or partial guild lacks; the ids themselves come with every interaction."""
    role_ids: Sequence[int] = getattr(interaction.user, "_roles", ())
    return CommandRequest(
        platform="discord",
        user_id=str(interaction.user.id),
        text=text,
        channel_id=str(interaction.channel_id or ""),
        user_name=interaction.user.name,
        is_admin_hint=hint(interaction.permissions.value, role_ids),
    )


def _gateway_ui(interaction: discord.Interaction[Any]) -> GatewayUI | None:
    ui = getattr(interaction.client, "news_ui", None)
    return ui if isinstance(ui, GatewayUI) else None


class AlertButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ALERT_BUTTON):
    """ "Not relevant" / "Mute this story" under an alert: answered at once (a local write)."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlertButton:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        gateway = _gateway_ui(interaction)
        if gateway is None:
            return
        answer = gateway.ui.alert_click(gateway.request(interaction), self.custom_id)
        if answer is not None:
            await _answer(interaction, answer)


class DraftButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=DRAFT_BUTTON):
    """Save or Edit under a tested rule draft; the draft's query is in the message's footer."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DraftButton:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        gateway = _gateway_ui(interaction)
        if gateway is None:
            return
        embeds = interaction.message.embeds if interaction.message is not None else []
        footer = (embeds[-1].footer.text or "") if embeds else ""
        request = gateway.request(interaction)
        edit = gateway.ui.draft_edit(request, self.custom_id, footer)  # a modal must be the first answer
        if edit is not None:
            await _answer(interaction, edit)
            return
        save = gateway.ui.draft_save(request, self.custom_id, footer)
        if save is not None:
            await _deferred(interaction, save)


async def on_modal_submit(interaction: discord.Interaction[Any]) -> None:
    """The editor's submission, from the raw data (custom_id and fields) Discord sent."""
    gateway = _gateway_ui(interaction)
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = data.get("custom_id")
    if gateway is None or interaction.type != discord.InteractionType.modal_submit:
        return
    if not isinstance(custom_id, str) or not custom_id.startswith("nb:rule:"):
        return
    values = submitted_values(data.get("components"))
    await _deferred(interaction, gateway.ui.submit(gateway.request(interaction), custom_id, values))


async def _answer(interaction: discord.Interaction[Any], answer: UIMessage | UIModal) -> None:
    try:
        if isinstance(answer, UIModal):
            await interaction.response.send_modal(answer.modal)
            return
        kw: dict[str, Any] = {"view": answer.view} if answer.view is not None else {}
        await interaction.response.send_message(
            embeds=answer.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS, **kw
        )
    except discord.HTTPException as exc:  # e.g. expired (10062): nobody is left to tell
        log.warning("Discord component answer failed: %s %s", exc.status, exc.code)


async def _deferred(interaction: discord.Interaction[Any], work: Any) -> None:
    """Acknowledge now (privately, "thinking…"), then send what `work` (a coroutine) answers."""
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
        answer = await work
        if isinstance(answer, UIMessage):
            kw: dict[str, Any] = {"view": answer.view} if answer.view is not None else {}
            await interaction.followup.send(
                embeds=answer.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS, **kw
            )
    except discord.HTTPException as exc:
        log.warning("Discord component answer failed: %s %s", exc.status, exc.code)
    finally:
        if hasattr(work, "close"):
            work.close()  # not awaited when the defer failed: no "never awaited" warning
