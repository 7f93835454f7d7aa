//! Password-reset mail from the real `jeco-server` binary: over SMTP to a mail server
//! written here (real sockets, just enough SMTP), and to the log when no mail server is
//! configured. The link a mail carries resets the password through the same server.
//!
//! Each case starts the binary on SQLite in a temporary directory and reads everything it
//! writes; nothing waits on time, only on the mail or log line it expects.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, watch};

/// The safety net on every wait: hitting it fails the case.
const WAIT: Duration = Duration::from_secs(60);

const PASSWORD: &str = "correct horse battery 9";
const NEW_PASSWORD: &str = "a brand new password 7";
const SMTP_USER: &str = "jeco";
const SMTP_PASSWORD: &str = "smtp-pa55word-not-for-logs";
const RESET_PAGE: &str = "https://chat.example/reset-password";

/// One mail as the mail server received it.
#[derive(Debug)]
struct Received {
    /// What the client signed in with (`AUTH PLAIN`, decoded), if it did.
    auth: Option<String>,
    from: String,
    to: Vec<String>,
    /// The message: headers, a blank line, the body (CRLF line ends, dot-stuffing undone).
    data: String,
}

/// A mail server that accepts every mail: EHLO (offering `AUTH PLAIN`), AUTH, MAIL, RCPT,
/// DATA, RSET, NOOP, QUIT. Until [`Sink::release`] it holds each new connection before its
/// greeting, as a stalled server does, when made with `held`.
struct Sink {
    addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<()>,
    mails: mpsc::UnboundedReceiver<Received>,
    /// Every command line received, on any connection.
    heard: Arc<Mutex<Vec<String>>>,
    gate: watch::Sender<bool>,
}

impl Sink {
    async fn start(held: bool) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let (mails_tx, mails) = mpsc::unbounded_channel();
        let (gate, open) = watch::channel(!held);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let heard_by_sessions = heard.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = accepted_tx.send(());
                let (mut open, mails) = (open.clone(), mails_tx.clone());
                let heard = heard_by_sessions.clone();
                tokio::spawn(async move {
                    if open.wait_for(|open| *open).await.is_ok() {
                        let _ = converse(socket, mails, heard).await;
                    }
                });
            }
        });
        Sink {
            addr,
            accepted,
            mails,
            heard,
            gate,
        }
    }

    fn release(&self) {
        self.gate.send_replace(true);
    }

    async fn next_mail(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.mails.recv())
            .await
            .expect("a mail in time")
            .expect("the mail server runs")
    }
}

/// One SMTP session.
async fn converse(
    socket: tokio::net::TcpStream,
    mails: mpsc::UnboundedSender<Received>,
    heard: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let (mut auth, mut from, mut to) = (None, String::new(), Vec::new());
    while let Some(line) = lines.next_line().await? {
        heard.lock().unwrap().push(line.clone());
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250 AUTH PLAIN\r\n"
        } else if upper.starts_with("HELO") || upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else if let Some(blob) = line.strip_prefix("AUTH PLAIN ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(blob.trim())
                .unwrap();
            auth = Some(String::from_utf8(decoded).unwrap());
            b"235 2.7.0 accepted\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_owned());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            let _ = mails.send(Received {
                auth: auth.clone(),
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not here\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// The `jeco-server` binary on SQLite, and everything it has written.
struct Server {
    addr: SocketAddr,
    http: reqwest::Client,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    new_line: Arc<Notify>,
    drains: Vec<tokio::task::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl Server {
    async fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_jeco-server"))
            .args(["--listen", "127.0.0.1:0", "--reset-link", RESET_PAGE])
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start jeco-server");
        let output = Arc::new(Mutex::new(Vec::new()));
        let new_line = Arc::new(Notify::new());
        let (addr_tx, mut addr_rx) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let drain = |stream: Box<dyn tokio::io::AsyncRead + Send + Unpin>| {
            let (output, new_line, addr_tx) = (output.clone(), new_line.clone(), addr_tx.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap();
                        let _ = addr_tx.send(addr.parse::<SocketAddr>().unwrap());
                    }
                    output.lock().unwrap().push(line);
                    new_line.notify_waiters();
                }
            })
        };
        let drains = vec![drain(Box::new(stdout)), drain(Box::new(stderr))];
        let addr = tokio::time::timeout(WAIT, addr_rx.recv())
            .await
            .expect("jeco-server listens in time")
            .expect("jeco-server listens");
        Server {
            addr,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            child,
            output,
            new_line,
            drains,
            _data: data,
        }
    }

    /// POSTs `body` to `path`: the status and the JSON answer (`Null` if none).
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, name: &str) {
        let (status, body) = self
            .post(
                "/v1/auth/register",
                json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    async fn request_reset(&self, name: &str) {
        let (status, body) = self
            .post(
                "/v1/auth/password-reset",
                json!({"email": format!("{name}@example.com")}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
    }

    /// Resets the password with `token`, then proves it: the new password signs in, the
    /// old one no longer does.
    async fn reset_with(&self, name: &str, token: &str) {
        let (status, body) = self
            .post(
                "/v1/auth/password-reset/confirm",
                json!({"token": token, "new_password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let login = |password: &str| {
            self.post(
                "/v1/auth/login",
                json!({"login": name, "password": password}),
            )
        };
        assert_eq!(login(NEW_PASSWORD).await.0, 200);
        assert_eq!(login(PASSWORD).await.0, 401);
    }

    /// Waits until a line the server wrote satisfies `matches`, and returns it.
    async fn line(&self, matches: impl Fn(&str) -> bool) -> String {
        tokio::time::timeout(WAIT, async {
            loop {
                let notified = self.new_line.notified();
                if let Some(line) = self.output.lock().unwrap().iter().find(|l| matches(l)) {
                    return line.clone();
                }
                notified.await;
            }
        })
        .await
        .expect("the expected line in time")
    }

    /// Stops the server and returns all it wrote.
    async fn stop(mut self) -> String {
        self.child.kill().await.unwrap();
        for drain in self.drains.drain(..) {
            drain.await.unwrap();
        }
        self.output.lock().unwrap().join("\n")
    }
}

impl Received {
    /// The body as a mail client shows it: transfer encoding (7bit or quoted-printable)
    /// undone.
    fn body(&self) -> String {
        let (headers, body) = self
            .data
            .split_once("\r\n\r\n")
            .expect("headers, then a body");
        let encoding = headers
            .lines()
            .find_map(|h| h.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap_or("7bit");
        match encoding {
            "7bit" => body.to_owned(),
            "quoted-printable" => {
                let joined = body.replace("=\r\n", "");
                let mut out = Vec::new();
                let mut bytes = joined.bytes();
                while let Some(b) = bytes.next() {
                    if b == b'=' {
                        let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
                        let hex = std::str::from_utf8(&hex).unwrap();
                        out.push(u8::from_str_radix(hex, 16).unwrap());
                    } else {
                        out.push(b);
                    }
                }
                String::from_utf8(out).unwrap()
            }
            other => panic!("unexpected transfer encoding {other}"),
        }
    }
}

/// The token of the reset link in `text`.
fn token_in(text: &str) -> String {
    let link = format!("{RESET_PAGE}#token=");
    let start = text
        .find(&link)
        .unwrap_or_else(|| panic!("no reset link in {text}"))
        + link.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mail_goes_out_over_smtp_and_its_link_resets_the_password() {
    let mut sink = Sink::start(false).await;
    let port = sink.addr.port().to_string();
    let server = Server::start(
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
            "--smtp-user",
            SMTP_USER,
            "--mail-from",
            "Jeco Chat <noreply@chat.example>",
        ],
        &[("JECO_SMTP_PASSWORD", SMTP_PASSWORD)],
    )
    .await;
    server.register("ann").await;
    server.request_reset("ann").await;

    let mail = sink.next_mail().await;
    assert_eq!(
        mail.auth.as_deref(),
        Some(format!("\0{SMTP_USER}\0{SMTP_PASSWORD}").as_str())
    );
    assert_eq!(mail.from, "<noreply@chat.example>");
    assert_eq!(mail.to, ["<ann@example.com>"]);
    assert!(
        mail.data.contains("Subject: Reset your Jeco Chat password"),
        "{}",
        mail.data
    );
    let token = token_in(&mail.body());
    assert!(token.len() >= 40, "a whole token: {token}");
    server.reset_with("ann", &token).await;

    let output = server.stop().await;
    assert!(
        !output.contains(&token),
        "the token is in the log:\n{output}"
    );
    assert!(
        !output.contains(SMTP_PASSWORD),
        "the SMTP password is in the log:\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_request_does_not_wait_for_the_mail_server() {
    let mut sink = Sink::start(true).await;
    let port = sink.addr.port().to_string();
    let server = Server::start(
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
            "--mail-from",
            "noreply@chat.example",
        ],
        &[],
    )
    .await;
    server.register("bob").await;
    // Answered although the mail server has not even greeted anyone yet.
    server.request_reset("bob").await;
    tokio::time::timeout(WAIT, sink.accepted.recv())
        .await
        .expect("the server connects to the mail server in time");
    sink.release();
    let mail = sink.next_mail().await;
    assert_eq!(mail.auth, None);
    server.reset_with("bob", &token_in(&mail.body())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_server_the_log_shows_the_reset_link_redacted() {
    let server = Server::start(&[], &[]).await;
    server.register("cat").await;
    server.request_reset("cat").await;
    let link = server.line(|l| l.contains("#token=")).await;
    assert!(
        link.contains(&format!("{RESET_PAGE}#token=[redacted]")),
        "{link}"
    );
    let output = server.stop().await;
    assert!(!output.contains("log_mail_secrets is on"), "{output}");
    for line in output.lines().filter(|l| l.contains("#token=")) {
        assert!(
            line.contains("#token=[redacted]"),
            "a token in the log: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_to_the_log_shows_the_whole_link_and_warns_at_startup() {
    let server = Server::start(&["--log-mail-secrets"], &[]).await;
    server
        .line(|l| l.contains("WARN") && l.contains("log_mail_secrets is on"))
        .await;
    server.register("dan").await;
    server.request_reset("dan").await;
    let link = server.line(|l| l.contains("#token=")).await;
    server.reset_with("dan", &token_in(&link)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_is_required_and_without_it_no_password_and_no_mail_go_out() {
    // The sink offers no STARTTLS: a downgraded connection, as an attacker in the path
    // would make it.
    let mut sink = Sink::start(false).await;
    let port = sink.addr.port().to_string();
    let server = Server::start(
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "starttls",
            "--smtp-user",
            SMTP_USER,
            "--mail-from",
            "noreply@chat.example",
        ],
        &[("JECO_SMTP_PASSWORD", SMTP_PASSWORD)],
    )
    .await;
    server.register("eve").await;
    server.request_reset("eve").await;
    let failure = server.line(|l| l.contains("mail not delivered")).await;
    assert!(
        failure.contains("Reset your Jeco Chat password"),
        "{failure}"
    );
    let heard = sink.heard.lock().unwrap().clone();
    assert!(heard.iter().any(|l| l.starts_with("EHLO")), "{heard:?}");
    assert!(
        heard
            .iter()
            .all(|l| !l.starts_with("AUTH") && !l.starts_with("MAIL")),
        "the client went on without TLS: {heard:?}"
    );
    assert!(sink.mails.try_recv().is_err());
    let output = server.stop().await;
    assert!(!output.contains(SMTP_PASSWORD), "{output}");
}
