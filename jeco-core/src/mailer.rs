//! Outgoing mail (password resets) behind the [`Mailer`] trait.
//!
//! A reset mail carries a token that signs its holder in as the recipient, so the token must
//! reach the recipient's inbox and nothing else: a [`Mail`] names its secrets, and whatever
//! shows a mail anywhere else (the log, `Debug`) shows them as [`REDACTED`]. Mailers that
//! talk to a mail server sit behind a [`BackgroundMailer`], so that a request never waits
//! for the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

/// What a mail's secrets are replaced with wherever the mail is shown.
pub const REDACTED: &str = "[redacted]";

/// One mail to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Parts of `body` that grant access to the recipient's account (a reset token): they
    /// must appear nowhere but in the delivered mail.
    pub secrets: Vec<String>,
}

impl Mail {
    /// The body with every secret replaced by [`REDACTED`].
    pub fn redacted_body(&self) -> String {
        self.secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .fold(self.body.clone(), |body, secret| {
                body.replace(secret.as_str(), REDACTED)
            })
    }
}

/// Shows the body redacted, so that logging a mail with `{:?}` gives nothing away.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &self.redacted_body())
            .finish_non_exhaustive()
    }
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
/// without a mail server can see that mail would go out. Its secrets are redacted unless
/// the mailer was made with [`LogMailer::showing_secrets`]: then anyone who reads the log
/// can complete a password reset, which is only right on a developer's machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer {
    show_secrets: bool,
}

impl LogMailer {
    /// Logs mail with its secrets redacted.
    pub fn redacting() -> LogMailer {
        LogMailer {
            show_secrets: false,
        }
    }

    /// Logs mail whole, secrets included: for development only.
    pub fn showing_secrets() -> LogMailer {
        LogMailer { show_secrets: true }
    }
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let body = if self.show_secrets {
            mail.body
        } else {
            mail.redacted_body()
        };
        tracing::info!(target: "jeco::mail", to = %mail.to, subject = %mail.subject, "\n{body}");
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

/// Hands mail to another mailer on a task of its own, so that sending returns at once
/// whatever the mail server does.
///
/// Mail waits in a bounded queue: when it is full (the server is down or slow and mail
/// keeps coming), [`Mailer::send`] fails at once rather than holding memory or the request.
/// Each mail gets `timeout` to be delivered. A failure is logged with the subject and the
/// error, never the body. Mail still queued when the process exits is lost; a reset can be
/// asked for again.
#[derive(Debug)]
pub struct BackgroundMailer {
    queue: mpsc::Sender<Mail>,
}

impl BackgroundMailer {
    /// Sends through `inner`, at most `capacity` mails waiting. Must be called within a
    /// tokio runtime, which runs the sending task until the mailer is dropped.
    pub fn new(inner: Arc<dyn Mailer>, capacity: usize, timeout: Duration) -> BackgroundMailer {
        let (queue, mut waiting) = mpsc::channel::<Mail>(capacity.max(1));
        tokio::spawn(async move {
            while let Some(mail) = waiting.recv().await {
                let subject = mail.subject.clone();
                match tokio::time::timeout(timeout, inner.send(mail)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::error!(target: "jeco::mail", %subject, error = %e, "mail not delivered");
                    }
                    Err(_) => {
                        tracing::error!(target: "jeco::mail", %subject, ?timeout, "mail not delivered in time");
                    }
                }
            }
        });
        BackgroundMailer { queue }
    }
}

#[async_trait]
impl Mailer for BackgroundMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.queue.try_send(mail).map_err(|e| {
            MailError(match e {
                mpsc::error::TrySendError::Full(_) => "the mail queue is full".into(),
                mpsc::error::TrySendError::Closed(_) => "the mail queue is closed".into(),
            })
        })
    }
}

#[cfg(test)]
mod tests;
