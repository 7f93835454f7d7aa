//! The chat session: what the user sees and what their commands do.
//!
//! [`Chat`] holds only what is needed to print events readably: room labels (`general`,
//! `@bob` for a direct conversation), the names of the people in the user's rooms (events
//! carry bare user ids), the last presence and typing state shown (so that only changes are
//! printed) and the messages already printed (a message of one's own arrives twice, as the
//! acknowledgement of the send and as the room's event, and is shown once). Everything else
//! is asked of the server when needed, so nothing here can go stale for long.
//!
//! Events and commands are handled one at a time by the caller's loop; a command's REST call
//! delays the printing of events by its duration, and the events wait in their queues
//! meanwhile (the connection waits for room rather than drop one), so none is lost.

mod events;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jeco_client::proto::api::HistoryQuery;
use jeco_client::proto::ids::{MessageId, RoomId, Timestamp, UserId};
use jeco_client::proto::model::{Message, RoomKind, RoomSummary, UserRef};
use jeco_client::{Client, Connection, Error};
use tokio::time::Instant;

use crate::command::{Command, HELP};
use crate::render::{ago, clean, err, message_line, out};

/// How many rooms' member lists are loaded at start to learn who is who. A terminal user with
/// more rooms than this still sees everything; people outside these rooms are looked up
/// when they first speak.
const MEMBER_LISTS_AT_START: usize = 50;

/// Whether the program goes on after an event or a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// Sign out and exit.
    Quit,
}

/// What the user is told when a command needs a current room and there is none.
const NO_ROOM: &str = "you are in no room: /join <room> or /dm <user> first";

/// Why a command did nothing.
enum Failure {
    /// The server (or the network) said no.
    Client(Error),
    /// The command cannot be carried out as given.
    Usage(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Client(e)
    }
}

/// A room the user is in.
struct JoinedRoom {
    /// `general`, or `@bob` for the direct conversation with bob.
    label: String,
    kind: RoomKind,
}

/// The state of one signed-in terminal session.
pub(crate) struct Chat {
    client: Client,
    connection: Arc<Connection>,
    me: UserRef,
    rooms: HashMap<RoomId, JoinedRoom>,
    current: Option<RoomId>,
    /// Usernames by id, for events that carry only ids.
    names: HashMap<UserId, String>,
    /// Who is online, as last shown or fetched.
    online: HashMap<UserId, bool>,
    /// Who is typing where, until when (an indication lapses without an event).
    typing: HashMap<(RoomId, UserId), Instant>,
    /// Messages already printed.
    shown: HashSet<MessageId>,
    /// Texts of our own messages not yet acknowledged, by `client_id`, to say which one a
    /// refusal is about.
    sending: HashMap<String, String>,
    connected_before: bool,
}

impl Chat {
    /// Loads the user's rooms and the people in them, and picks the room to start in
    /// (`general` when the user is in it).
    pub(crate) async fn start(
        client: Client,
        me: UserRef,
        connection: Arc<Connection>,
    ) -> Result<Chat, Error> {
        let mut chat = Chat {
            client,
            connection,
            names: HashMap::from([(me.id, me.username.clone())]),
            me,
            rooms: HashMap::new(),
            current: None,
            online: HashMap::new(),
            typing: HashMap::new(),
            shown: HashSet::new(),
            sending: HashMap::new(),
            connected_before: false,
        };
        let summaries = chat.reload_rooms().await?;
        let ids: Vec<RoomId> = summaries
            .iter()
            .filter(|s| s.role.is_some())
            .map(|s| s.room.id)
            .collect();
        for room in ids.iter().take(MEMBER_LISTS_AT_START) {
            for member in chat.client.members(*room).await? {
                chat.names.insert(member.user.id, member.user.username);
            }
        }
        chat.current = summaries
            .iter()
            .find(|s| s.role.is_some() && s.room.name.as_deref() == Some("general"))
            .or_else(|| summaries.iter().find(|s| s.role.is_some()))
            .map(|s| s.room.id);
        let mine: Vec<String> = ids.iter().map(|id| chat.label(*id)).collect();
        out(&format!(
            "Signed in as {}. Your rooms: {}.",
            clean(&chat.me.username),
            if mine.is_empty() {
                "none".to_owned()
            } else {
                clean(&mine.join(", "))
            }
        ));
        match chat.current {
            Some(room) => out(&format!(
                "Talking in [{}]. Type a line to send it; /help lists the commands.",
                clean(&chat.label(room))
            )),
            None => out("You are in no room yet: /rooms, /join <room> or /dm <user>."),
        }
        Ok(chat)
    }

    /// Handles one line of input.
    pub(crate) async fn on_line(&mut self, line: &str) -> Flow {
        let command = crate::command::parse(line);
        match self.run(command).await {
            Ok(flow) => flow,
            Err(Failure::Client(e)) => {
                err(&format!("! {}", describe(&e)));
                Flow::Continue
            }
            Err(Failure::Usage(why)) => {
                err(&format!("! {}", clean(&why)));
                Flow::Continue
            }
        }
    }

    async fn run(&mut self, command: Command) -> Result<Flow, Failure> {
        match command {
            Command::Nothing => {}
            Command::Say(text) => self.say(&text),
            Command::Help => out(HELP),
            Command::Rooms => self.list_rooms().await?,
            Command::Join(name) => self.join(&name).await?,
            Command::Create { name, private } => {
                let kind = if private {
                    RoomKind::Private
                } else {
                    RoomKind::Public
                };
                let room = self.client.create_room(&name, kind, "").await?;
                let label = room.name.clone().unwrap_or(name);
                self.rooms.insert(
                    room.id,
                    JoinedRoom {
                        label: label.clone(),
                        kind,
                    },
                );
                self.current = Some(room.id);
                out(&format!(
                    "* created [{}] ({}); you are talking in it now",
                    clean(&label),
                    kind.as_str()
                ));
            }
            Command::Dm(username) => {
                let user = self.find_user(&username).await?;
                let room = self.client.open_direct(user.id).await?;
                let label = format!("@{}", user.username);
                self.rooms.insert(
                    room.id,
                    JoinedRoom {
                        label: label.clone(),
                        kind: RoomKind::Direct,
                    },
                );
                self.current = Some(room.id);
                out(&format!(
                    "* talking with {} in [{}]",
                    clean(&user.username),
                    clean(&label)
                ));
            }
            Command::Invite(username) => {
                let room = self.current_room()?;
                let user = self.find_user(&username).await?;
                self.client.invite(room, user.id).await?;
                out(&format!(
                    "* added {} to [{}]",
                    clean(&user.username),
                    clean(&self.label(room))
                ));
            }
            Command::Switch(target) => {
                let wanted = target.to_ascii_lowercase();
                let found = self
                    .rooms
                    .iter()
                    .find(|(_, r)| r.label == wanted)
                    .map(|(id, r)| (*id, r.label.clone()));
                match found {
                    Some((id, label)) => {
                        self.current = Some(id);
                        out(&format!("* talking in [{}]", clean(&label)));
                    }
                    None => {
                        return Err(Failure::Usage(format!(
                            "you are in no room called {target}; /rooms lists yours (direct ones as @user)"
                        )));
                    }
                }
            }
            Command::Who => self.who().await?,
            Command::History(n) => self.history(n).await?,
            Command::Typing(active) => {
                let room = self.current_room()?;
                self.connection.typing(room, active).await?;
            }
            Command::Leave => {
                let room = self.current_room()?;
                self.client.leave_room(room).await?;
                let label = self.label(room);
                self.rooms.remove(&room);
                self.current = None;
                out(&format!(
                    "* you left [{}]; /switch to another room or /join one",
                    clean(&label)
                ));
            }
            Command::Quit => return Ok(Flow::Quit),
            Command::Invalid(why) => return Err(Failure::Usage(why)),
        }
        Ok(Flow::Continue)
    }

    /// Queues a message for the current room; it is printed once the server has stored it.
    fn say(&mut self, text: &str) {
        let Some(room) = self.current else {
            err(&format!("! {NO_ROOM}"));
            return;
        };
        let client_id = self.connection.send(room, text);
        self.sending.insert(client_id, text.to_owned());
        if !self.connection.is_connected() {
            out("* (offline: the message will be sent once the connection is back)");
        }
    }

    async fn list_rooms(&mut self) -> Result<(), Failure> {
        let summaries = self.reload_rooms().await?;
        if summaries.is_empty() {
            out("No rooms. /create <name> makes one.");
        }
        for s in &summaries {
            let label = self.label_of_summary(s);
            let line = match s.role {
                Some(role) => {
                    let mut line = format!(
                        "{} {:<20} {:<8} {} member(s), {}",
                        if Some(s.room.id) == self.current {
                            "*"
                        } else {
                            " "
                        },
                        label,
                        s.room.kind.as_str(),
                        s.room.member_count,
                        role.as_str()
                    );
                    if s.unread > 0 {
                        line.push_str(&format!(", {} unread", s.unread));
                    }
                    line
                }
                None => format!(
                    "  {:<20} {:<8} {} member(s), not joined: /join {}",
                    label,
                    s.room.kind.as_str(),
                    s.room.member_count,
                    label
                ),
            };
            out(&clean(&line));
        }
        Ok(())
    }

    async fn join(&mut self, name: &str) -> Result<(), Failure> {
        let name = name.to_ascii_lowercase();
        let summaries = self.reload_rooms().await?;
        let Some(summary) = summaries
            .iter()
            .find(|s| s.room.name.as_deref() == Some(name.as_str()))
        else {
            return Err(Failure::Usage(format!(
                "there is no public room called {name}; /rooms lists them, /create {name} makes one"
            )));
        };
        let id = summary.room.id;
        if summary.role.is_none() {
            self.client.join_room(id).await?;
            for member in self.client.members(id).await? {
                self.names.insert(member.user.id, member.user.username);
            }
            self.rooms.insert(
                id,
                JoinedRoom {
                    label: name.clone(),
                    kind: summary.room.kind,
                },
            );
            out(&format!("* joined [{}]", clean(&name)));
        }
        self.current = Some(id);
        out(&format!("* talking in [{}]", clean(&name)));
        Ok(())
    }

    async fn who(&mut self) -> Result<(), Failure> {
        let room = self.current_room()?;
        let members = self.client.members(room).await?;
        let ids: Vec<UserId> = members.iter().map(|m| m.user.id).collect();
        let presence = self.client.presence(&ids).await?;
        let now = Timestamp::now();
        out(&format!("Members of [{}]:", clean(&self.label(room))));
        for member in members {
            let info = presence.iter().find(|p| p.user_id == member.user.id);
            let state = match info {
                Some(p) if p.online => "online".to_owned(),
                Some(p) => match p.last_seen {
                    Some(seen) => format!("offline, last seen {}", ago(seen, now)),
                    None => "offline".to_owned(),
                },
                None => "offline".to_owned(),
            };
            if let Some(p) = info {
                self.online.insert(p.user_id, p.online);
            }
            out(&format!(
                "  {:<20} {:<6} {}",
                clean(&member.user.username),
                member.role.as_str(),
                state
            ));
            self.names.insert(member.user.id, member.user.username);
        }
        Ok(())
    }

    async fn history(&mut self, n: u32) -> Result<(), Failure> {
        let room = self.current_room()?;
        let page = self
            .client
            .history(
                room,
                HistoryQuery {
                    limit: Some(n),
                    ..HistoryQuery::default()
                },
            )
            .await?;
        let label = self.label(room);
        if page.items.is_empty() {
            out(&format!("[{}] (no messages yet)", clean(&label)));
        }
        // Newest first from the server; oldest first on screen.
        for message in page.items.iter().rev() {
            self.shown.insert(message.id);
            out(&message_line(&label, message));
        }
        if let Some(last) = page.items.first() {
            self.mark_read(room, last);
        }
        Ok(())
    }

    /// Prints a message unless it was printed already, and marks it read: it is on screen.
    async fn show(&mut self, message: &Message) {
        if !self.shown.insert(message.id) {
            return;
        }
        self.names
            .insert(message.sender.id, message.sender.username.clone());
        self.ensure_room(message.room_id).await;
        out(&message_line(&self.label(message.room_id), message));
        if message.sender.id != self.me.id {
            self.mark_read(message.room_id, message);
        }
    }

    /// Moves the read watermark in the background; a failure only leaves a room showing
    /// unread messages elsewhere, which is not worth interrupting the user for.
    fn mark_read(&self, room: RoomId, message: &Message) {
        let connection = self.connection.clone();
        let seq = message.seq;
        tokio::spawn(async move {
            let _ = connection.mark_read(room, seq).await;
        });
    }

    /// Learns a room's label if it is new to us (someone opened a direct conversation with
    /// the user, or added them to a room).
    async fn ensure_room(&mut self, room: RoomId) {
        if !self.rooms.contains_key(&room) {
            let _ = self.reload_rooms().await;
        }
    }

    /// Fetches the room list and relabels the joined rooms; the whole list.
    async fn reload_rooms(&mut self) -> Result<Vec<RoomSummary>, Error> {
        let summaries = self.client.rooms().await?;
        self.rooms.clear();
        for s in &summaries {
            if let Some(peer) = &s.peer {
                self.names.insert(peer.id, peer.username.clone());
            }
            if s.role.is_some() {
                let label = self.label_of_summary(s);
                self.rooms.insert(
                    s.room.id,
                    JoinedRoom {
                        label,
                        kind: s.room.kind,
                    },
                );
            }
        }
        if self.current.is_some_and(|c| !self.rooms.contains_key(&c)) {
            self.current = None;
        }
        Ok(summaries)
    }

    fn label_of_summary(&self, s: &RoomSummary) -> String {
        match (&s.room.name, &s.peer) {
            (Some(name), _) => name.clone(),
            (None, Some(peer)) => format!("@{}", peer.username),
            (None, None) => format!("room-{}", s.room.id),
        }
    }

    fn label(&self, room: RoomId) -> String {
        self.rooms
            .get(&room)
            .map(|r| r.label.clone())
            .unwrap_or_else(|| format!("room-{room}"))
    }

    /// A user's name, asked of the server the first time.
    async fn name(&mut self, user: UserId) -> String {
        if let Some(name) = self.names.get(&user) {
            return name.clone();
        }
        match self.client.profile(user).await {
            Ok(profile) => {
                self.names.insert(user, profile.username.clone());
                profile.username
            }
            Err(_) => format!("user {user}"),
        }
    }

    /// The presence of everyone we know, silently: events after this print the changes.
    async fn refresh_presence(&mut self) {
        let ids: Vec<UserId> = self.names.keys().copied().take(1000).collect();
        if let Ok(presence) = self.client.presence(&ids).await {
            for p in presence {
                self.online.insert(p.user_id, p.online);
            }
        }
    }

    /// Someone by exact username, found with the user search.
    async fn find_user(&mut self, username: &str) -> Result<UserRef, Failure> {
        let wanted = username.to_ascii_lowercase();
        let found = self.client.search_users(&wanted, Some(20)).await?;
        let user = found
            .into_iter()
            .find(|u| u.username == wanted)
            .ok_or_else(|| Failure::Usage(format!("nobody is called {wanted}")))?;
        self.names.insert(user.id, user.username.clone());
        Ok(user)
    }

    fn current_room(&self) -> Result<RoomId, Failure> {
        self.current
            .ok_or_else(|| Failure::Usage(NO_ROOM.to_owned()))
    }
}

/// An error as the user should read it: the server's code and message, or what failed.
pub(crate) fn describe(e: &Error) -> String {
    match e {
        Error::Api { code, message, .. } => format!("{}: {}", code, clean(message)),
        Error::NotConnected => "not connected right now; try again in a moment".to_owned(),
        other => clean(&other.to_string()),
    }
}
