//! Outgoing mail (password resets) behind the [`Mailer`] trait.

use std::sync::Mutex;

use async_trait::async_trait;

/// One mail to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The recipient address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A mailer failed.
#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct MailError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one mail.
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}

/// The development default: writes each mail to the log at `info` level, so an operator
/// without a mail server can still complete a password reset from the console.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        tracing::info!(target: "jeco::mail", to = %mail.to, subject = %mail.subject, "\n{}", mail.body);
        Ok(())
    }
}

/// Keeps sent mail in memory: for embedding apps that deliver mail themselves, and for tests.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Mail>>,
}

impl MemoryMailer {
    /// An empty outbox.
    pub fn new() -> MemoryMailer {
        MemoryMailer::default()
    }

    /// Takes every mail sent so far.
    pub fn take(&self) -> Vec<Mail> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(mail);
        Ok(())
    }
}
