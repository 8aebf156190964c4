"""Polls, community repositories, privacy export/deletion, activity reads and retention cleanup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import Database
from storage.errors import AlreadyExists
from storage.maintenance import cleanup, database_status
from storage.repositories import (
    CreatorLinkRepository,
    PasswordRepository,
    PollRepository,
    PrivacyRepository,
    QuoteRepository,
    ReportRepository,
    SelfAssignableRoleRepository,
)
from storage.repositories.activity import (
    ActivityStatsRepository,
    ActivityWriteModel,
    AttachmentRecord,
    ChannelRecord,
    MemberEventRecord,
    MessageRecord,
    ReactionRecord,
    UserRecord,
)
from storage.repositories.commands import CommandInvocation
from storage.repositories.polls import PollOption

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_polls_upsert_numbering_and_option_search(db: Database) -> None:
    polls = PollRepository(db)
    first = await polls.upsert(
        111,
        "What should the side story be?",
        NOW - timedelta(days=40),
        expire_date=NOW - timedelta(days=30),
        options=[PollOption(1, "Goblin chieftains"), PollOption(2, "Antinium hive")],
    )
    second = await polls.upsert(
        222, "Next interlude?", NOW - timedelta(days=2), expire_date=NOW + timedelta(days=5)
    )
    refreshed = await polls.upsert(
        111,
        "What should the side story be?",
        NOW - timedelta(days=40),
        expire_date=NOW - timedelta(days=30),
        total_votes=900,
        expired=True,
        options=[PollOption(1, "Goblin chieftains", 600), PollOption(2, "Antinium hive", 300)],
    )
    assert (first.number, second.number, refreshed.number) == (1, 2, 1)
    assert refreshed.total_votes == 900
    assert [o.num_votes for o in await polls.options(111)] == [600, 300]
    matches = await polls.find_options("goblin")
    assert [(m.poll_number, m.option_text) for m in matches] == [(1, "Goblin chieftains")]
    latest = await polls.latest()
    assert latest is not None and latest.poll_id == 222
    assert [p.poll_id for p in await polls.overdue(NOW + timedelta(days=6))] == [222]
    assert [p.poll_id for p in await polls.in_year(2026)] == [111, 222]
    got = await polls.get(2)
    assert got is not None and got.title == "Next interlude?"


async def test_creator_links_reports_password_and_roles(db: Database) -> None:
    creators = CreatorLinkRepository(db)
    await creators.add(5, "Art", "https://art.example", weight=10)
    await creators.add(5, "Spicy", "https://nsfw.example", nsfw=True)
    with pytest.raises(AlreadyExists):
        await creators.add(5, "art", "https://dup.example")
    assert [c.title for c in await creators.for_user(5, include_nsfw=False)] == ["Art"]
    assert [c.title for c in await creators.for_user(5, include_nsfw=True)] == ["Art", "Spicy"]
    edited = await creators.edit(5, "ART", link="https://new.example", nsfw=False, weight=1, feature=False)
    assert edited is not None and edited.link == "https://new.example"
    assert await creators.edit(6, "Art", link="x", nsfw=False, weight=0, feature=True) is None  # not theirs
    assert await creators.remove(5, "spicy") is True

    reports = ReportRepository(db)
    report = await reports.create(
        guild_id=1, channel_id=2, message_id=3, reporter_id=4, reported_user_id=5, reason="spam"
    )
    with pytest.raises(AlreadyExists):
        await reports.create(
            guild_id=1, channel_id=2, message_id=3, reporter_id=4, reported_user_id=5, reason="nsfw"
        )
    with pytest.raises(ValueError, match="unknown report reason"):
        await reports.create(
            guild_id=1, channel_id=2, message_id=9, reporter_id=4, reported_user_id=5, reason="boring"
        )
    assert [r.id for r in await reports.open_reports(1)] == [report.id]
    assert await reports.mark_handled(report.id, 99) is True
    assert await reports.open_reports(1) == []

    passwords = PasswordRepository(db)
    assert await passwords.latest(1) is None
    await passwords.set(1, "first", "https://patreon.example/1", added_by=9)
    await passwords.set(1, "second", "https://patreon.example/2", added_by=9)
    latest = await passwords.latest(1)
    assert latest is not None and latest.password == "second"

    roles = SelfAssignableRoleRepository(db)
    await roles.upsert(1, 501, category="Colours", weight=5)
    await roles.upsert(1, 502, category="Colours", weight=9, required_role_ids=[700])
    assert [r.role_id for r in await roles.in_guild(1)] == [502, 501]
    assert [r.role_id for r in await roles.available_to(1, [])] == [501]
    assert [r.role_id for r in await roles.available_to(1, [700])] == [502, 501]
    assert await roles.set_weight(501, 20) is True
    assert await roles.remove(502) is True


async def _seed_activity(db: Database) -> None:
    await ActivityWriteModel(db).write(
        [
            UserRecord(7, "erin"),
            UserRecord(8, "lyonette"),
            ChannelRecord(50, 1, "Inn", 4),
            ChannelRecord(51, 1, "general", 0, parent_id=50),
            MessageRecord(
                1, 51, 7, NOW, guild_id=1, content="hello", attachments=(AttachmentRecord(9, "a.png"),)
            ),
            MessageRecord(2, 51, 7, NOW + timedelta(minutes=1), guild_id=1, content="again"),
            MessageRecord(3, 51, 8, NOW - timedelta(days=400), guild_id=1, content="ancient"),
            ReactionRecord(1, 51, 8, True, NOW, guild_id=1, emoji_name="x"),
            MemberEventRecord(1, 7, "join", NOW),
            MemberEventRecord(1, 9, "leave", NOW),
            CommandInvocation("ping", 7, NOW - timedelta(days=200), "ok", guild_id=1),
        ]
    )


async def test_activity_reads_for_reports_and_stats(db: Database) -> None:
    await _seed_activity(db)
    stats = ActivityStatsRepository(db)
    day = (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    counts = await stats.messages_by_channel(1, *day)
    assert [(c.channel_id, c.name, c.parent_name, c.messages) for c in counts] == [(51, "general", "Inn", 2)]
    flow = await stats.member_flow(1, *day)
    assert (flow.joins, flow.leaves) == (1, 1)
    assert await stats.channel_message_count(51, NOW - timedelta(hours=1)) == 2
    activity = await stats.user_activity(1, 7, NOW - timedelta(days=1))
    assert (activity.messages, activity.attachments, activity.reactions_given) == (2, 1, 0)
    top = await stats.top_users(1, NOW - timedelta(days=1000))
    assert [(t.name, t.messages) for t in top] == [("erin", 2), ("lyonette", 1)]


async def test_retention_cleanup(db: Database) -> None:
    await _seed_activity(db)
    now = NOW + timedelta(days=1)
    retention = {"message_stats": 365, "command_history": 90}
    dry = await cleanup(db, retention, dry_run=True, now=now)
    assert {(r.table, r.rows) for r in dry if r.rows} == {("messages", 1), ("command_history", 1)}
    assert await db.fetchval("SELECT count(*) FROM messages") == 3
    done = await cleanup(db, retention, now=now, chunk_rows=1)
    assert sum(r.rows for r in done) == 2
    assert await db.fetchval("SELECT count(*) FROM messages") == 2
    assert await db.fetchval("SELECT count(*) FROM command_history") == 0
    with pytest.raises(ValueError, match="unknown retention group"):
        await cleanup(db, {"everything": 1})


async def test_privacy_export_and_delete(db: Database) -> None:
    await _seed_activity(db)
    await QuoteRepository(db).add(1, "Erin said something memorable.", author_id=7)
    privacy = PrivacyRepository(db)
    export = await privacy.export_user(7)
    assert len(export["messages"]) == 2
    assert export["users"][0]["username"] == "erin"
    assert len(export["quotes"]) == 1 and "search" not in export["quotes"][0]
    deleted = await privacy.delete_user(7)
    assert deleted["messages"] == 2 and deleted["users"] == 1
    assert "quotes" not in deleted  # community content kept by default
    assert await db.fetchval("SELECT count(*) FROM messages WHERE author_id = 7") == 0
    assert await db.fetchval("SELECT count(*) FROM attachments") == 0  # cascaded with the message
    assert await db.fetchval("SELECT count(*) FROM messages") == 1  # other users untouched


async def test_database_status(db: Database) -> None:
    status = await database_status(db)
    assert status.server_version.startswith("18")
    assert status.database.startswith("test_")
    assert status.size_bytes > 0
    assert status.migrations.pending == []
    assert len(status.migrations.applied) == 3
    assert any(t.table == "messages" for t in status.largest_tables) or len(status.largest_tables) == 8


async def test_gallery_migration_invisible_text_and_preferences(db: Database) -> None:
    from storage.repositories import (
        GalleryMigrationRepository,
        InvisibleTextRepository,
        UserPreferencesRepository,
    )

    gallery = GalleryMigrationRepository(db)
    await gallery.upsert(
        message_id=1, guild_id=9, channel_id=2, title="Art", images=["a.png"], needs_manual_review=True
    )
    await gallery.upsert(message_id=2, guild_id=9, channel_id=2, title="Bot post", is_bot=True)
    await gallery.upsert(
        message_id=1, guild_id=9, channel_id=2, title="Art (rescan)", images=["a.png", "b.png"]
    )
    [entry] = await gallery.needing_review(9)
    assert (entry.title, entry.images, entry.needs_manual_review) == (
        "Art (rescan)",
        ["a.png", "b.png"],
        True,
    )
    assert await gallery.set_tags(1, ["fanart", "erin"]) is True
    assert await gallery.mark_reviewed(1, 77) is True
    assert await gallery.needing_review(9) == []
    stats = await gallery.stats(9)
    assert (stats.total, stats.needs_review, stats.bot_posts) == (2, 0, 1)

    texts = InvisibleTextRepository(db)
    await texts.add("1.00", "hidden words", chapter_url="https://wanderinginn.com/1.00")
    await texts.add("1.00", "more hidden words")
    await texts.add("Interlude (Goblins)", "x")
    assert [(c.chapter_title, c.texts) for c in await texts.chapters()] == [
        ("1.00", 2),
        ("Interlude (Goblins)", 1),
    ]
    assert len(await texts.for_chapter("interlude (goblins)")) == 1  # parentheses are not a pattern here

    preferences = UserPreferencesRepository(db)
    assert await preferences.get(5) == {}
    assert await preferences.update(5, {"quote_dm": False, "tz": "UTC"}) == {"quote_dm": False, "tz": "UTC"}
    assert await preferences.update(5, {"tz": None, "lang": "en"}) == {"quote_dm": False, "lang": "en"}
    await preferences.clear(5)
    assert await preferences.get(5) == {}
