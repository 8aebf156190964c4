-- Activity capture (the stats listeners) and the Discord mirrors the reports join against.
--
-- Event tables are keyed by ids the bot generates (uuid) or Discord assigns (snowflakes), so the storage
-- writer can retry a batch after an ambiguous failure without inserting anything twice. No foreign keys
-- from events to the mirrors: events arrive before (or without) the mirror rows, and a missing parent must
-- not make a whole batch fail. Attachments do reference their message: the writer stores both together.

CREATE TABLE guilds (
    guild_id    bigint PRIMARY KEY,
    name        text        NOT NULL,
    owner_id    bigint,
    joined_at   timestamptz,
    left_at     timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    user_id     bigint PRIMARY KEY,
    username    text        NOT NULL,
    global_name text,
    is_bot      boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Channels, categories and threads (kind is Discord's channel type; parent_id is the category for a
-- channel and the parent channel for a thread).
CREATE TABLE channels (
    channel_id  bigint PRIMARY KEY,
    guild_id    bigint      NOT NULL,
    name        text        NOT NULL,
    kind        smallint    NOT NULL,
    parent_id   bigint,
    position    integer,
    is_nsfw     boolean     NOT NULL DEFAULT false,
    deleted     boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_guild_idx ON channels (guild_id);
CREATE INDEX channels_parent_idx ON channels (parent_id);

CREATE TABLE roles (
    role_id     bigint PRIMARY KEY,
    guild_id    bigint      NOT NULL,
    name        text        NOT NULL,
    color       integer     NOT NULL DEFAULT 0,
    position    integer     NOT NULL DEFAULT 0,
    permissions bigint      NOT NULL DEFAULT 0,
    hoisted     boolean     NOT NULL DEFAULT false,
    managed     boolean     NOT NULL DEFAULT false,
    deleted     boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX roles_guild_idx ON roles (guild_id);

CREATE TABLE messages (
    message_id       bigint PRIMARY KEY,
    guild_id         bigint,
    channel_id       bigint      NOT NULL,
    author_id        bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    content          text        NOT NULL DEFAULT '',
    is_bot           boolean     NOT NULL DEFAULT false,
    reference_id     bigint,
    attachment_count smallint    NOT NULL DEFAULT 0,
    embed_count      smallint    NOT NULL DEFAULT 0,
    mention_count    smallint    NOT NULL DEFAULT 0,
    edited_at        timestamptz,
    deleted_at       timestamptz
);
CREATE INDEX messages_guild_created_idx ON messages (guild_id, created_at);
CREATE INDEX messages_channel_created_idx ON messages (channel_id, created_at);
CREATE INDEX messages_author_created_idx ON messages (author_id, created_at);

CREATE TABLE attachments (
    attachment_id bigint PRIMARY KEY,
    message_id    bigint NOT NULL REFERENCES messages (message_id) ON DELETE CASCADE,
    filename      text   NOT NULL,
    content_type  text,
    size_bytes    integer NOT NULL DEFAULT 0,
    url           text
);
CREATE INDEX attachments_message_idx ON attachments (message_id);

CREATE TABLE message_edits (
    event_id    uuid PRIMARY KEY,
    message_id  bigint      NOT NULL,
    guild_id    bigint,
    channel_id  bigint      NOT NULL,
    edited_at   timestamptz NOT NULL,
    content     text        NOT NULL
);
CREATE INDEX message_edits_message_idx ON message_edits (message_id);
CREATE INDEX message_edits_edited_idx ON message_edits (edited_at);

CREATE TABLE reactions (
    event_id    uuid PRIMARY KEY,
    message_id  bigint      NOT NULL,
    guild_id    bigint,
    channel_id  bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    emoji_id    bigint,
    emoji_name  text,
    added       boolean     NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX reactions_guild_created_idx ON reactions (guild_id, created_at);
CREATE INDEX reactions_message_idx ON reactions (message_id);

CREATE TABLE member_events (
    event_id    uuid PRIMARY KEY,
    guild_id    bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('join', 'leave')),
    created_at  timestamptz NOT NULL
);
CREATE INDEX member_events_guild_created_idx ON member_events (guild_id, created_at);
CREATE INDEX member_events_user_idx ON member_events (user_id);

CREATE TABLE role_changes (
    event_id    uuid PRIMARY KEY,
    guild_id    bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    role_id     bigint      NOT NULL,
    added       boolean     NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX role_changes_guild_created_idx ON role_changes (guild_id, created_at);
CREATE INDEX role_changes_user_idx ON role_changes (user_id);

CREATE TABLE voice_events (
    event_id            uuid PRIMARY KEY,
    guild_id            bigint      NOT NULL,
    user_id             bigint      NOT NULL,
    channel_id          bigint,
    previous_channel_id bigint,
    kind                text        NOT NULL CHECK (kind IN ('join', 'leave', 'move')),
    created_at          timestamptz NOT NULL
);
CREATE INDEX voice_events_guild_created_idx ON voice_events (guild_id, created_at);
CREATE INDEX voice_events_user_idx ON voice_events (user_id);
