-- Community content: links/tags, quotes, Patreon polls, creator links, gallery, reports, passwords.
--
-- Fixes from the original schema: link titles are unique per guild (case-insensitively), not globally;
-- quotes carry a stable per-guild number that never shifts when another quote is deleted; search uses
-- generated tsvector columns with GIN indexes (the original poll_option.tokens was never filled).

-- Per-guild counters for user-facing numbers (quote #12 stays #12 forever).
CREATE TABLE guild_counters (
    guild_id bigint  NOT NULL,
    name     text    NOT NULL,
    value    bigint  NOT NULL,
    PRIMARY KEY (guild_id, name)
);

CREATE TABLE links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id    bigint      NOT NULL,
    title       text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    content     text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 2000),
    tag         text        CHECK (tag IS NULL OR char_length(tag) BETWEEN 1 AND 50),
    embed       boolean     NOT NULL DEFAULT true,
    added_by    bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
        to_tsvector('english', title || ' ' || coalesce(tag, '') || ' ' || content)
    ) STORED
);
CREATE UNIQUE INDEX links_guild_title_key ON links (guild_id, lower(title));
CREATE INDEX links_guild_tag_idx ON links (guild_id, lower(tag)) WHERE tag IS NOT NULL;
CREATE INDEX links_search_idx ON links USING gin (search);

CREATE TABLE quotes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id     bigint      NOT NULL,
    number       integer     NOT NULL,
    content      text        NOT NULL CHECK (char_length(content) BETWEEN 1 AND 2000),
    author_id    bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    search       tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    UNIQUE (guild_id, number)
);
CREATE INDEX quotes_search_idx ON quotes USING gin (search);
CREATE INDEX quotes_author_idx ON quotes (author_id);

CREATE TABLE polls (
    poll_id      bigint PRIMARY KEY,                     -- Patreon's id
    number       integer GENERATED ALWAYS AS IDENTITY UNIQUE, -- the user-facing index
    title        text        NOT NULL,
    api_url      text,
    poll_url     text,
    start_date   timestamptz NOT NULL,
    expire_date  timestamptz,
    total_votes  integer     NOT NULL DEFAULT 0,
    expired      boolean     NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX polls_start_date_idx ON polls (start_date);
CREATE INDEX polls_active_idx ON polls (expire_date) WHERE NOT expired;

CREATE TABLE poll_options (
    option_id    bigint PRIMARY KEY,
    poll_id      bigint  NOT NULL REFERENCES polls (poll_id) ON DELETE CASCADE,
    option_text  text    NOT NULL,
    num_votes    integer NOT NULL DEFAULT 0,
    search       tsvector GENERATED ALWAYS AS (to_tsvector('english', option_text)) STORED
);
CREATE INDEX poll_options_poll_idx ON poll_options (poll_id);
CREATE INDEX poll_options_search_idx ON poll_options USING gin (search);

CREATE TABLE creator_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint      NOT NULL,
    title       text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    link        text        NOT NULL,
    nsfw        boolean     NOT NULL DEFAULT false,
    weight      integer     NOT NULL DEFAULT 0 CHECK (weight BETWEEN -1000 AND 1000),
    feature     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX creator_links_user_title_key ON creator_links (user_id, lower(title));

CREATE TABLE gallery_migration (
    message_id          bigint PRIMARY KEY,
    guild_id            bigint      NOT NULL,
    channel_id          bigint      NOT NULL,
    author_id           bigint,
    title               text,
    creator             text,
    images              jsonb       NOT NULL DEFAULT '[]',
    tags                text[]      NOT NULL DEFAULT '{}',
    jump_url            text,
    content_type        text,
    is_bot              boolean     NOT NULL DEFAULT false,
    migrated            boolean     NOT NULL DEFAULT false,
    target_forum_id     bigint,
    needs_manual_review boolean     NOT NULL DEFAULT false,
    reviewed            boolean     NOT NULL DEFAULT false,
    reviewed_by         bigint,
    raw_content         text,
    raw_embeds          jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gallery_migration_review_idx ON gallery_migration (guild_id, created_at)
    WHERE needs_manual_review AND NOT reviewed;

CREATE TABLE reports (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id          bigint      NOT NULL,
    channel_id        bigint      NOT NULL,
    message_id        bigint      NOT NULL,
    reporter_id       bigint      NOT NULL,
    reported_user_id  bigint      NOT NULL,
    reason            text        NOT NULL
        CHECK (reason IN ('spam', 'nsfw', 'harassment', 'other', 'wrong_channel', 'spoiler')),
    anonymous         boolean     NOT NULL DEFAULT false,
    details           text        CHECK (details IS NULL OR char_length(details) <= 2000),
    created_at        timestamptz NOT NULL DEFAULT now(),
    handled_at        timestamptz,
    handled_by        bigint,
    UNIQUE (message_id, reporter_id)
);
CREATE INDEX reports_open_idx ON reports (guild_id, created_at) WHERE handled_at IS NULL;

CREATE TABLE password_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id    bigint      NOT NULL,
    password    text        NOT NULL CHECK (char_length(password) BETWEEN 3 AND 100),
    link        text        NOT NULL CHECK (char_length(link) <= 500),
    added_by    bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_links_latest_idx ON password_links (guild_id, created_at DESC);

CREATE TABLE invisible_texts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chapter_title text        NOT NULL,
    chapter_url   text,
    content       text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invisible_texts_chapter_idx ON invisible_texts (lower(chapter_title));

-- Self-assignable roles: configuration lives here, independent of the stats mirror of Discord's roles
-- (the original required a mirror row to exist first).
CREATE TABLE self_assignable_roles (
    role_id           bigint PRIMARY KEY,
    guild_id          bigint   NOT NULL,
    category          text     NOT NULL DEFAULT 'Uncategorized',
    weight            integer  NOT NULL DEFAULT 0,
    alias             text,
    required_role_ids bigint[] NOT NULL DEFAULT '{}',
    auto_replace      boolean  NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX self_assignable_roles_guild_idx ON self_assignable_roles (guild_id, category, weight DESC);
