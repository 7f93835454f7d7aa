//! `cli-chat`: a terminal chat client on `jeco-client`.
//!
//! It is line-oriented on purpose: plain lines in, plain lines out, no screen handling. That
//! keeps the program small enough to read as an example of the client library, works over
//! any terminal or pipe, and lets tests drive it like a person would, through its standard
//! input and output.
//!
//! ```text
//! cli-chat [--server URL] register <username> <email>
//! cli-chat [--server URL] login <username-or-email>
//! ```
//!
//! The password comes from `JECO_PASSWORD`, or is read as the first line of standard input
//! (shown as typed). It is never a command-line argument, which other users of the machine
//! could see in the process list and which shells keep in their history. Nothing is saved to
//! disk; the login is signed out on exit.
//!
//! Layout: `command.rs` understands lines, `chat.rs` carries them out, `chat/events.rs`
//! prints events, `render.rs` makes server text safe for a terminal.

mod chat;
mod command;
mod render;

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use jeco_client::{Client, ClientEvent, ConnectOptions, EventListener, TransportKind};
use tokio::sync::{Notify, mpsc};

use crate::chat::{Chat, Flow, describe};
use crate::render::{err, out};

/// A terminal chat client for a Jeco Chat server.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "The password is read from JECO_PASSWORD if set, else from the first line of \
                  standard input (it is shown as you type). Type /help once signed in."
)]
struct Args {
    /// The server's base URL.
    #[arg(long, env = "JECO_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The real-time transport.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    transport: Transport,
    #[command(subcommand)]
    how: SignIn,
}

#[derive(Subcommand, Debug)]
enum SignIn {
    /// Create an account (it joins the room `general`) and sign in.
    Register {
        /// 3 to 32 characters of a-z, 0-9 and _.
        username: String,
        /// Where password-reset mail goes.
        email: String,
    },
    /// Sign in to an existing account.
    Login {
        /// Username or email.
        login: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Transport {
    /// WebSocket.
    Websocket,
    /// Server-Sent Events, with commands over HTTP.
    Sse,
}

/// How long exiting waits for queued messages to be acknowledged.
const FINISH_SENDING: Duration = Duration::from_secs(10);

/// Events on their way from the listener to the main loop.
const EVENTS_IN_FLIGHT: usize = 64;

/// What woke the main loop.
enum Step {
    Line(Option<String>),
    Event(Option<Box<ClientEvent>>),
    Interrupted,
}

/// The connection's listener: hands each event to the main loop, which prints it between
/// lines of input (printing may call the server, so it cannot happen in the callback).
struct ToMainLoop(mpsc::Sender<ClientEvent>);

impl EventListener for ToMainLoop {
    fn on_event(&self, event: ClientEvent) {
        // A callback cannot `.await`, so it waits for room by blocking; `block_in_place`
        // first moves the runtime's other tasks off this thread. While it waits, the
        // connection's queue for this listener fills and the connection waits too: a
        // terminal that falls behind slows the connection down and loses nothing.
        tokio::task::block_in_place(|| {
            let _ = self.0.blocking_send(event);
        });
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Library diagnostics go to standard error, quiet unless RUST_LOG asks for more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut input = read_stdin_lines();
    match run(args, &mut input).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            err(&format!("! {message}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, input: &mut mpsc::UnboundedReceiver<String>) -> Result<(), String> {
    let client = Client::new(&args.server).map_err(|e| describe(&e))?;
    let username = match &args.how {
        SignIn::Register { username, .. } => username,
        SignIn::Login { login } => login,
    };
    let password = password(username, input).await?;
    let session = match &args.how {
        SignIn::Register { username, email } => client.register(username, email, &password).await,
        SignIn::Login { login } => client.login(login, &password).await,
    }
    .map_err(|e| describe(&e))?;
    drop(password);

    let me = jeco_client::proto::model::UserRef {
        id: session.account.profile.id,
        username: session.account.profile.username.clone(),
        display_name: session.account.profile.display_name.clone(),
    };
    let connection = Arc::new(
        client
            .connect(ConnectOptions {
                transport: match args.transport {
                    Transport::Websocket => TransportKind::WebSocket,
                    Transport::Sse => TransportKind::Sse,
                },
                ..ConnectOptions::default()
            })
            .map_err(|e| describe(&e))?,
    );
    let (events_tx, mut events) = mpsc::channel(EVENTS_IN_FLIGHT);
    let _listening = connection.add_listener(Arc::new(ToMainLoop(events_tx)));
    let mut chat = Chat::start(client.clone(), me, connection.clone())
        .await
        .map_err(|e| describe(&e))?;

    let interrupted = Arc::new(Notify::new());
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.notify_one();
            }
        });
    }

    let finish_sending = loop {
        let step = tokio::select! {
            line = input.recv() => Step::Line(line),
            event = events.recv() => Step::Event(event.map(Box::new)),
            () = interrupted.notified() => Step::Interrupted,
        };
        match step {
            Step::Line(Some(line)) => {
                if chat.on_line(&line).await == Flow::Quit {
                    break true;
                }
            }
            Step::Event(Some(event)) => {
                if chat.on_event(*event).await == Flow::Quit {
                    break false;
                }
            }
            Step::Line(None) => break true,
            Step::Event(None) | Step::Interrupted => break false,
        }
    };

    if finish_sending {
        // `/quit` or the end of input right after a line must not lose that line: wait a
        // while for what is queued to be acknowledged (input piped in ends at once).
        let pending = connection.pending_sends().len();
        if pending > 0 {
            let deadline = tokio::time::Instant::now() + FINISH_SENDING;
            while !connection.pending_sends().is_empty() {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Ok(Some(event)) => {
                        if chat.on_event(event).await == Flow::Quit {
                            break;
                        }
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let left = connection.pending_sends().len();
            if left > 0 {
                err(&format!("! {left} message(s) could not be sent"));
            }
        }
    }
    connection.close();
    // Nothing was saved, so the login is of no further use: end it on the server too.
    match client.logout().await {
        Ok(()) => out("* signed out"),
        Err(e) => err(&format!("! signing out failed: {}", describe(&e))),
    }
    Ok(())
}

/// The password: `JECO_PASSWORD`, or the next line of input after a prompt.
async fn password(
    username: &str,
    input: &mut mpsc::UnboundedReceiver<String>,
) -> Result<String, String> {
    if let Ok(password) = std::env::var("JECO_PASSWORD") {
        return Ok(password);
    }
    err(&format!(
        "Password for {} (shown as you type; set JECO_PASSWORD to skip this):",
        render::clean(username)
    ));
    match input.recv().await {
        Some(line) if !line.is_empty() => Ok(line),
        Some(_) => Err("an empty password".to_owned()),
        None => Err("no password given (standard input ended)".to_owned()),
    }
}

/// Standard input, line by line, read on a thread of its own: a blocking read cannot be
/// cancelled, and on the runtime's blocking pool it would hold up exit until the user pressed
/// Enter. Bytes that are not UTF-8 are replaced rather than ending the session; the channel
/// closes at the end of input.
fn read_stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut stdin = stdin.lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_owned();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}
