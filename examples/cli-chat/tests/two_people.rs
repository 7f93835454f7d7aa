//! Two people chatting with the real `cli-chat` binary against the real server.
//!
//! The server runs in this process on a free port over SQLite in a temporary directory; each
//! person is a child process driven through its standard input, and the test reads their
//! standard output and error the way a person reads a terminal. Every wait is for a line to
//! appear, with [`WAIT`] only as a safety net: nothing sleeps to make the test pass, and
//! nothing asserts how long anything took.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use jeco_core::Engine;
use jeco_core::auth::PasswordHashing;
use jeco_server::ratelimit::Rate;
use jeco_server::{AppState, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

const PASSWORD: &str = "correct horse battery 9";

/// The safety net on every wait: generous, and a wait that hits it is a failure.
const WAIT: Duration = Duration::from_secs(60);

/// The server, running until the test ends (the directory goes with it).
struct Server {
    base: String,
    _dir: tempfile::TempDir,
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::builder()
        .data_dir(dir.path())
        .jwt_secret(b"test secret that is long enough!!".to_vec())
        .password_hashing(PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        })
        .build()
        .await
        .expect("engine builds");
    let lots = Rate {
        per_second: 10_000.0,
        burst: 100_000.0,
    };
    let config = ServerConfig {
        send_rate: lots,
        change_rate: lots,
        typing_rate: lots,
        resume_rate: lots,
        auth_rate: lots,
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = jeco_server::router(AppState::new(engine, config))
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Server {
        base: format!("http://{addr}"),
        _dir: dir,
    }
}

/// One person at a terminal running `cli-chat`.
struct Person {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every line printed so far, and whether an `expect` already matched it.
    seen: Vec<(String, bool)>,
}

impl Person {
    /// Starts `cli-chat --server <base> <args>`; the password comes from `JECO_PASSWORD`
    /// when `password_in_env`, else the caller types it.
    fn start(name: &'static str, server: &Server, args: &[&str], password_in_env: bool) -> Person {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cli-chat"));
        command
            .arg("--server")
            .arg(&server.base)
            .args(args)
            .env_remove("JECO_PASSWORD")
            .env_remove("JECO_SERVER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if password_in_env {
            command.env("JECO_PASSWORD", PASSWORD);
        }
        let mut child = command.spawn().expect("cli-chat starts");
        let (tx, lines) = mpsc::unbounded_channel();
        forward(child.stdout.take().expect("stdout"), tx.clone());
        forward(child.stderr.take().expect("stderr"), tx);
        Person {
            name,
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Types a line.
    async fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to cli-chat");
        stdin.flush().await.expect("flush");
    }

    /// Waits until a line containing `want` has been printed (earlier lines count, each
    /// matches once); returns it.
    async fn expect(&mut self, want: &str) -> String {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                if let Some((line, claimed)) = self
                    .seen
                    .iter_mut()
                    .find(|(line, claimed)| !*claimed && line.contains(want))
                {
                    *claimed = true;
                    return Some(line.clone());
                }
                let line = self.lines.recv().await?;
                self.seen.push((line, false));
            }
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "{} exited before printing {want:?}{}",
                self.name,
                self.log()
            ),
            Err(_) => panic!("{} did not print {want:?} in time{}", self.name, self.log()),
        }
    }

    /// Ends the input (as Ctrl-D does) and waits for the program to exit.
    async fn finish(mut self) -> (ExitStatus, Person) {
        self.stdin.take();
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("cli-chat exits in time")
            .expect("wait for cli-chat");
        (status, self)
    }

    fn log(&self) -> String {
        let lines: Vec<&str> = self.seen.iter().map(|(l, _)| l.as_str()).collect();
        format!("; it printed:\n{}", lines.join("\n"))
    }
}

/// Sends every line of `from` to `to` until it ends.
fn forward(from: impl AsyncRead + Unpin + Send + 'static, to: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(from).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if to.send(line).is_err() {
                break;
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_and_bob_chat() {
    let server = start_server().await;

    let mut alice = Person::start(
        "alice",
        &server,
        &["register", "alice", "alice@example.com"],
        true,
    );
    alice.expect("Signed in as alice").await;
    alice.expect("* connected as alice").await;

    let mut bob = Person::start(
        "bob",
        &server,
        &["register", "bob", "bob@example.com"],
        true,
    );
    bob.expect("* connected as bob").await;
    // Bob's sign-up put him in general, and he came online.
    alice.expect("* [general] bob joined").await;
    alice.expect("* bob is online").await;

    // Both start in general.
    alice.say("hello general").await;
    bob.expect("[general] alice: hello general").await;
    alice.expect("[general] alice: hello general").await;

    // A new room.
    alice.say("/create lounge").await;
    alice.expect("* created [lounge]").await;
    bob.say("/join lounge").await;
    bob.expect("* talking in [lounge]").await;
    alice.expect("* [lounge] bob joined").await;

    bob.say("/typing").await;
    alice.expect("* [lounge] bob is typing…").await;
    bob.say("hi alice").await;
    alice.expect("[lounge] bob: hi alice").await;

    bob.say("/who").await;
    bob.expect("Members of [lounge]:").await;
    let line = bob.expect("  alice ").await;
    assert!(line.contains("owner") && line.contains("online"), "{line}");

    // A direct conversation, opened by username.
    bob.say("/dm alice").await;
    bob.expect("* talking with alice in [@alice]").await;
    bob.say("just between us").await;
    alice.expect("* [@bob] a direct conversation started").await;
    alice.expect("[@bob] bob: just between us").await;
    alice.say("/switch @bob").await;
    alice.expect("* talking in [@bob]").await;
    alice.say("sure").await;
    bob.expect("[@alice] alice: sure").await;

    // Mistakes are explained, and the server's refusals come with its code.
    alice.say("/join nowhere").await;
    alice
        .expect("! there is no public room called nowhere")
        .await;
    alice.say("/frobnicate").await;
    alice.expect("! unknown command /frobnicate").await;
    alice.say("/create lounge").await;
    alice.expect("! room_name_taken").await;

    // History of the room, oldest first.
    alice.say("/switch lounge").await;
    alice.say("/history").await;
    alice.expect("[lounge] bob: hi alice").await;

    bob.say("/quit").await;
    bob.expect("* signed out").await;
    let (status, _) = bob.finish().await;
    assert!(status.success(), "bob exited with {status}");
    alice.expect("* bob is offline").await;

    // A line typed just before the input ends is still sent.
    alice.say("/switch general").await;
    alice.say("bye").await;
    let (status, mut alice) = alice.finish().await;
    assert!(status.success(), "alice exited with {status}");
    alice.expect("[general] alice: bye").await;
    alice.expect("* signed out").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_can_be_typed_and_a_wrong_one_is_reported() {
    let server = start_server().await;
    let mut carol = Person::start(
        "carol",
        &server,
        &["register", "carol", "carol@example.com"],
        true,
    );
    carol.expect("* connected as carol").await;
    carol.say("/quit").await;
    let (status, _) = carol.finish().await;
    assert!(status.success());

    let mut wrong = Person::start("carol", &server, &["login", "carol"], false);
    wrong.expect("Password for carol").await;
    wrong.say("not the password").await;
    wrong.expect("! invalid_credentials").await;
    let (status, _) = wrong.finish().await;
    assert!(!status.success());

    let mut right = Person::start("carol", &server, &["login", "carol@example.com"], false);
    right.expect("Password for carol").await;
    right.say(PASSWORD).await;
    right.expect("Signed in as carol").await;
    right.expect("* connected as carol").await;
    right.say("/history").await;
    right.expect("[general] (no messages yet)").await;
    let (status, _) = right.finish().await;
    assert!(status.success());
}
