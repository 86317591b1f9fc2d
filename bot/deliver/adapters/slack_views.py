"""Slack's interactive surfaces on the Bolt app: App Home, the rule and feed modals, alert buttons.

Translation only: a Slack event, block action or view submission becomes a call on the
platform-neutral `Interactions` core (bot.commands.interactive), and what comes back is rendered by
bot.core.render.slack_views. Every listener acknowledges before any slow work (Slack allows 3
seconds), except a rule save, which answers with the form's errors and is a local database write.
Who may edit is decided by the core on every request, never by which buttons a view showed.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import CommandRequest, Reply
from bot.core.platform import Interactions
from bot.core.render.slack import escape_slack
from bot.core.render.slack_views import (
    ADD_FEED,
    ADD_RULE,
    EDIT_RULE,
    ENABLED_BLOCK,
    FEED_MODAL,
    FEED_NAME_BLOCK,
    MUTE_STORY,
    NAME_BLOCK,
    NOT_RELEVANT,
    QUERY_BLOCK,
    RULE_MODAL,
    TEST_RULE,
    URL_BLOCK,
    render_feed_modal,
    render_home,
    render_rule_modal,
)
from bot.core.views import RuleForm

log = logging.getLogger(__name__)

ERROR_TEXT = 150  # a modal field's error message: keep it short


def add_slack_interactions(app: AsyncApp, core: Interactions) -> None:
    """Register the App Home, modal and alert-button listeners of `core` on `app`."""

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await publish_home(client, core, _request(str(event.get("user", ""))))

    async def open_rule(body: dict[str, Any], name: str | None, client: AsyncWebClient) -> None:
        form = core.rule_form(_request_of(body), name)
        if form is None:  # not an admin (logged by the core), or the rule is gone
            return
        await _call(
            client.views_open(trigger_id=body.get("trigger_id", ""), view=render_rule_modal(form)),
            "views.open",
        )

    @app.action(ADD_RULE)
    async def on_add_rule(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_rule(body, None, client)

    @app.action(EDIT_RULE)
    async def on_edit_rule(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await open_rule(body, str(action.get("value") or ""), client)

    @app.action(ADD_FEED)
    async def on_open_feed(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if not core.is_admin(_request_of(body)):
            log.warning("slack: refused the feed form to non-admin %s", _user_of(body))
            return
        await _call(
            client.views_open(trigger_id=body.get("trigger_id", ""), view=render_feed_modal()), "views.open"
        )

    @app.action(TEST_RULE)
    async def on_test_rule(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body.get("view") or {}
        request = _request_of(body)
        edited, name, query, enabled = _rule_fields(view)
        preview = core.preview(request, name or edited or "new", query, enabled=enabled)
        if preview is None:
            return
        existing = core.rule_form(request, edited) if edited else None
        form = RuleForm(
            name=edited or None,
            query=query,
            enabled=enabled,
            channels=existing.channels if existing else (),
            preview=preview,
            draft_name=name,
        )
        await _call(
            client.views_update(
                view_id=view.get("id", ""), hash=view.get("hash"), view=render_rule_modal(form)
            ),
            "views.update",
        )

    @app.view(RULE_MODAL)
    async def on_save_rule(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        request = _request_of(body)
        edited, name, query, enabled = _rule_fields(view)
        reply = await core.save_rule(
            request, name=edited or name, query=query, enabled=enabled, new=not edited
        )
        if reply.is_error:
            field = QUERY_BLOCK if edited or not _is_name_problem(reply) else NAME_BLOCK
            await ack(response_action="errors", errors={field: _error_text(reply)})
            return
        await ack()
        await publish_home(client, core, request, notice=reply.title)

    @app.view(FEED_MODAL)
    async def on_add_feed(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()  # the feed check fetches the URL: answer first, show the outcome on the Home tab
        request = _request_of(body)
        url = _value(view, URL_BLOCK)
        reply = await core.add_feed(request, url, _value(view, FEED_NAME_BLOCK))
        notice = " ".join((reply.title, *reply.lines[:2]))
        await publish_home(client, core, request, notice=notice, is_error=reply.is_error)

    # The alert buttons: one handler, the core's action chosen by the button's action_id.
    alert_actions = {NOT_RELEVANT: core.not_relevant, MUTE_STORY: core.mute}

    @app.action(re.compile(f"^(?:{NOT_RELEVANT}|{MUTE_STORY})$"))
    async def on_alert_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        act = alert_actions[action["action_id"]]
        outcome = act(_request_of(body), str(action.get("value") or ""))
        await _tell(respond, outcome.text)


async def publish_home(
    client: AsyncWebClient,
    core: Interactions,
    request: CommandRequest,
    *,
    notice: str = "",
    is_error: bool = False,
) -> None:
    """views.publish the Home tab of `request.user_id`, as that user may see it."""
    if not request.user_id:
        return
    view = render_home(core.home(request, notice=notice, notice_is_error=is_error))
    await _call(client.views_publish(user_id=request.user_id, view=view), "views.publish")


def _user_of(body: dict[str, Any]) -> str:
    user = body.get("user") or {}
    return str(user.get("id", "")) if isinstance(user, dict) else ""


def _request(user_id: str, channel_id: str = "", user_name: str = "") -> CommandRequest:
    return CommandRequest(
        platform="slack", user_id=user_id, text="", channel_id=channel_id, user_name=user_name
    )


def _request_of(body: dict[str, Any]) -> CommandRequest:
    """Who clicked or submitted, and in which channel (alert buttons: the alert's channel)."""
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    return _request(
        _user_of(body),
        str(channel.get("id", "")) if isinstance(channel, dict) else "",
        str(user.get("username") or user.get("name") or "") if isinstance(user, dict) else "",
    )


def _value(view: dict[str, Any], block_id: str) -> str:
    state = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    value = (state.get("value") or {}).get("value")
    return value if isinstance(value, str) else ""


def _rule_fields(view: dict[str, Any]) -> tuple[str, str, str, bool]:
    """(the edited rule's name or "", the typed name, the query, enabled) from a rule modal's state."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    edited = str(meta.get("rule") or "") if isinstance(meta, dict) else ""
    state = ((view.get("state") or {}).get("values") or {}).get(ENABLED_BLOCK) or {}
    selected = (state.get("value") or {}).get("selected_options") or []
    enabled = any(isinstance(o, dict) and o.get("value") == "on" for o in selected)
    if ENABLED_BLOCK not in ((view.get("state") or {}).get("values") or {}):
        enabled = True  # a state without the checkbox (an old view): keep rules on
    return edited, _value(view, NAME_BLOCK).strip(), _value(view, QUERY_BLOCK), enabled


def _is_name_problem(reply: Reply) -> bool:
    text = " ".join((reply.title, *reply.lines)).lower()
    return any(words in text for words in ("rule name", "a rule named", "give the rule a name"))


def _error_text(reply: Reply) -> str:
    text = " ".join(part for part in (reply.title, *reply.lines) if part)
    text = " ".join(text.split())
    return text if len(text) <= ERROR_TEXT else text[: ERROR_TEXT - 1] + "…"


async def _tell(respond: AsyncRespond, text: str) -> None:
    """An ephemeral answer to the presser (via response_url), leaving the alert as it is."""
    try:
        await respond(text=escape_slack(text), response_type="ephemeral", replace_original=False)
    except Exception as exc:  # network trouble, or a payload without response_url
        log.warning("slack: could not answer a button press: %s", type(exc).__name__)


async def _call(call: Any, method: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("slack: %s failed: %s", method, type(exc).__name__)
