//! What the user sees of the connection's events: messages, edits, reactions, people coming
//! and going, typing, presence, and the connection's own state.

use std::time::Duration;

use jeco_client::proto::event::{Event, LeaveReason};
use jeco_client::proto::model::RoomKind;
use jeco_client::{ClientEvent, ConnectionState};
use tokio::time::Instant;

use super::{Chat, Flow, describe};
use crate::render::{clean, err, out};

impl Chat {
    /// Handles one event of the connection.
    pub(crate) async fn on_event(&mut self, event: ClientEvent) -> Flow {
        match event {
            ClientEvent::State(ConnectionState::Connected { .. }) => {
                if self.connected_before {
                    out("* reconnected");
                } else {
                    out(&format!("* connected as {}", clean(&self.me.username)));
                    self.connected_before = true;
                }
                self.refresh_presence().await;
            }
            ClientEvent::State(ConnectionState::Reconnecting { reason }) => {
                out(&format!(
                    "* connection lost ({}); reconnecting…",
                    clean(&reason)
                ));
            }
            ClientEvent::Event(event) => self.on_server_event(event).await,
            ClientEvent::Sent { client_id, message } => {
                self.sending.remove(&client_id);
                self.show(&message).await;
            }
            ClientEvent::SendFailed {
                client_id,
                room_id,
                error,
            } => {
                let mut text = self.sending.remove(&client_id).unwrap_or_default();
                if let Some((cut, _)) = text.char_indices().nth(40) {
                    text.truncate(cut);
                    text.push('…');
                }
                err(&format!(
                    "! not sent to [{}]: {} ({})",
                    clean(&self.label(room_id)),
                    clean(&text),
                    describe(&error)
                ));
            }
            ClientEvent::Resync { room_id, .. } => out(&format!(
                "* [{}] earlier messages were missed while away; /history shows them",
                clean(&self.label(room_id))
            )),
            ClientEvent::State(ConnectionState::Stopped { reason }) => {
                out(&format!("* disconnected: {}", clean(&reason)));
                return Flow::Quit;
            }
            _ => {}
        }
        Flow::Continue
    }

    async fn on_server_event(&mut self, event: Event) {
        match event {
            Event::MessageCreated { message, .. } => {
                self.typing.remove(&(message.room_id, message.sender.id));
                self.show(&message).await;
            }
            Event::MessageEdited {
                room_id, message, ..
            } => {
                self.names
                    .insert(message.sender.id, message.sender.username.clone());
                out(&format!(
                    "* [{}] {} edited a message: {}",
                    clean(&self.label(room_id)),
                    clean(&message.sender.username),
                    clean(&message.body)
                ));
            }
            Event::MessageDeleted { room_id, by, .. } => {
                let by = self.name(by).await;
                out(&format!(
                    "* [{}] {} deleted a message",
                    clean(&self.label(room_id)),
                    clean(&by)
                ));
            }
            Event::ReactionAdded {
                room_id,
                user_id,
                emoji,
                ..
            } if user_id != self.me.id => {
                let who = self.name(user_id).await;
                out(&format!(
                    "* [{}] {} reacted {}",
                    clean(&self.label(room_id)),
                    clean(&who),
                    clean(&emoji)
                ));
            }
            Event::MemberJoined { room_id, user, .. } => {
                self.names.insert(user.id, user.username.clone());
                self.ensure_room(room_id).await;
                // Both people join a direct room as it is opened: nothing worth saying.
                let direct = self.rooms.get(&room_id).map(|r| r.kind) == Some(RoomKind::Direct);
                if user.id != self.me.id && !direct {
                    out(&format!(
                        "* [{}] {} joined",
                        clean(&self.label(room_id)),
                        clean(&user.username)
                    ));
                }
            }
            Event::MemberLeft {
                room_id,
                user_id,
                reason,
                ..
            } if user_id != self.me.id => {
                let who = self.name(user_id).await;
                let how = match reason {
                    LeaveReason::Kicked => "was removed",
                    LeaveReason::Left => "left",
                };
                out(&format!(
                    "* [{}] {} {how}",
                    clean(&self.label(room_id)),
                    clean(&who)
                ));
            }
            Event::Typing {
                room_id,
                user_id,
                active,
                expires_in_ms,
            } if user_id != self.me.id => {
                let key = (room_id, user_id);
                if !active {
                    self.typing.remove(&key);
                    return;
                }
                let now = Instant::now();
                let until = now + Duration::from_millis(expires_in_ms);
                let was_typing = self.typing.get(&key).is_some_and(|t| *t > now);
                self.typing.insert(key, until);
                if !was_typing {
                    let who = self.name(user_id).await;
                    out(&format!(
                        "* [{}] {} is typing…",
                        clean(&self.label(room_id)),
                        clean(&who)
                    ));
                }
            }
            Event::Presence {
                user_id, online, ..
            } if user_id != self.me.id => {
                // Every user's presence reaches every connection; only people the user
                // shares a room with are worth a line.
                let Some(who) = self.names.get(&user_id).cloned() else {
                    return;
                };
                if self.online.insert(user_id, online) != Some(online) {
                    out(&format!(
                        "* {} is {}",
                        clean(&who),
                        if online { "online" } else { "offline" }
                    ));
                }
            }
            Event::Membership {
                room_id, joined, ..
            } => {
                if joined {
                    if !self.rooms.contains_key(&room_id) {
                        self.ensure_room(room_id).await;
                        if let Ok(members) = self.client.members(room_id).await {
                            for m in members {
                                self.names.insert(m.user.id, m.user.username);
                            }
                        }
                        let what = match self.rooms.get(&room_id).map(|r| r.kind) {
                            Some(RoomKind::Direct) => "a direct conversation started",
                            _ => "you were added",
                        };
                        out(&format!(
                            "* [{}] {what}; /switch {} to talk there",
                            clean(&self.label(room_id)),
                            clean(&self.label(room_id))
                        ));
                    }
                } else if let Some(room) = self.rooms.remove(&room_id) {
                    if self.current == Some(room_id) {
                        self.current = None;
                    }
                    out(&format!("* you are no longer in [{}]", clean(&room.label)));
                }
            }
            Event::SignedOut { reason } => {
                out(&format!(
                    "* every login of this account was signed out ({})",
                    clean(&reason)
                ));
            }
            _ => {}
        }
    }
}
