"""On Slack the alert itself shows who else reported it: every update delivery replies in the thread
and then edits the alert (chat.update) from the whole list of copies. Real outbox, dispatcher and
recovery, the real slack-sdk client, the fake Slack; a crash or a failed edit between the two steps
still ends with the edit made and the reply posted once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from bot.core.model import Alert
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.deliver.dispatch import Dispatcher
from tests.conftest import TestClock
from tests.deliver.test_dispatch import queue, statuses
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    server = await FakeSlackAPI(real_time_ts=True).start()  # history lookups filter on ts
    yield server
    await server.close()


async def no_sleep(_: float) -> None:
    return None


def sender_for(slack: FakeSlackAPI) -> SlackAlertSender:
    return SlackAlertSender(make_slack_client(BOT_TOKEN, slack.api_url), sleep=no_sleep)


def dispatcher(db, sender: SlackAlertSender) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(db, {"slack": sender}, clock=TestClock(time.time()), pace={})


def parent_line(body: dict) -> str:  # type: ignore[type-arg]
    blocks = body["blocks"]
    last = (json.loads(blocks) if isinstance(blocks, str) else blocks)[-1]
    return str(last["elements"][0]["text"]) if last["type"] == "context" else ""


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, nothing is marked."""


class CrashBeforeTheEdit(SlackAlertSender):
    async def refresh_parent(self, channel: str, parent_ref: str, alert: Alert) -> str:
        raise Crash


async def test_the_alert_line_grows_with_every_copy(db, slack: FakeSlackAPI) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    alert = queue(db, 1, created_at=now - 3)
    queue(db, 2, created_at=now - 2, kind="update", parent_id=alert, source="Reuters")
    queue(db, 3, created_at=now - 1, kind="update", parent_id=alert, source="Bloomberg")

    await dispatcher(db, sender_for(slack)).run_once()

    [alert_ts] = [body_ts for body_ts, body in slack.posted.items() if not body.get("thread_ts")]
    assert [parent_line(edit) for edit in slack.updates] == [
        "Also reported by Reuters",
        "Also reported by Reuters and Bloomberg",
    ]
    assert parent_line(slack.posted[alert_ts]) == "Also reported by Reuters and Bloomberg"
    assert [
        "Reuters" in body["text"] and "Bloomberg" not in body["text"] for body in slack.replies(alert_ts)
    ] == [True, False]
    assert [status for _, status, _ in statuses(db)] == ["sent", "sent", "sent"]


async def test_a_crash_between_the_reply_and_the_edit_still_ends_with_the_edit(
    db, slack: FakeSlackAPI
) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    alert = queue(db, 1, created_at=now - 2)
    update = queue(db, 2, created_at=now - 1, kind="update", parent_id=alert, source="Reuters")
    crashing = CrashBeforeTheEdit(make_slack_client(BOT_TOKEN, slack.api_url), sleep=no_sleep)
    with pytest.raises(Crash):
        await dispatcher(db, crashing).run_once()
    [alert_ts] = [ts for ts, body in slack.posted.items() if not body.get("thread_ts")]
    [reply] = slack.replies(alert_ts)
    assert slack.updates == [] and statuses(db)[1][:2] == (update, "sending")

    await dispatcher(db, sender_for(slack)).run_once()  # the restarted bot

    assert slack.replies(alert_ts) == [reply]  # found by its key in the thread: not posted again
    assert parent_line(slack.posted[alert_ts]) == "Also reported by Reuters"
    reply_ts = next(ts for ts, body in slack.posted.items() if body is reply)
    assert statuses(db)[1] == (update, "sent", reply_ts)


async def test_an_edit_refused_for_now_is_redone_by_the_next_round(db, slack: FakeSlackAPI) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    alert = queue(db, 1, created_at=now - 2)
    update = queue(db, 2, created_at=now - 1, kind="update", parent_id=alert, source="Reuters")
    slack.fail_next("chat.update", status=503, times=3)  # every try of the first edit fails

    clock = TestClock(time.time())
    rounds = Dispatcher(db, {"slack": sender_for(slack)}, clock=clock, pace={})
    await rounds.run_once()  # the alert, the reply, and an edit that does not go through
    assert statuses(db)[1][:2] == (update, "sending")  # claimed until recovery settles it
    clock.advance(3600)  # past the backoff of a send whose outcome is unknown
    await rounds.run_once()

    [alert_ts] = [ts for ts, body in slack.posted.items() if not body.get("thread_ts")]
    assert len(slack.replies(alert_ts)) == 1
    assert parent_line(slack.posted[alert_ts]) == "Also reported by Reuters"
    assert statuses(db)[1][1] == "sent"


async def test_an_older_update_waiting_on_a_retry_goes_before_a_newer_one(db, slack: FakeSlackAPI) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    alert = queue(db, 1, created_at=now - 3)
    older = queue(db, 2, created_at=now - 2, kind="update", parent_id=alert, source="Reuters")
    queue(db, 3, created_at=now - 1, kind="update", parent_id=alert, source="Bloomberg")
    # the older one failed earlier and waits for its retry; the newer one is due now
    db.execute("UPDATE deliveries SET next_attempt_at = ? WHERE id = ?", [now + 60, older])
    clock = TestClock(now)
    rounds = Dispatcher(db, {"slack": sender_for(slack)}, clock=clock, pace={})

    await rounds.run_once()
    assert len(slack.posted) == 1 and slack.updates == []  # the alert only: the newer update waits
    clock.advance(61)
    await rounds.run_once()

    assert [parent_line(edit) for edit in slack.updates] == [
        "Also reported by Reuters",
        "Also reported by Reuters and Bloomberg",
    ]
