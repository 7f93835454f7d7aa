use std::future::pending;
use std::io::Write;

use super::*;

/// Everything written to the log while it is alive, as text.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// Captures this thread's log until the guard is dropped.
    fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

const TOKEN: &str = "tok3n-that-signs-you-in";

fn reset_mail(to: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Reset your password".to_owned(),
        body: format!("open https://chat.example/reset#token={TOKEN} soon"),
        secrets: vec![TOKEN.to_owned()],
    }
}

#[tokio::test]
async fn the_log_mailer_redacts_secrets_by_default() {
    let (log, _guard) = Log::capture();
    LogMailer::default()
        .send(reset_mail("ann@example.com"))
        .await
        .unwrap();
    let text = log.text();
    assert!(
        text.contains("https://chat.example/reset#token=[redacted] soon"),
        "{text}"
    );
    assert!(text.contains("ann@example.com"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn the_log_mailer_shows_secrets_only_when_asked() {
    let (log, _guard) = Log::capture();
    LogMailer::showing_secrets()
        .send(reset_mail("ann@example.com"))
        .await
        .unwrap();
    let text = log.text();
    assert!(text.contains(&format!("#token={TOKEN} soon")), "{text}");
}

#[test]
fn debug_shows_no_secret() {
    let shown = format!("{:?}", reset_mail("ann@example.com"));
    assert!(shown.contains("#token=[redacted]"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

/// Hands each mail to a channel, except mail to `stall@…`, whose sending never ends; says
/// when it starts sending each mail.
struct Relay {
    started: mpsc::UnboundedSender<String>,
    delivered: mpsc::UnboundedSender<Mail>,
}

#[async_trait]
impl Mailer for Relay {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let _ = self.started.send(mail.to.clone());
        if mail.to.starts_with("stall@") {
            pending::<()>().await;
        }
        let _ = self.delivered.send(mail);
        Ok(())
    }
}

fn relay() -> (
    Arc<Relay>,
    mpsc::UnboundedReceiver<String>,
    mpsc::UnboundedReceiver<Mail>,
) {
    let (started, starts) = mpsc::unbounded_channel();
    let (delivered, deliveries) = mpsc::unbounded_channel();
    (Arc::new(Relay { started, delivered }), starts, deliveries)
}

#[tokio::test]
async fn background_sending_returns_at_once_and_refuses_when_the_queue_is_full() {
    let (relay, mut starts, _deliveries) = relay();
    let mailer = BackgroundMailer::new(relay, 1, Duration::from_secs(3600));
    mailer.send(reset_mail("stall@example.com")).await.unwrap();
    assert_eq!(starts.recv().await.unwrap(), "stall@example.com");
    // The first is being sent (forever); one more fits in the queue, the next does not.
    mailer.send(reset_mail("bob@example.com")).await.unwrap();
    let full = mailer
        .send(reset_mail("cat@example.com"))
        .await
        .unwrap_err();
    assert!(full.to_string().contains("queue is full"), "{full}");
}

#[tokio::test(start_paused = true)]
async fn a_mail_that_takes_too_long_is_given_up_without_logging_it_and_the_next_goes_out() {
    let (log, _guard) = Log::capture();
    let (relay, _starts, mut deliveries) = relay();
    let mailer = BackgroundMailer::new(relay, 8, Duration::from_secs(30));
    mailer.send(reset_mail("stall@example.com")).await.unwrap();
    mailer.send(reset_mail("bob@example.com")).await.unwrap();
    let delivered = deliveries.recv().await.unwrap();
    assert_eq!(delivered.to, "bob@example.com");
    assert_eq!(delivered.body, reset_mail("bob@example.com").body);
    let text = log.text();
    assert!(text.contains("mail not delivered in time"), "{text}");
    assert!(text.contains("Reset your password"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}
