-- What users who are not members have seen of public rooms, for the room list's "new
-- activity": one row per user and room they looked at (or left), never one per message.
CREATE TABLE room_views (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    seen_seq INTEGER NOT NULL,                      -- the room's last_seq when they looked
    PRIMARY KEY (user_id, room_id)
);

-- Who has a user as a contact: they are told when that user comes online or goes offline.
CREATE INDEX contacts_contact ON contacts (contact_id);
