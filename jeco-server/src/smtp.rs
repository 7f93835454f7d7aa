//! Mail over SMTP (lettre on tokio with rustls), for the binary and for any embedder that
//! has a mail server.
//!
//! [`SmtpMailer`] sends one mail per connection, which is plenty for password resets, and
//! waits for the server's answer: put it behind a [`jeco_core::mailer::BackgroundMailer`]
//! ([`SmtpMailer::in_background`]) so that no request waits for the mail server. The
//! password is kept in a [`Secret`], which never shows in `Debug` output or logs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jeco_core::mailer::{BackgroundMailer, Mail, MailError, Mailer};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// Most mails waiting to be sent; past that, a reset request is answered as usual but its
/// mail is dropped (and the drop logged).
pub const QUEUE: usize = 256;

/// How long one mail may take, connecting included, before it is given up.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SmtpTls {
    /// TLS from the first byte (SMTPS, port 465 by default).
    Tls,
    /// A plain connection upgraded with STARTTLS before anything else is said; refused if
    /// the server cannot upgrade (port 587 by default).
    #[default]
    Starttls,
    /// No encryption, for a relay on the same host or private network (port 25 by default).
    None,
}

impl SmtpTls {
    /// The usual port of this mode.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Tls => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        }
    }
}

/// A value that must not be shown: `Debug` prints `[hidden]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[hidden]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Where and how to send mail.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// The mail server's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Its port; the mode's usual one when unset.
    pub port: Option<u16>,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// The user and password to sign in with, if the server asks for them.
    pub credentials: Option<(String, Secret)>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
}

/// A configuration problem of the SMTP settings.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SmtpError(String);

/// Sends each mail over a new SMTP connection.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `settings`; connects only when a mail is sent. Fails on a sender that
    /// is not an address.
    pub fn new(settings: &SmtpSettings) -> Result<SmtpMailer, SmtpError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| SmtpError(format!("mail_from {:?}: {e}", settings.from)))?;
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Tls | SmtpTls::Starttls => {
                let parameters = TlsParameters::new(settings.host.clone())
                    .map_err(|e| SmtpError(format!("TLS for {}: {e}", settings.host)))?;
                if settings.tls == SmtpTls::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port.unwrap_or(settings.tls.default_port()))
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some((user, password)) = &settings.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }

    /// This mailer behind a queue of [`QUEUE`] mails, each given [`TIMEOUT`]. Must be called
    /// within a tokio runtime.
    pub fn in_background(self) -> BackgroundMailer {
        BackgroundMailer::new(Arc::new(self), QUEUE, TIMEOUT)
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError(format!("the recipient is not an address: {e}").into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|e| MailError(Box::new(e)))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError(Box::new(e)))?;
        Ok(())
    }
}
