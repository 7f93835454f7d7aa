//! What each command of a session does, and `resume`.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};

use super::Session;
use super::frame::{Frame, error_frame, frame};
use super::replay::CatchUp;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{RoomId, Seq};
use crate::model::Message;
use crate::service::SendMessage;

/// The `ack` of a `send`.
fn sent(id: String, message: Message) -> ServerFrame {
    ServerFrame::Ack {
        id,
        message: Some(Box::new(message)),
        seq: None,
        added: None,
    }
}

impl Session {
    /// Checks a message and queues it for commit (sends queued one after the other commit in
    /// that order); the returned future resolves to the message once it is committed and
    /// published, then ends the user's typing in the room if this connection had started it.
    async fn queue_send(
        &mut self,
        room: RoomId,
        msg: SendMessage,
    ) -> Result<impl Future<Output = Result<Message>> + Send + 'static> {
        let pending = self.engine.messages().submit(self.user, room, msg).await?;
        let typing = self.typing.remove(&room);
        let (engine, user) = (self.engine.clone(), self.user);
        Ok(async move {
            let message = pending.await?;
            if typing && let Err(e) = engine.presence().typing(user, room, false).await {
                // The message is sent; the indication lapses by itself.
                tracing::warn!(error = %e, "could not end typing after a send");
            }
            Ok(message)
        })
    }

    /// A `send` for a connection that pipelines them: queued like [`Session::handle`] would,
    /// but its reply (and whether it succeeded) comes from the returned future once the
    /// message is committed, while the connection goes on. `Err`: the reply now, refused.
    pub(super) async fn submit(
        &mut self,
        id: String,
        room: RoomId,
        msg: SendMessage,
    ) -> std::result::Result<impl Future<Output = (Frame, bool)> + Send + 'static, Frame> {
        match self.queue_send(room, msg).await {
            Ok(pending) => Ok(async move {
                match pending.await {
                    Ok(message) => (frame(&sent(id, message)), true),
                    Err(e) => (error_frame(Some(id), &e), false),
                }
            }),
            Err(e) => Err(error_frame(Some(id), &e)),
        }
    }

    /// Carries out `command` for the session's user; the reply (`None`: it comes later, see
    /// [`Session::handle`]), or why it failed.
    pub(super) async fn run(&mut self, command: ClientFrame) -> Result<Option<ServerFrame>> {
        let user = self.user;
        Ok(Some(match command {
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
                sent(id, self.queue_send(room_id, msg).await?.await?)
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
            } => {
                self.resume(id, rooms, feed_after).await?;
                return Ok(None);
            }
            ClientFrame::Ping { id } => ServerFrame::Pong { id },
            _ => {
                return Err(Error::invalid(
                    ErrorCode::InvalidFrame,
                    "type",
                    "this frame type is not supported",
                ));
            }
        }))
    }

    /// Checks a `resume` and schedules its replay, then its `resumed` reply. Every position
    /// (the feed's too) is checked before anything is scheduled, so a refused resume changes
    /// nothing: one position per room the connection follows, each room at most
    /// `resume_events` behind, and at most `resume_total_events` to replay in all.
    async fn resume(
        &mut self,
        id: String,
        rooms: Vec<RoomPosition>,
        feed_after: Option<Seq>,
    ) -> Result<()> {
        let limits = self.engine.limits();
        let (limit, total_limit) = (limits.resume_events, limits.resume_total_events);
        let mut named = HashSet::with_capacity(rooms.len());
        for p in &rooms {
            if !named.insert(p.room_id) {
                return Err(Error::invalid(
                    ErrorCode::InvalidFrame,
                    "rooms",
                    format!("room {} is listed more than once", p.room_id),
                )
                .in_room(p.room_id));
            }
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
        if let Some(after) = feed_after
            && after.get() < 0
        {
            return Err(Error::invalid(
                ErrorCode::InvalidSeq,
                "feed_after",
                "a sequence is never negative",
            ));
        }
        let ends: HashMap<RoomId, Seq> = if rooms.is_empty() {
            HashMap::new()
        } else {
            self.engine
                .rooms()
                .positions(self.user)
                .await?
                .into_iter()
                .collect()
        };
        let mut total = 0;
        let mut rooms = rooms;
        for p in &mut rooms {
            let Some(&end) = ends.get(&p.room_id) else {
                return Err(Error::not_found(ErrorCode::RoomNotFound).in_room(p.room_id));
            };
            // A position past the room's end would silence it; the client cannot have seen
            // more than there is.
            p.seq = p.seq.min(end);
            let behind = end.get() - p.seq.get();
            total += behind;
            if behind > limit || total > total_limit {
                return Err(Error::invalid(
                    ErrorCode::TooFarBehind,
                    "rooms",
                    format!(
                        "room {} has too many changes to replay ({behind}; at most {limit} per room and {total_limit} in all); reload its history instead",
                        p.room_id
                    ),
                )
                .in_room(p.room_id));
            }
        }
        if let Some(after) = feed_after {
            let behind = self.feed_seq.get() - after.get();
            if behind > limit || total + behind > total_limit {
                return Err(Error::invalid(
                    ErrorCode::TooFarBehind,
                    "feed_after",
                    format!(
                        "too many feed entries to replay ({behind}; at most {limit}, and {total_limit} in all with the rooms); reload notifications instead"
                    ),
                ));
            }
        }
        for p in rooms {
            self.positions.insert(p.room_id, p.seq);
            self.catch_up_room(p.room_id);
        }
        if let Some(after) = feed_after {
            // Entries up to the connection's own position are history: replayed as they are.
            // Anything newer is handled as if it had arrived live.
            if after < self.feed_seq {
                self.catch_up.push_back(CatchUp::FeedHistory {
                    after,
                    upto: self.feed_seq,
                });
            }
            self.catch_up_feed();
        }
        self.catch_up.push_back(CatchUp::Resumed { id });
        Ok(())
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
