//! A transport of one's own: the protocol carried one JSON frame per line over plain TCP, as
//! docs/PROTOCOL.md's "Adding a transport" shows it (the code between the markers is the
//! document's, checked by jeco-proto's docs test). Two users chat through it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// transport:begin
use std::io;

use bytes::Bytes;
use jeco_core::error::ErrorCode;
use jeco_core::session::{DriverConfig, Frame, Inbound, Link, Session, drive};
use jeco_core::{Engine, ids::UserId};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

/// A TCP connection that carries one JSON frame per line.
struct LineLink {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
}

impl Link for LineLink {
    async fn send(&mut self, frames: &[Frame]) -> io::Result<()> {
        for frame in frames {
            self.write.write_all(frame.json()).await?;
            self.write.write_all(b"\n").await?;
        }
        self.write.flush().await
    }

    async fn recv(&mut self) -> Option<Inbound> {
        match self.lines.next_line().await {
            Ok(Some(line)) => Some(Inbound::Text(Bytes::from(line))),
            Ok(None) => None,
            Err(_) => Some(Inbound::Broken(ErrorCode::ProtocolError)),
        }
    }

    async fn close(&mut self, _: ErrorCode) {
        let _ = self.write.shutdown().await;
    }
}

/// Serves one connection of `user`, already authenticated by the application's own means
/// (for example `engine.accounts().authenticate(token)`), until it ends.
async fn serve(engine: &Engine, user: UserId, stream: TcpStream, shutdown: &CancellationToken) {
    let Ok((session, ready)) = Session::open(engine, user).await else {
        return;
    };
    let (read, write) = stream.into_split();
    let mut link = LineLink {
        lines: BufReader::new(read).lines(),
        write,
    };
    // Heartbeats, batching, write deadlines, slow consumers, shutdown and presence are the
    // driver's; a `Gate` would add rate limits and metrics.
    let config = DriverConfig {
        heartbeat_timeout: None, // this link hears the client only when it sends commands
        ..DriverConfig::default()
    };
    drive(session, ready, &mut link, &config, None, shutdown).await;
}
// transport:end

use jeco_core::auth::PasswordHashing;
use jeco_core::model::RoomKind;
use serde_json::{Value, json};

/// A client of the line transport.
struct LineClient {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
}

impl LineClient {
    async fn send(&mut self, frame: Value) {
        let line = format!("{frame}\n");
        self.write.write_all(line.as_bytes()).await.unwrap();
    }

    /// The next frame `pick` keeps, skipping others (30 s at most).
    async fn until(&mut self, pick: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                let line = self.lines.next_line().await.unwrap().expect("a line");
                let frame: Value = serde_json::from_str(&line).unwrap();
                if pick(&frame) {
                    return frame;
                }
            }
        })
        .await
        .expect("the frame arrives")
    }
}

/// Two users, ann and bob, in a public room, with the line transport listening for one
/// connection of each (ann's first); the clients are connected.
struct Chat {
    _dir: tempfile::TempDir,
    engine: Engine,
    users: (UserId, UserId),
    room: jeco_core::ids::RoomId,
    shutdown: CancellationToken,
    clients: (LineClient, LineClient),
    connections: Vec<tokio::task::JoinHandle<()>>,
}

async fn chat() -> Chat {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .data_dir(dir.path())
        .password_hashing(PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        })
        .build()
        .await
        .unwrap();
    let accounts = engine.accounts();
    let ann = accounts
        .register("ann", "ann@example.com", "correct horse 9")
        .await
        .unwrap();
    let bob = accounts
        .register("bob", "bob@example.com", "battery staple 9")
        .await
        .unwrap();
    let (ann, bob) = (ann.account.profile.id, bob.account.profile.id);
    let room = engine
        .rooms()
        .create(ann, "lines", RoomKind::Public, "")
        .await
        .unwrap()
        .id;
    engine.rooms().join(bob, room).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = {
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        tokio::spawn(async move {
            // The application authenticates by its own means; here, by accept order.
            let mut connections = Vec::new();
            for user in [ann, bob] {
                let (stream, _) = listener.accept().await.unwrap();
                let (engine, shutdown) = (engine.clone(), shutdown.clone());
                connections.push(tokio::spawn(async move {
                    serve(&engine, user, stream, &shutdown).await
                }));
            }
            connections
        })
    };
    let connect = || async {
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut client = LineClient {
            lines: BufReader::new(read).lines(),
            write,
        };
        client.until(|f| f["type"] == "ready").await;
        client
    };
    let a = connect().await;
    let b = connect().await;
    Chat {
        _dir: dir,
        engine,
        users: (ann, bob),
        room,
        shutdown,
        clients: (a, b),
        connections: server.await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_chat_over_a_transport_of_their_own() {
    let Chat {
        _dir,
        engine,
        users: (ann, bob),
        room,
        shutdown,
        clients: (mut a, mut b),
        connections,
    } = chat().await;

    a.send(json!({"type": "send", "id": "c1", "room_id": room, "client_id": "k1", "body": "over lines"}))
        .await;
    let ack = a.until(|f| f["type"] == "ack").await;
    assert_eq!(ack["id"], "c1");
    let got = b.until(|f| f["type"] == "message.created").await;
    assert_eq!(got["message"]["body"], "over lines");
    b.send(json!({"type": "frobnicate", "id": "x"})).await;
    let error = b.until(|f| f["type"] == "error").await;
    assert_eq!(
        (error["id"].as_str(), error["code"].as_str()),
        (Some("x"), Some("invalid_frame"))
    );

    // Shutting down says why, and releases both users' presence.
    shutdown.cancel();
    let closing = a.until(|f| f["type"] == "closing").await;
    assert_eq!(closing["code"], "shutting_down");
    b.until(|f| f["type"] == "closing").await;
    for connection in connections {
        connection.await.unwrap();
    }
    let status = engine.presence().status(&[ann, bob]).await.unwrap();
    assert!(status.iter().all(|p| !p.online), "{status:?}");
}

/// Sends written in a burst are pipelined (each is queued while the ones before it commit):
/// every command still gets its reply in the order it was sent, a refused send and a `ping`
/// among them included, and the messages are stored and delivered in the order of the sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sends_is_answered_and_stored_in_order() {
    let Chat {
        _dir,
        room,
        shutdown,
        clients: (mut a, mut b),
        ..
    } = chat().await;
    let mut expected = Vec::new();
    let mut burst = String::new();
    for i in 0..120 {
        let frame = match i {
            40 => {
                json!({"type": "send", "id": "c40", "room_id": room, "client_id": "k40", "body": "  "})
            }
            80 => json!({"type": "ping", "id": "c80"}),
            _ => {
                json!({"type": "send", "id": format!("c{i}"), "room_id": room, "client_id": format!("k{i}"), "body": format!("burst {i}")})
            }
        };
        burst.push_str(&format!("{frame}\n"));
        expected.push(format!("c{i}"));
    }
    a.write.write_all(burst.as_bytes()).await.unwrap();
    let mut replies = Vec::new();
    let mut seqs = Vec::new();
    while replies.len() < expected.len() {
        let reply = a
            .until(|f| ["ack", "error", "pong"].contains(&f["type"].as_str().unwrap_or("")))
            .await;
        if reply["type"] == "ack" {
            let message = &reply["message"];
            assert_eq!(
                message["body"],
                format!("burst {}", &reply["id"].as_str().unwrap()[1..])
            );
            seqs.push(message["seq"].as_i64().unwrap());
        }
        replies.push((
            reply["id"].as_str().unwrap().to_owned(),
            reply["type"].as_str().unwrap().to_owned(),
        ));
    }
    let ids: Vec<&str> = replies.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected, "replies in the order of the commands");
    assert_eq!(replies[40].1, "error", "the blank send is refused");
    assert_eq!(replies[80].1, "pong");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive, in send order: {seqs:?}"
    );
    let mut bodies = Vec::new();
    while bodies.len() < seqs.len() {
        let got = b.until(|f| f["type"] == "message.created").await;
        bodies.push(got["message"]["body"].as_str().unwrap().to_owned());
    }
    let sent: Vec<String> = (0..120)
        .filter(|i| *i != 40 && *i != 80)
        .map(|i| format!("burst {i}"))
        .collect();
    assert_eq!(bodies, sent, "delivered in the order sent");
    shutdown.cancel();
}
