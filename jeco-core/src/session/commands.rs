//! What each command of a session does, and `resume`.

use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};

use super::Session;
use super::frame::event_frame;
use crate::error::{Error, ErrorCode, Result};
use crate::event::Event;
use crate::ids::Seq;
use crate::service::SendMessage;

impl Session {
    /// Carries out `command` for the session's user; the reply, or why it failed.
    pub(super) async fn run(&mut self, command: ClientFrame) -> Result<ServerFrame> {
        let user = self.user;
        Ok(match command {
            ClientFrame::Auth { .. } => {
                return Err(Error::invalid(
                    ErrorCode::AlreadyAuthenticated,
                    "type",
                    "this connection is already authenticated",
                ));
            }
            ClientFrame::Send {
                id,
                room_id,
                client_id,
                body,
                reply_to,
                attachments,
            } => {
                let msg = SendMessage {
                    client_id,
                    body,
                    reply_to,
                    attachments,
                };
                let message = self.engine.messages().send(user, room_id, msg).await?;
                if self.typing.remove(&room_id)
                    && let Err(e) = self.engine.presence().typing(user, room_id, false).await
                {
                    // The message is sent; the indication lapses by itself.
                    tracing::warn!(error = %e, "could not end typing after a send");
                }
                ServerFrame::Ack {
                    id,
                    message: Some(Box::new(message)),
                    seq: None,
                    added: None,
                }
            }
            ClientFrame::Edit {
                id,
                message_id,
                body,
            } => {
                let message = self.engine.messages().edit(user, message_id, &body).await?;
                ServerFrame::Ack {
                    id,
                    message: Some(Box::new(message)),
                    seq: None,
                    added: None,
                }
            }
            ClientFrame::Delete { id, message_id } => {
                self.engine.messages().delete(user, message_id).await?;
                empty_ack(id)
            }
            ClientFrame::React {
                id,
                message_id,
                emoji,
                add,
            } => {
                let messages = self.engine.messages();
                let added = match add {
                    Some(present) => {
                        messages
                            .set_reaction(user, message_id, &emoji, present)
                            .await?
                    }
                    None => messages.react(user, message_id, &emoji).await?,
                };
                ServerFrame::Ack {
                    id,
                    message: None,
                    seq: None,
                    added: Some(added),
                }
            }
            ClientFrame::Typing {
                id,
                room_id,
                active,
            } => {
                self.engine.presence().typing(user, room_id, active).await?;
                if active {
                    self.typing.insert(room_id);
                } else {
                    self.typing.remove(&room_id);
                }
                empty_ack(id)
            }
            ClientFrame::Read { id, room_id, seq } => {
                let at = self.engine.rooms().mark_read(user, room_id, seq).await?;
                ServerFrame::Ack {
                    id,
                    message: None,
                    seq: Some(at),
                    added: None,
                }
            }
            ClientFrame::Resume {
                id,
                rooms,
                feed_after,
            } => self.resume(id, rooms, feed_after).await?,
            ClientFrame::Ping { id } => ServerFrame::Pong { id },
            _ => {
                return Err(Error::invalid(
                    ErrorCode::InvalidFrame,
                    "type",
                    "this frame type is not supported",
                ));
            }
        })
    }

    async fn resume(
        &mut self,
        id: String,
        rooms: Vec<RoomPosition>,
        feed_after: Option<Seq>,
    ) -> Result<ServerFrame> {
        // Check every position (the feed's too) before replaying anything, so a bad one
        // changes nothing.
        for p in &rooms {
            if !self.positions.contains_key(&p.room_id) {
                return Err(Error::not_found(ErrorCode::RoomNotFound).in_room(p.room_id));
            }
            if p.seq.get() < 0 {
                return Err(Error::invalid(
                    ErrorCode::InvalidSeq,
                    "rooms",
                    "a sequence is never negative",
                ));
            }
        }
        let limit = self.engine.limits().resume_events;
        let mut rooms = rooms;
        for p in &mut rooms {
            let room = self.engine.rooms().get(self.user, p.room_id).await?;
            // A position past the room's end would silence it; the client cannot have seen
            // more than there is.
            p.seq = p.seq.min(room.last_seq);
            if room.last_seq.get() - p.seq.get() > limit {
                return Err(Error::invalid(
                    ErrorCode::TooFarBehind,
                    "rooms",
                    format!(
                        "room {} has more than {limit} changes to replay; reload its history instead",
                        p.room_id
                    ),
                )
                .in_room(p.room_id));
            }
        }
        if let Some(after) = feed_after {
            if after.get() < 0 {
                return Err(Error::invalid(
                    ErrorCode::InvalidSeq,
                    "feed_after",
                    "a sequence is never negative",
                ));
            }
            if self.feed_seq.get() - after.get() > limit {
                return Err(Error::invalid(
                    ErrorCode::TooFarBehind,
                    "feed_after",
                    format!(
                        "more than {limit} feed entries to replay; reload notifications instead"
                    ),
                ));
            }
        }
        for p in rooms {
            self.replay_room(p.room_id, p.seq).await?;
        }
        if let Some(after) = feed_after {
            // Entries up to the connection's own position are history: replayed as they are.
            // Anything newer is handled as if it had arrived live.
            let mut at = after;
            while at < self.feed_seq {
                let page = self
                    .engine
                    .notifications()
                    .feed_after(
                        self.user,
                        at,
                        u32::try_from(self.feed_seq.get() - at.get()).ok(),
                    )
                    .await?
                    .events;
                let Some(last) = page.last().and_then(Event::feed_seq) else {
                    break;
                };
                for event in page {
                    self.queued.push_back(event_frame(event)?);
                }
                at = last;
            }
            self.replay_new_feed().await?;
        }
        Ok(ServerFrame::Resumed {
            id,
            rooms: self.room_positions(),
            feed_seq: self.feed_seq,
        })
    }
}

fn empty_ack(id: String) -> ServerFrame {
    ServerFrame::Ack {
        id,
        message: None,
        seq: None,
        added: None,
    }
}
