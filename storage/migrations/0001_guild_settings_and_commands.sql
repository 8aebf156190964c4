-- Per-guild configuration and the command system's tables.
--
-- guild_settings replaces every id the original bot hard-coded (admin role, bot channel, password channels,
-- report channel, verified role, special announcement roles, ...) and its ORM-only server_settings table
-- that had no DDL. One row per guild; columns are nullable/empty when a feature is not configured there.

CREATE TABLE guild_settings (
    guild_id                        bigint PRIMARY KEY,
    admin_role_id                   bigint,
    mod_role_id                     bigint,
    bot_channel_ids                 bigint[] NOT NULL DEFAULT '{}',
    password_channel_ids            bigint[] NOT NULL DEFAULT '{}',
    pin_channel_ids                 bigint[] NOT NULL DEFAULT '{}',
    repost_channel_ids              bigint[] NOT NULL DEFAULT '{}',
    mod_log_channel_id              bigint,
    audit_log_channel_id            bigint,
    stats_report_channel_id         bigint,
    announcement_channel_id         bigint,
    special_role_ids                bigint[] NOT NULL DEFAULT '{}',
    verified_role_id                bigint,
    verified_min_account_age_hours  integer  NOT NULL DEFAULT 72 CHECK (verified_min_account_age_hours >= 0),
    thread_ping_role_id             bigint,
    thread_ping_excluded_parent_ids bigint[] NOT NULL DEFAULT '{}',
    link_watch_enabled              boolean  NOT NULL DEFAULT false,
    stats_enabled                   boolean  NOT NULL DEFAULT true,
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now()
);

-- Every user-facing error carries a short id that is logged and stored here.
CREATE TABLE command_errors (
    error_id    text PRIMARY KEY,
    command     text        NOT NULL,
    user_id     bigint,
    guild_id    bigint,
    channel_id  bigint,
    error_type  text        NOT NULL,
    message     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX command_errors_created_at_idx ON command_errors (created_at);
CREATE INDEX command_errors_type_idx ON command_errors (error_type, created_at);

-- Privileged actions (settings changes, moderation, permission denials).
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id    bigint,
    actor_id    bigint      NOT NULL,
    action      text        NOT NULL,
    target      text,
    details     jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_guild_created_idx ON audit_log (guild_id, created_at DESC);
CREATE INDEX audit_log_actor_created_idx ON audit_log (actor_id, created_at DESC);
CREATE INDEX audit_log_created_idx ON audit_log (created_at);

-- One row per finished command invocation (written in batches by the storage writer); the id is generated
-- by the bot so a retried batch cannot insert a row twice.
CREATE TABLE command_history (
    invocation_id uuid PRIMARY KEY,
    command       text        NOT NULL,
    guild_id      bigint,
    channel_id    bigint,
    user_id       bigint      NOT NULL,
    options       jsonb       NOT NULL DEFAULT '{}',
    started_at    timestamptz NOT NULL,
    duration_ms   double precision,
    outcome       text        NOT NULL,
    error_id      text
);
CREATE INDEX command_history_started_idx ON command_history (started_at);
CREATE INDEX command_history_command_idx ON command_history (command, started_at);
CREATE INDEX command_history_user_idx ON command_history (user_id, started_at);
CREATE INDEX command_history_guild_idx ON command_history (guild_id, started_at);

-- Per-guild overrides of a command: disabled, or another cooldown than its default.
CREATE TABLE command_settings (
    guild_id         bigint  NOT NULL,
    command          text    NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    cooldown_seconds double precision CHECK (cooldown_seconds IS NULL OR cooldown_seconds >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, command)
);

CREATE TABLE user_preferences (
    user_id     bigint PRIMARY KEY,
    preferences jsonb       NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
