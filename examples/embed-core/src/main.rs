//! Embeds the Jeco Chat engine in a program and has two people talk through it: sign-up,
//! a room, a direct conversation, live events, a reaction, typing, read receipts and
//! notifications. Everything runs in this process on a SQLite file; no server is involved.
//!
//! Run with `cargo run -p embed-core` (data goes to `./jeco-data/embedded`; pass another
//! directory as the first argument).

use std::error::Error;

use jeco_core::event::Event;
use jeco_core::ids::UserId;
use jeco_core::model::{RoomKind, Session};
use jeco_core::pubsub::Subscription;
use jeco_core::service::{HistoryQuery, SendMessage};
use jeco_core::{Engine, ErrorKind};

const PASSWORD: &str = "correct horse battery 9";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("warn,jeco::mail=info")
        .init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./jeco-data/embedded".to_owned());
    let engine = Engine::builder().data_dir(&dir).build().await?;
    println!("Jeco Chat engine open on {dir}\n");

    let alice = sign_in(&engine, "alice").await?;
    let bob = sign_in(&engine, "bob").await?;
    let (a, b) = (alice.account.profile.id, bob.account.profile.id);

    // Bob is "online": a subscription receives what he should see live.
    let mut bob_live = engine.subscribe(b).await?;
    engine.presence().connected(b).await?;

    // A group room Bob joins, then a direct conversation.
    let rooms = engine.rooms();
    let room = match rooms
        .create(a, "family", RoomKind::Public, "Family chat")
        .await
    {
        Ok(room) => room,
        Err(e) if e.code() == "room_name_taken" => {
            let listed = rooms.list(a).await?;
            let found = listed
                .into_iter()
                .find(|r| r.room.name.as_deref() == Some("family"))
                .ok_or("room vanished")?;
            found.room
        }
        Err(e) => return Err(e.into()),
    };
    rooms.join(a, room.id).await?;
    rooms.join(b, room.id).await?;
    bob_live.follow(jeco_core::event::Topic::Room(room.id));
    let dm = rooms.open_direct(a, b).await?;
    bob_live.follow(jeco_core::event::Topic::Room(dm.id));

    let messages = engine.messages();
    let run = jeco_core::ids::Timestamp::now().0;
    engine.presence().typing(a, dm.id, true).await?;
    let hello = messages
        .send(
            a,
            dm.id,
            text(&format!("hello-{run}"), "Hi Bob! Dinner at ours on Sunday?"),
        )
        .await?;
    messages
        .send(
            a,
            room.id,
            text(&format!("news-{run}"), "@bob the family room is ready"),
        )
        .await?;
    show(&engine, "bob", &mut bob_live, b).await?;

    // Bob answers, reacts, and reads.
    messages.react(b, hello.id, "👍").await?;
    let reply = SendMessage {
        reply_to: Some(hello.id),
        ..text(&format!("reply-{run}"), "Sounds great, I'll bring dessert.")
    };
    messages.send(b, dm.id, reply).await?;
    rooms.mark_read(b, dm.id, hello.seq).await?;

    println!("\nThe conversation as stored (newest last):");
    let page = messages.history(a, dm.id, HistoryQuery::default()).await?;
    for m in page.items.iter().rev() {
        let reactions: Vec<String> = m
            .reactions
            .iter()
            .map(|r| format!("{}×{}", r.emoji, r.users.len()))
            .collect();
        println!(
            "  #{:<3} {:>5}: {} {}",
            m.seq,
            m.sender.username,
            m.body,
            reactions.join(" ")
        );
    }
    let read_by = rooms.read_by(a, hello.id).await?;
    let readers: Vec<&str> = read_by.iter().map(|u| u.username.as_str()).collect();
    println!(
        "  Alice's first message was read by: {}",
        readers.join(", ")
    );

    let unread = engine.notifications().list(a, None, true, None).await?;
    let kinds: Vec<String> = unread
        .items
        .iter()
        .map(|n| format!("{:?} from {}", n.kind, n.actor.username))
        .collect();
    println!("  Alice's unread notifications: {}", kinds.join(", "));
    engine.presence().disconnected(b).await?;
    Ok(())
}

async fn sign_in(engine: &Engine, name: &str) -> Result<Session, Box<dyn Error>> {
    let accounts = engine.accounts();
    match accounts
        .register(name, &format!("{name}@example.com"), PASSWORD)
        .await
    {
        Ok(session) => {
            println!("{name} registered and joined #general");
            Ok(session)
        }
        Err(e) if e.kind() == ErrorKind::Conflict => {
            println!("{name} signed in again");
            Ok(accounts.login(name, PASSWORD).await?)
        }
        Err(e) => Err(e.into()),
    }
}

fn text(client_id: &str, body: &str) -> SendMessage {
    SendMessage {
        client_id: client_id.to_owned(),
        body: body.to_owned(),
        ..SendMessage::default()
    }
}

/// Prints what reached `user` live so far.
async fn show(
    engine: &Engine,
    name: &str,
    live: &mut Subscription,
    user: UserId,
) -> Result<(), Box<dyn Error>> {
    println!("Live events for {name}:");
    while let Some(published) = live.try_recv() {
        let line = match &*published.event()? {
            Event::MessageCreated { message, seq, .. } => {
                format!(
                    "message #{seq} from {}: {}",
                    message.sender.username, message.body
                )
            }
            Event::Typing {
                user_id, active, ..
            } => {
                let who = engine.accounts().profile(user, *user_id).await?.username;
                format!("{who} is {}typing", if *active { "" } else { "not " })
            }
            Event::Notification { notification } => format!(
                "notification: {:?} from {}",
                notification.kind, notification.actor.username
            ),
            Event::Presence {
                user_id, online, ..
            } => {
                format!(
                    "user {user_id} is {}",
                    if *online { "online" } else { "offline" }
                )
            }
            other => format!("{other:?}"),
        };
        println!("  {line}");
    }
    Ok(())
}
