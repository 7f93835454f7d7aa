-- Jeco Chat schema, SQLite dialect. Times are Unix milliseconds (INTEGER).
-- Kept in step with ../postgres/0001_initial.sql: same tables, columns and indexes.

-- Accounts. Usernames and emails are stored lower-case, so plain UNIQUE is case-insensitive.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,          -- also serves prefix search
    email         TEXT    NOT NULL UNIQUE,          -- also serves exact-email search
    password_hash TEXT    NOT NULL,                 -- argon2id, PHC string
    display_name  TEXT    NOT NULL DEFAULT '',
    avatar_id     INTEGER,
    bio           TEXT    NOT NULL DEFAULT '',
    feed_seq      INTEGER NOT NULL DEFAULT 0,       -- last sequence of the user's feed
    created_at    INTEGER NOT NULL
);

-- Refresh tokens, by SHA-256 digest. A family is one login's chain of rotations.
CREATE TABLE refresh_tokens (
    digest     TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    family     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,                              -- set when rotated; a second use is theft
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Password-reset tokens, by SHA-256 digest; single use.
CREATE TABLE password_resets (
    digest     TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Conversations. last_seq is the room's change counter: every change takes last_seq + 1
-- in the transaction that makes it, which also locks the row and so orders the room's writes.
CREATE TABLE rooms (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    name         TEXT    UNIQUE,                     -- group rooms; NULL for direct rooms
    dm_key       TEXT    UNIQUE,                     -- direct rooms: "<low id>:<high id>"
    topic        TEXT    NOT NULL DEFAULT '',
    created_by   INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    member_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rooms_kind ON rooms (kind);

-- Members with their read watermark: "read by" and unread counts come from here, never from
-- a row per message per member.
CREATE TABLE room_members (
    room_id       INTEGER NOT NULL REFERENCES rooms (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at     INTEGER NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members (user_id);

-- Messages. (room_id, seq) is the history index; (room_id, sender_id, client_id) makes
-- sends idempotent. Deleted messages stay as tombstones (deleted_at set, body emptied).
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id        INTEGER NOT NULL REFERENCES rooms (id),
    seq            INTEGER NOT NULL,
    sender_id      INTEGER NOT NULL REFERENCES users (id),
    client_id      TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    reply_to       INTEGER,
    forwarded_from INTEGER,
    attachments    TEXT    NOT NULL DEFAULT '[]',   -- JSON array of attachment metadata
    mentions       TEXT    NOT NULL DEFAULT '[]',   -- JSON array of user ids
    created_at     INTEGER NOT NULL,
    edited_at      INTEGER,
    deleted_at     INTEGER,
    UNIQUE (room_id, seq),
    UNIQUE (room_id, sender_id, client_id)
);

-- Reactions carry their message's room and sequence so a history page loads its reactions
-- with one range scan; id keeps the order in which they were made.
CREATE TABLE reactions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- order of reacting
    message_id  INTEGER NOT NULL REFERENCES messages (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    emoji       TEXT    NOT NULL,
    room_id     INTEGER NOT NULL,
    message_seq INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (message_id, user_id, emoji)
);
CREATE INDEX reactions_room_seq ON reactions (room_id, message_seq);

-- Each room's change log, the source of gap-free resume. Rows refer to the current state
-- (messages, reactions) rather than copying it, so a deleted message's text is gone for good.
CREATE TABLE room_events (
    room_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    message_id INTEGER,
    user_id    INTEGER,
    actor_id   INTEGER,
    detail     TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)
);

-- Each user's feed: notifications and their own membership changes, with a per-user sequence.
CREATE TABLE user_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    seq             INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    is_notification BOOLEAN NOT NULL,
    room_id         INTEGER NOT NULL,
    room_seq        INTEGER,                              -- membership entries: the room change
    message_id      INTEGER,
    actor_id        INTEGER,
    detail          TEXT,
    created_at      INTEGER NOT NULL,
    read_at         INTEGER,
    UNIQUE (user_id, seq)
);
CREATE INDEX user_events_notifications ON user_events (user_id, id) WHERE is_notification;
CREATE INDEX user_events_unread ON user_events (user_id) WHERE is_notification AND read_at IS NULL;

CREATE TABLE contacts (
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    contact_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, contact_id)
);

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users (id),
    blocked_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

-- Uploaded files; the bytes live in the blob store under blob_key. Only members of room_id
-- may read one.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id      INTEGER REFERENCES rooms (id),    -- NULL: an avatar, readable by every user
    uploader_id  INTEGER NOT NULL REFERENCES users (id),
    blob_key     TEXT    NOT NULL,                  -- shared by copies made when forwarding
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
