"""A story muted in a channel gets no more thread updates there; other channels still get theirs."""

from __future__ import annotations

import time

from bot.deliver.dispatch import Dispatcher
from bot.store.feedback import alert_target, mute_story
from tests.conftest import TestClock
from tests.deliver.test_dispatch import RecordingSender, queue, statuses


async def test_updates_of_a_muted_story_are_skipped_in_that_channel_only(db):  # type: ignore[no-untyped-def]
    clock = TestClock(time.time())
    sender = RecordingSender()
    muted_alert = queue(db, 1, created_at=clock.now - 5, channel="C1")
    other_alert = queue(db, 2, created_at=clock.now - 5, channel="C2")
    dispatcher = Dispatcher(db, {"slack": sender}, clock=clock, pace={})
    await dispatcher.run_once()
    target = alert_target(db, muted_alert)
    assert target is not None
    assert mute_story(db, target, user_id="U0READER", at=clock.now)
    update_muted = queue(
        db, 3, created_at=clock.now - 1, kind="update", parent_id=muted_alert, source="Reuters"
    )
    update_other = queue(db, 4, created_at=clock.now - 1, channel="C2", kind="update", parent_id=other_alert)
    await dispatcher.run_once()
    assert sender.sent[2:] == [("update", "ts-2: ['Wire']")]
    rows = {row[0]: row for row in statuses(db)}
    assert rows[update_muted][1:] == ("sent", "skipped: story muted")
    assert rows[update_other][1] == "sent"
