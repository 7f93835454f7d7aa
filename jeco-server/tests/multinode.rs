//! Several server processes on one PostgreSQL database and one Redis server, as a scaled-out
//! deployment runs them: the real `jeco-server` binary, real sockets, real services.
//!
//! Each case gets a fresh database (on `JECO_TEST_DATABASE_URL`, default the local server)
//! and a private `redis-server` process on a free port (the binary named by
//! `JECO_TEST_REDIS_SERVER`, default `redis-server` from `PATH`), so that one case can kill and
//! restart Redis without touching anything else. Missing services fail these cases; they are
//! never skipped. Nodes are killed with SIGKILL: no goodbye, as when a machine dies.
//!
//! What the cases measured (time to reconnect, events replayed, messages lost) is printed;
//! run with `--nocapture` to see it. Nothing asserts on time.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

// The end-to-end suite's clients and HTTP helpers; its cases run from sqlite.rs and postgres.rs.
#[allow(unused_macros)]
mod e2e;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use e2e::clients::{Ws, is};
use e2e::harness::{PASSWORD, Resp, User, WAIT, finish, user_of};
use jeco_core::ids::RoomId;
use jeco_core::testing::{RedisServer, TestDatabase};
use jeco_proto::model::Session;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long a killed node's users keep counting as online, in the nodes these cases start.
const NODE_TIMEOUT_SECS: u64 = 2;

/// Polls `check` until it holds; [`WAIT`] is the safety net. For states with nothing to
/// wait on (a process accepting connections, a probe turning ready).
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What every node of one deployment shares.
struct Cluster {
    db: TestDatabase,
    data: tempfile::TempDir,
    redis: RedisServer,
    prefix: String,
    auth_rate_per_minute: u32,
}

/// One `jeco-server` process.
struct Node {
    name: String,
    addr: SocketAddr,
    http: reqwest::Client,
    child: Child,
}

impl Cluster {
    async fn start(auth_rate_per_minute: u32) -> Cluster {
        Cluster {
            db: TestDatabase::create().await,
            data: tempfile::tempdir().expect("temp dir"),
            redis: RedisServer::start().await,
            prefix: format!("jeco-mn:{}:", std::process::id()),
            auth_rate_per_minute,
        }
    }

    /// Starts a node and waits until it is ready.
    async fn node(&self, name: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jeco-server"))
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(self.data.path())
            .args(["--database-url", &self.db.url])
            .args(["--redis-url", &self.redis.url()])
            .args(["--redis-prefix", &self.prefix])
            .args(["--node-timeout-secs", &NODE_TIMEOUT_SECS.to_string()])
            .args(["--send-rate", "1000", "--send-burst", "1000"])
            .args([
                "--auth-rate-per-minute",
                &self.auth_rate_per_minute.to_string(),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start jeco-server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().expect("an address");
                    return addr.parse::<SocketAddr>().expect("a socket address");
                }
                eprintln!("[{name}] {line}");
            }
            panic!("{name} exited before listening");
        })
        .await
        .unwrap_or_else(|_| panic!("{name} did not start in time"));
        // Keep draining its output (a full pipe would stall it); shown when a case fails.
        let tag = name.to_owned();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{tag}] {line}");
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let tag = name.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{tag}] {line}");
            }
        });
        let node = Node {
            name: name.to_owned(),
            addr,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            child,
        };
        until(&format!("{name} is ready"), || node.ready()).await;
        node
    }
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> Resp {
        let mut req = self.http.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        finish(format!("{} {method} {path}", self.name), req).await
    }

    async fn post(&self, u: &User, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&u.token), body).await
    }

    async fn ready(&self) -> bool {
        matches!(
            self.http.get(self.url("/readyz")).send().await,
            Ok(r) if r.status().is_success()
        )
    }

    async fn register(&self, name: &str) -> User {
        let r = self
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD}),
            )
            .await
            .expect(201);
        user_of(&r.json::<Session>())
    }

    async fn ticket(&self, u: &User) -> Resp {
        self.post(u, "/v1/tickets", Value::Null).await
    }

    /// A WebSocket with `ticket`, past its `ready` frame; `Err` with the first frame if the
    /// node refused the ticket.
    async fn ws_with(&self, ticket: &str) -> Result<Ws, Value> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let url = format!("ws://{}/v1/ws?ticket={ticket}", self.addr);
        let (socket, _) =
            tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url.as_str(), stream))
                .await
                .expect("WebSocket handshake in time")
                .expect("WebSocket handshake");
        let mut ws = Ws::new(socket);
        let first = ws.read().await.unwrap_or(Value::Null);
        if !is(&first, "ready") {
            return Err(first);
        }
        ws.ready = first;
        Ok(ws)
    }

    /// A WebSocket of `u`, past its `ready` frame.
    async fn ws(&self, u: &User) -> Ws {
        let ticket = self.ticket(u).await.expect(200);
        let ticket = ticket.body["ticket"].as_str().expect("a ticket").to_owned();
        self.ws_with(&ticket)
            .await
            .unwrap_or_else(|closing| panic!("{} refused the ticket: {closing}", self.name))
    }

    /// SIGKILL: no goodbye to anyone.
    async fn kill(mut self) {
        self.child.kill().await.expect("kill the node");
    }
}

/// The room sequence of a frame that takes one (messages, reactions, membership) in `room`.
fn room_seq(f: &Value, room: RoomId) -> Option<i64> {
    let kind = f["type"].as_str()?;
    let sequenced = ["message.", "reaction.", "member."]
        .iter()
        .any(|p| kind.starts_with(p));
    (sequenced && f["room_id"] == json!(room)).then(|| f["seq"].as_i64())?
}

fn presence_of(u: &User, online: bool) -> impl Fn(&Value) -> bool {
    let id = json!(u.id);
    move |f| is(f, "presence") && f["user_id"] == id && f["online"] == online
}

/// `owner` creates a public room on `on`; each of `members` joins through the node given.
async fn lobby(on: &Node, owner: &User, members: &[(&Node, &User)]) -> RoomId {
    let r = on
        .post(
            owner,
            "/v1/rooms",
            json!({"name": "lobby", "kind": "public", "topic": ""}),
        )
        .await
        .expect(201);
    let room = RoomId(r.body["id"].as_i64().expect("room id"));
    for (node, u) in members {
        node.post(u, &format!("/v1/rooms/{room}/join"), Value::Null)
            .await
            .expect(200);
    }
    room
}

/// What a member saw of a room: every sequenced event exactly once and in order (checked as
/// it goes), and the bodies of the messages.
struct Seen {
    room: RoomId,
    last: i64,
    bodies: Vec<String>,
}

impl Seen {
    fn new(room: RoomId, ready: &Value) -> Seen {
        let last = ready["rooms"]
            .as_array()
            .and_then(|rooms| rooms.iter().find(|p| p["room_id"] == json!(room)))
            .and_then(|p| p["seq"].as_i64())
            .expect("the ready frame lists the room");
        Seen {
            room,
            last,
            bodies: Vec::new(),
        }
    }

    /// Takes in one frame; `true` if it was an event of the room.
    fn apply(&mut self, f: &Value, who: &str) -> bool {
        let Some(seq) = room_seq(f, self.room) else {
            return false;
        };
        assert_eq!(
            seq,
            self.last + 1,
            "{who}: after {} came {seq} (a gap or a duplicate): {f}",
            self.last
        );
        self.take(f, seq);
        true
    }

    /// Takes in one frame while a `resume` is pending (PROTOCOL.md 7.4): only the next event
    /// of the room is applied; anything else is dropped, since the replay holds it. `true`
    /// if it was applied.
    fn apply_resuming(&mut self, f: &Value) -> bool {
        match room_seq(f, self.room) {
            Some(seq) if seq == self.last + 1 => {
                self.take(f, seq);
                true
            }
            _ => false,
        }
    }

    fn take(&mut self, f: &Value, seq: i64) {
        self.last = seq;
        if is(f, "message.created") {
            self.bodies
                .push(f["message"]["body"].as_str().unwrap_or("").to_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_different_nodes_talk_as_if_on_one() {
    let c = Cluster::start(10_000).await;
    let (a, b) = (c.node("A").await, c.node("B").await);
    let ann = a.register("ann").await;
    let bob = b.register("bob").await;
    let mut bob_ws = b.ws(&bob).await;
    let mut ann_ws = a.ws(&ann).await;
    bob_ws
        .wait_for("ann online, from A", presence_of(&ann, true))
        .await;
    let room = lobby(&a, &ann, &[(&b, &bob)]).await;

    let sent = ann_ws.send_msg(room, "m1", "hello from A").await;
    let got = bob_ws
        .wait_for("ann's message on B", |f| {
            is(f, "message.created") && f["message"]["body"] == "hello from A"
        })
        .await;
    assert_eq!(got["seq"], sent["seq"]);
    assert_eq!(got["message"]["sender"]["id"], json!(ann.id));

    let react = bob_ws
        .command(json!({"type": "react", "message_id": sent["id"], "emoji": "👍", "add": true}))
        .await;
    assert_eq!(react["type"], "ack", "{react}");
    ann_ws
        .wait_for("bob's reaction on A", |f| {
            is(f, "reaction.added") && f["user_id"] == json!(bob.id) && f["emoji"] == "👍"
        })
        .await;

    let read = bob_ws
        .command(json!({"type": "read", "room_id": room, "seq": sent["seq"]}))
        .await;
    assert_eq!(read["type"], "ack", "{read}");
    ann_ws
        .wait_for("bob's read receipt on A", |f| {
            is(f, "read") && f["user_id"] == json!(bob.id) && f["seq"] == sent["seq"]
        })
        .await;

    let typing = ann_ws
        .command(json!({"type": "typing", "room_id": room, "active": true}))
        .await;
    assert_eq!(typing["type"], "ack", "{typing}");
    bob_ws
        .wait_for("ann typing, on B", |f| {
            is(f, "typing") && f["user_id"] == json!(ann.id) && f["active"] == true
        })
        .await;
    let status = b
        .call(
            Method::GET,
            &format!("/v1/users/presence?ids={},{}", ann.id, bob.id),
            Some(&bob.token),
            Value::Null,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (&status[0]["online"], &status[1]["online"]),
        (&json!(true), &json!(true))
    );

    // A ticket from A opens a connection on B, once: it is used up on every node.
    let ticket = a.ticket(&bob).await.expect(200).body["ticket"]
        .as_str()
        .expect("a ticket")
        .to_owned();
    let second = b.ws_with(&ticket).await.expect("B accepts A's ticket");
    let again = a
        .ws_with(&ticket)
        .await
        .err()
        .expect("a used ticket is refused");
    assert_eq!(again["code"], "invalid_ticket", "{again}");
    second.close().await;

    // Delivery latency, send to receipt, on the sender's node and across nodes (through
    // Redis): reported, not asserted.
    let (mut here, mut there) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let body = format!("timed {i}");
        let sent_at = Instant::now();
        ann_ws
            .send_json(
                &json!({"type": "send", "id": format!("t{i}"), "room_id": room,
                               "client_id": format!("t{i}"), "body": body}),
            )
            .await;
        let arrived = |f: &Value| is(f, "message.created") && f["message"]["body"] == body;
        let (on_a, on_b) = tokio::join!(
            async {
                ann_ws.wait_for("the timed message on A", arrived).await;
                sent_at.elapsed()
            },
            async {
                bob_ws.wait_for("the timed message on B", arrived).await;
                sent_at.elapsed()
            }
        );
        here.push(on_a);
        there.push(on_b);
    }
    for (name, mut times) in [("same node", here), ("across nodes", there)] {
        times.sort();
        let at =
            |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_micros() as f64 / 1000.0;
        eprintln!(
            "delivery latency {name}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} messages, one at a time, PostgreSQL + Redis)",
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0),
            times.len()
        );
    }

    ann_ws.close().await;
    let offline = bob_ws
        .wait_for("ann offline, from A", presence_of(&ann, false))
        .await;
    assert!(offline["last_seen"].as_i64().is_some(), "{offline}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_nodes() {
    // Three attempts a minute per address, whichever node they reach.
    let c = Cluster::start(3).await;
    let (a, b) = (c.node("A").await, c.node("B").await);
    let mut answered = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { &a } else { &b };
        let r = node
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                json!({"login": "nobody", "password": "not the password 1"}),
            )
            .await;
        answered.push(r.status);
    }
    let limited = answered.iter().filter(|&&s| s == 429).count();
    assert_eq!(
        answered.len() - limited,
        3,
        "three attempts in all get through: {answered:?}"
    );
    assert!(answered[..3].iter().all(|&s| s == 401), "{answered:?}");
}

/// Follows `room` on its connection until the room reaches the sequence `done` announces. If
/// the connection's node goes away, reconnects to `fallback` and resumes from the last
/// sequence seen, as PROTOCOL.md 7.4 describes. Returns what it saw, how many missed events
/// it applied while resuming, and when it was resumed.
async fn follow(
    who: String,
    mut ws: Ws,
    room: RoomId,
    user: User,
    fallback: &Node,
    mut done: tokio::sync::watch::Receiver<Option<i64>>,
) -> (Seen, usize, Option<Instant>) {
    let mut seen = Seen::new(room, &ws.ready);
    let (mut replayed, mut resumed_at) = (0, None);
    loop {
        if done.borrow().is_some_and(|last| seen.last >= last) {
            return (seen, replayed, resumed_at);
        }
        let frame = tokio::select! {
            frame = ws.read() => frame,
            _ = done.changed() => continue,
        };
        match frame {
            Some(f) => {
                seen.apply(&f, &who);
            }
            None => {
                assert!(resumed_at.is_none(), "{who} lost a second connection");
                ws = fallback.ws(&user).await;
                ws.send_json(&json!({
                    "type": "resume", "id": "r1",
                    "rooms": [{"room_id": room, "seq": seen.last}],
                }))
                .await;
                loop {
                    let f = ws.read().await.expect("the fallback node stays up");
                    if is(&f, "resumed") {
                        break;
                    }
                    assert!(!is(&f, "error"), "{who}: resume refused: {f}");
                    if seen.apply_resuming(&f) {
                        replayed += 1;
                    }
                }
                resumed_at = Some(Instant::now());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_node_resume_on_another_with_nothing_lost() {
    const TOTAL: usize = 300;
    const KILL_AFTER: usize = 100;
    let c = Cluster::start(10_000).await;
    let (a, b) = (c.node("A").await, c.node("B").await);
    let ann = a.register("ann").await;
    let bob = b.register("bob").await;
    let cat = b.register("cat").await;
    let dave = b.register("dave").await;
    let room = lobby(&a, &ann, &[(&b, &bob), (&b, &cat), (&b, &dave)]).await;
    let mut ann_ws = a.ws(&ann).await;
    // A second connection of Ann's watches presence while the first one sends.
    let mut watcher = a.ws(&ann).await;
    let bob_ws = b.ws(&bob).await;
    let cat_ws = b.ws(&cat).await;
    let _dave_ws = b.ws(&dave).await;
    watcher
        .wait_for("dave online, from B", presence_of(&dave, true))
        .await;

    // Bob and Cat follow the room on B; if B dies they move to A.
    let (done_tx, done_rx) = tokio::sync::watch::channel(None);
    let followers: Vec<_> = [("bob", bob_ws, bob.clone()), ("cat", cat_ws, cat.clone())]
        .into_iter()
        .map(|(name, ws, user)| {
            let (fallback, done) = (&a, done_rx.clone());
            follow(name.to_owned(), ws, room, user, fallback, done)
        })
        .collect();
    let followers = futures::future::join_all(followers);

    // Ann sends on A throughout; B is killed after the first KILL_AFTER acks.
    let sender = async {
        let mut acked = Vec::new();
        let mut killed_at = None;
        let mut b = Some(b);
        for i in 0..TOTAL {
            let body = format!("message {i}");
            let msg = ann_ws.send_msg(room, &format!("m{i}"), &body).await;
            acked.push((msg["seq"].as_i64().expect("a seq"), body));
            if i + 1 == KILL_AFTER
                && let Some(node) = b.take()
            {
                node.kill().await;
                killed_at = Some(Instant::now());
            }
        }
        done_tx.send_replace(acked.last().map(|(seq, _)| *seq));
        (acked, killed_at.expect("B was killed"), ann_ws)
    };
    // Dave never comes back: once B's time runs out, he is offline for everyone.
    let dave_gone = async {
        let offline = watcher
            .wait_for("dave offline after B's timeout", presence_of(&dave, false))
            .await;
        assert!(offline["last_seen"].as_i64().is_some(), "{offline}");
        Instant::now()
    };
    let ((acked, killed_at, _ann_ws), results, dave_gone_at) =
        tokio::join!(sender, followers, dave_gone);

    let sent: Vec<String> = acked.iter().map(|(_, body)| body.clone()).collect();
    for (name, (seen, replayed, resumed_at)) in ["bob", "cat"].iter().zip(&results) {
        let resumed_at = resumed_at.unwrap_or_else(|| panic!("{name} never reconnected"));
        assert_eq!(
            seen.bodies, sent,
            "{name} received every message once, in order"
        );
        eprintln!(
            "node kill: {name} resumed on A {} ms after B was killed; {replayed} events replayed; \
             {} of {} acknowledged messages received, 0 lost, 0 duplicated",
            resumed_at.duration_since(killed_at).as_millis(),
            seen.bodies.len(),
            sent.len(),
        );
    }

    eprintln!(
        "node kill: dave (not reconnecting) went offline {} ms after B was killed (node timeout {NODE_TIMEOUT_SECS} s)",
        dave_gone_at.duration_since(killed_at).as_millis()
    );
    let history = a
        .call(
            Method::GET,
            &format!("/v1/rooms/{room}/messages?limit=100"),
            Some(&ann.token),
            Value::Null,
        )
        .await
        .expect(200)
        .body;
    let bodies: Vec<&Value> = history["items"]
        .as_array()
        .expect("a history page")
        .iter()
        .map(|m| &m["body"])
        .collect();
    // Newest first.
    let newest: Vec<Value> = sent[TOTAL - 100..].iter().rev().map(|b| json!(b)).collect();
    assert_eq!(
        bodies,
        newest.iter().collect::<Vec<_>>(),
        "the store has them, once each, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_nothing_acknowledged() {
    let mut c = Cluster::start(10_000).await;
    let (a, b) = (c.node("A").await, c.node("B").await);
    let ann = a.register("ann").await;
    let bob = b.register("bob").await;
    let room = lobby(&a, &ann, &[(&b, &bob)]).await;
    let mut ann_ws = a.ws(&ann).await;
    let mut bob_ws = b.ws(&bob).await;
    let mut seen = Seen::new(room, &bob_ws.ready);
    let mut sent = Vec::new();
    let mut last_seq = 0;
    let mut send = async |ws: &mut Ws, i: usize| {
        let body = format!("message {i}");
        let msg = ws.send_msg(room, &format!("m{i}"), &body).await;
        sent.push(body);
        last_seq = msg["seq"].as_i64().expect("a seq");
    };
    for i in 0..20 {
        send(&mut ann_ws, i).await;
    }

    c.redis.kill();
    // Sends go on: every message is committed before its ack, whatever Redis does.
    for i in 20..40 {
        send(&mut ann_ws, i).await;
    }
    a.ticket(&ann).await.expect_error(503, "unavailable");
    until("B reports that it lost Redis", || async {
        !b.ready().await
    })
    .await;

    c.redis.restart().await;
    until("B is ready again", || b.ready()).await;
    for i in 40..60 {
        send(&mut ann_ws, i).await;
    }
    while seen.last < last_seq {
        let f = bob_ws.read().await.expect("bob's connection survives");
        seen.apply(&f, "bob");
    }
    assert_eq!(
        seen.bodies, sent,
        "every acknowledged message, once, in order"
    );
    eprintln!(
        "redis restart: {} messages acknowledged (20 while Redis was down), {} received on the other node, 0 lost, 0 duplicated",
        sent.len(),
        seen.bodies.len()
    );

    // Redis came back empty; the nodes wrote their connections again.
    until("bob counts as online again", || async {
        let r = a
            .call(
                Method::GET,
                &format!("/v1/users/presence?ids={}", bob.id),
                Some(&ann.token),
                Value::Null,
            )
            .await;
        r.status == 200 && r.body[0]["online"] == true
    })
    .await;
    a.ticket(&ann).await.expect(200);
}

/// Kills Redis and starts it again, empty, and waits until both nodes have noticed the loss
/// and report ready again: a node's rate-limit and ticket connection has seen nothing of it.
async fn restart_redis(c: &mut Cluster, nodes: [&Node; 2]) {
    c.redis.kill();
    for node in nodes {
        until(
            &format!("{} reports that it lost Redis", node.name),
            || async { !node.ready().await },
        )
        .await;
    }
    c.redis.restart().await;
    for node in nodes {
        until(&format!("{} is ready again", node.name), || node.ready()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_ticket_and_rate_limit_after_a_redis_restart_work() {
    let mut c = Cluster::start(10_000).await;
    let (a, b) = (c.node("A").await, c.node("B").await);
    // Registering goes through the shared sign-in limit: each node has used its connection.
    let ann = a.register("ann").await;
    b.register("bob").await;

    restart_redis(&mut c, [&a, &b]).await;
    // The first shared-state command of A issues a ticket, the first of B redeems it.
    let ticket = a.ticket(&ann).await.expect(200);
    let ticket = ticket.body["ticket"].as_str().expect("a ticket");
    b.ws_with(ticket)
        .await
        .unwrap_or_else(|closing| panic!("B refused A's ticket: {closing}"));

    restart_redis(&mut c, [&a, &b]).await;
    // The first shared-state command of A takes a sign-in token: it is counted in Redis, not
    // in the bucket A falls back to when Redis cannot be reached.
    a.call(
        Method::POST,
        "/v1/auth/login",
        None,
        json!({"login": "ann", "password": PASSWORD}),
    )
    .await
    .expect(200);
    let mut redis = redis::Client::open(c.redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let bucket: bool = redis::cmd("EXISTS")
        .arg(format!("{}rl:auth:127.0.0.1", c.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(bucket, "the sign-in was counted in the shared bucket");
}
