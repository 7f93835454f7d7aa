//! The binary's configuration: command-line flags, each also an environment variable
//! (`JECO_...`), over an optional TOML file (`--config`), over the defaults. Every setting is
//! optional: with none, the server runs on the embedded defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use jeco_core::mailer::{LogMailer, Mailer};
use jeco_core::{Engine, Limits};
use serde::Deserialize;

use crate::ratelimit::Rate;
use crate::shared::RedisShared;
use crate::smtp::{Secret, SmtpMailer, SmtpSettings, SmtpTls};
use crate::state::ConnectionLimits;
use crate::state::ServerConfig;

/// A configuration problem, reported before the server starts.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// `jeco-server`: the Jeco Chat reference server.
#[derive(Debug, Parser)]
#[command(name = "jeco-server", version, about)]
pub struct Cli {
    /// A TOML file with any of the settings below (flag names with `_` for `-`).
    #[arg(long, env = "JECO_CONFIG")]
    pub config: Option<PathBuf>,
    /// The settings.
    #[command(flatten)]
    pub options: Options,
    /// Something else to do than serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `jeco-server` can do besides serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Print the OpenAPI document (what `GET /v1/openapi.json` serves, without `servers`) as
    /// JSON with sorted keys, and exit. Opens no database and binds no port.
    Openapi,
}

/// Every setting. Unset ones fall back to the config file, then to the default.
#[derive(Debug, Default, Clone, Parser, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "JECO_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite database, uploads and the token signing key
    /// [default: ./jeco-data].
    #[arg(long, env = "JECO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host/db); SQLite in the data directory when unset.
    #[arg(long, env = "JECO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most connections to PostgreSQL this node opens [default: 16].
    #[arg(long, env = "JECO_DATABASE_POOL")]
    pub database_pool: Option<u32>,
    /// Redis URL (redis://host:port/db). Set it to run several nodes on one PostgreSQL
    /// database: events, presence, typing, rate limits and real-time tickets are then shared
    /// through Redis. Unset: everything stays in this process.
    #[arg(long, env = "JECO_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments sharing one Redis stay apart
    /// [default: jeco:].
    #[arg(long, env = "JECO_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// Seconds after which the users of a node that stopped without a goodbye (killed,
    /// crashed, cut off) stop counting as online [default: 10].
    #[arg(long, env = "JECO_NODE_TIMEOUT_SECS")]
    pub node_timeout_secs: Option<u64>,
    /// Directory of the web client's static files, served at `/` [default:
    /// `examples/web/dist` if it exists in the working directory].
    #[arg(long, env = "JECO_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// File holding the access-token signing secret (default: `<data dir>/jwt.key`, created
    /// on first start). All nodes of one deployment need the same secret.
    #[arg(long, env = "JECO_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// Origins allowed to call the API from browsers (comma-separated) [default: none].
    #[arg(long, env = "JECO_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Take client addresses from X-Forwarded-For (only behind a trusted proxy); the
    /// proxy's `X-Forwarded-Proto: https` then also makes the refresh cookie `Secure`.
    #[arg(long, env = "JECO_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Mark the browsers' refresh-token cookie (`jeco_refresh`) `Secure`, so it only travels
    /// over HTTPS. Turn it on whenever browsers reach the server over HTTPS [default: off].
    #[arg(long, env = "JECO_SECURE_COOKIES", num_args = 0..=1, default_missing_value = "true")]
    pub secure_cookies: Option<bool>,
    /// The web page that completes a password reset (default:
    /// `http://<listen>/reset-password`).
    #[arg(long, env = "JECO_RESET_LINK")]
    pub reset_link: Option<String>,
    /// Mail server (host name) for password-reset mail. Unset: mail is written to the log,
    /// the reset link redacted.
    #[arg(long, env = "JECO_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// The mail server's port [default: 465 with `tls`, 587 with `starttls`, 25 with `none`].
    #[arg(long, env = "JECO_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// How the connection to the mail server is protected: `tls` (from the first byte),
    /// `starttls`, or `none` (only for a relay on this host or a private network)
    /// [default: starttls].
    #[arg(long, env = "JECO_SMTP_TLS", value_enum)]
    pub smtp_tls: Option<SmtpTls>,
    /// User to sign in to the mail server as (with `smtp_password`).
    #[arg(long, env = "JECO_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// Password for `smtp_user`. Prefer the environment variable: flags show in the process
    /// list.
    #[arg(long, env = "JECO_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<Secret>,
    /// Sender of password-reset mail, e.g. `Jeco Chat <noreply@chat.example>`; needed with
    /// `smtp_host`.
    #[arg(long, env = "JECO_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Without a mail server, write reset links to the log whole instead of redacted. Anyone
    /// who reads the log can then take over accounts: for development only.
    #[arg(long, env = "JECO_LOG_MAIL_SECRETS", num_args = 0..=1, default_missing_value = "true")]
    pub log_mail_secrets: Option<bool>,
    /// Largest JSON request body in bytes [default: 65536].
    #[arg(long, env = "JECO_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest upload in bytes [default: 10485760].
    #[arg(long, env = "JECO_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Longest message in characters [default: 4000].
    #[arg(long, env = "JECO_MAX_MESSAGE_CHARS")]
    pub max_message_chars: Option<usize>,
    /// Messages per second one user may send, sustained [default: 10].
    #[arg(long, env = "JECO_SEND_RATE")]
    pub send_rate: Option<f64>,
    /// Messages one user may send in a burst [default: 30].
    #[arg(long, env = "JECO_SEND_BURST")]
    pub send_burst: Option<f64>,
    /// Edits, deletes, reactions and read markers per second per user, sustained
    /// [default: 10].
    #[arg(long, env = "JECO_CHANGE_RATE")]
    pub change_rate: Option<f64>,
    /// Edits, deletes, reactions and read markers one user may make in a burst [default: 30].
    #[arg(long, env = "JECO_CHANGE_BURST")]
    pub change_burst: Option<f64>,
    /// Typing indications per second per user, sustained [default: 2].
    #[arg(long, env = "JECO_TYPING_RATE")]
    pub typing_rate: Option<f64>,
    /// Typing indications one user may send in a burst [default: 10].
    #[arg(long, env = "JECO_TYPING_BURST")]
    pub typing_burst: Option<f64>,
    /// `resume` commands per second per user, sustained [default: 1].
    #[arg(long, env = "JECO_RESUME_RATE")]
    pub resume_rate: Option<f64>,
    /// `resume` commands one user may send in a burst [default: 5].
    #[arg(long, env = "JECO_RESUME_BURST")]
    pub resume_burst: Option<f64>,
    /// Login, register, refresh and reset attempts per minute per address [default: 12].
    #[arg(long, env = "JECO_AUTH_RATE_PER_MINUTE")]
    pub auth_rate_per_minute: Option<f64>,
    /// Real-time connections one user may hold [default: 16].
    #[arg(long, env = "JECO_MAX_CONNECTIONS_PER_USER")]
    pub max_connections_per_user: Option<usize>,
    /// Seconds a real-time client may take to accept a write before it is disconnected
    /// [default: 10].
    #[arg(long, env = "JECO_WRITE_TIMEOUT_SECS")]
    pub write_timeout_secs: Option<u64>,
    /// Most connections open at once on the listen address, WebSockets and SSE streams
    /// included; more are closed as soon as they arrive [default: 10000, or 90% of the
    /// open-file limit when that is lower].
    #[arg(long, env = "JECO_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send a complete request head, counted from when the
    /// connection opened or its previous answer went out [default: 10].
    #[arg(long, env = "JECO_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds an HTTP connection may go without a byte read or written before it is
    /// dropped (a stalled upload, a client that stopped reading); at least 20, since SSE
    /// streams send a keep-alive every 15 [default: 60].
    #[arg(long, env = "JECO_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Serve `GET /metrics` on this address of its own (keep it private), besides or
    /// instead of the listen address [default: none].
    #[arg(long, env = "JECO_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Bearer token that `GET /metrics` requires. With it the metrics are served on the
    /// listen address too; without it only on `--metrics-addr` [default: none].
    #[arg(long, env = "JECO_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds an upload may send nothing before it is cut off [default: 30].
    #[arg(long, env = "JECO_UPLOAD_IDLE_TIMEOUT_SECS")]
    pub upload_idle_timeout_secs: Option<u64>,
    /// Seconds an upload may take in all [default: 600].
    #[arg(long, env = "JECO_UPLOAD_TIMEOUT_SECS")]
    pub upload_timeout_secs: Option<u64>,
    /// Uploads one user may have in flight at once [default: 4].
    #[arg(long, env = "JECO_MAX_UPLOADS_PER_USER")]
    pub max_uploads_per_user: Option<usize>,
    /// Uploads in flight at once on this node, of all users [default: 64].
    #[arg(long, env = "JECO_MAX_UPLOADS")]
    pub max_uploads: Option<usize>,
}

macro_rules! merge {
    ($first:expr, $second:expr, $($field:ident),* $(,)?) => {
        Options { $($field: $first.$field.or($second.$field)),* }
    };
}

impl Options {
    /// Settings from `self`, falling back to `other` where unset.
    fn or(self, other: Options) -> Options {
        merge!(
            self,
            other,
            listen,
            data_dir,
            database_url,
            database_pool,
            redis_url,
            redis_prefix,
            node_timeout_secs,
            web_dir,
            jwt_secret_file,
            cors_origins,
            trust_forwarded_for,
            secure_cookies,
            reset_link,
            smtp_host,
            smtp_port,
            smtp_tls,
            smtp_user,
            smtp_password,
            mail_from,
            log_mail_secrets,
            max_body_bytes,
            max_upload_bytes,
            max_message_chars,
            send_rate,
            send_burst,
            change_rate,
            change_burst,
            typing_rate,
            typing_burst,
            resume_rate,
            resume_burst,
            auth_rate_per_minute,
            max_connections_per_user,
            write_timeout_secs,
            max_connections,
            header_timeout_secs,
            idle_timeout_secs,
            metrics_addr,
            metrics_token,
            upload_idle_timeout_secs,
            upload_timeout_secs,
            max_uploads_per_user,
            max_uploads,
        )
    }
}

/// Where a built web client is looked for when `web_dir` is not set, relative to the working
/// directory: `cargo run -p jeco-server` from the repository root then serves it.
pub const DEFAULT_WEB_DIR: &str = "examples/web/dist";

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Everything else as given.
    pub options: Options,
}

impl Settings {
    /// Flags and environment over the config file (if any) over the defaults.
    pub fn from_cli(cli: Cli) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("reading {}: {e}", path.display())))?;
                toml::from_str(&text)
                    .map_err(|e| ConfigError(format!("in {}: {e}", path.display())))?
            }
            None => Options::default(),
        };
        let options = cli.options.or(file);
        let listen = options
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        Ok(Settings { listen, options })
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.options
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./jeco-data"))
    }

    /// The web client's directory: `web_dir` if set, else [`DEFAULT_WEB_DIR`] if it exists.
    pub fn web_dir(&self) -> Option<PathBuf> {
        self.options.web_dir.clone().or_else(|| {
            let built = PathBuf::from(DEFAULT_WEB_DIR);
            built.is_dir().then_some(built)
        })
    }

    /// Opens the engine these settings describe.
    pub async fn engine(&self) -> Result<Engine, ConfigError> {
        let data_dir = self.data_dir();
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| ConfigError(format!("creating {}: {e}", data_dir.display())))?;
        let mut limits = Limits::default();
        if let Some(n) = self.options.max_message_chars {
            limits.message_chars = n;
        }
        if let Some(n) = self.options.max_upload_bytes {
            limits.upload_bytes = n;
        }
        let reset_link = self
            .options
            .reset_link
            .clone()
            .unwrap_or_else(|| format!("http://{}/reset-password", self.listen));
        let mut builder = Engine::builder()
            .data_dir(&data_dir)
            .limits(limits)
            .reset_link(reset_link)
            .mailer(self.mailer()?);
        if let Some(file) = &self.options.jwt_secret_file {
            builder = builder.jwt_secret_file(file);
        }
        if let Some(url) = &self.options.database_url {
            builder = builder.postgres(url.clone());
            if let Some(pool) = self.options.database_pool {
                builder = builder.postgres_pool(pool);
            }
        }
        if let Some(url) = &self.options.redis_url {
            builder = builder.redis(url.clone(), self.redis_prefix(), self.node_timeout()?);
        }
        builder
            .build()
            .await
            .map_err(|e| ConfigError(format!("starting the engine: {e:?}")))
    }

    /// Where password-reset mail goes: the SMTP server, in the background, when
    /// `smtp_host` is set; the log otherwise. Must be called within a tokio runtime.
    pub fn mailer(&self) -> Result<Arc<dyn Mailer>, ConfigError> {
        let o = &self.options;
        let Some(host) = &o.smtp_host else {
            if o.smtp_port.is_some()
                || o.smtp_tls.is_some()
                || o.smtp_user.is_some()
                || o.smtp_password.is_some()
            {
                return Err(ConfigError(
                    "the smtp_* settings need smtp_host (the mail server)".to_owned(),
                ));
            }
            if o.log_mail_secrets == Some(true) {
                tracing::warn!(
                    "log_mail_secrets is on: password-reset links are written to the log, and \
                     anyone who reads it can take over the accounts they were sent for. \
                     Use it only for development"
                );
                return Ok(Arc::new(LogMailer::showing_secrets()));
            }
            return Ok(Arc::new(LogMailer::redacting()));
        };
        if o.log_mail_secrets == Some(true) {
            return Err(ConfigError(
                "log_mail_secrets applies only without a mail server (smtp_host)".to_owned(),
            ));
        }
        let credentials = match (&o.smtp_user, &o.smtp_password) {
            (Some(user), Some(password)) => Some((user.clone(), password.clone())),
            (None, None) => None,
            _ => {
                return Err(ConfigError(
                    "smtp_user and smtp_password go together".to_owned(),
                ));
            }
        };
        let from = o.mail_from.clone().ok_or_else(|| {
            ConfigError("smtp_host needs mail_from (the sender of reset mail)".to_owned())
        })?;
        let mailer = SmtpMailer::new(&SmtpSettings {
            host: host.clone(),
            port: o.smtp_port,
            tls: o.smtp_tls.unwrap_or_default(),
            credentials,
            from,
        })
        .map_err(|e| ConfigError(e.to_string()))?;
        Ok(Arc::new(mailer.in_background()))
    }

    /// The prefix of Redis keys and channels.
    pub fn redis_prefix(&self) -> String {
        self.options
            .redis_prefix
            .clone()
            .unwrap_or_else(|| "jeco:".to_owned())
    }

    fn node_timeout(&self) -> Result<std::time::Duration, ConfigError> {
        match self.options.node_timeout_secs {
            None => Ok(std::time::Duration::from_secs(10)),
            Some(0) => Err(ConfigError(
                "node_timeout_secs must be at least 1".to_owned(),
            )),
            Some(secs) => Ok(std::time::Duration::from_secs(secs)),
        }
    }

    /// Rate limits and tickets shared with the other nodes, when Redis is configured.
    pub fn shared(&self) -> Result<Option<RedisShared>, ConfigError> {
        self.options
            .redis_url
            .as_deref()
            .map(|url| RedisShared::new(url, &self.redis_prefix()))
            .transpose()
            .map_err(|e| ConfigError(format!("redis_url: {e}")))
    }

    /// The bounds on connections to the listen address.
    pub fn connection_limits(&self) -> Result<ConnectionLimits, ConfigError> {
        let o = &self.options;
        let defaults = ConnectionLimits::default();
        let max_connections = match o.max_connections {
            Some(0) => return Err(ConfigError("max_connections must be at least 1".to_owned())),
            Some(n) => n,
            None => default_max_connections(defaults.max_connections),
        };
        let header_timeout = match o.header_timeout_secs {
            Some(0) => {
                return Err(ConfigError(
                    "header_timeout_secs must be at least 1".to_owned(),
                ));
            }
            Some(secs) => Duration::from_secs(secs),
            None => defaults.header_timeout,
        };
        let idle_timeout = match o.idle_timeout_secs {
            Some(secs) if secs < MIN_IDLE_TIMEOUT_SECS => {
                return Err(ConfigError(format!(
                    "idle_timeout_secs must be at least {MIN_IDLE_TIMEOUT_SECS}, longer than \
                     the 15 seconds between SSE keep-alives"
                )));
            }
            Some(secs) => Duration::from_secs(secs),
            None => defaults.idle_timeout,
        };
        Ok(ConnectionLimits {
            max_connections,
            header_timeout,
            idle_timeout,
        })
    }

    /// The HTTP and real-time settings.
    pub fn server_config(&self, engine: &Engine) -> Result<ServerConfig, ConfigError> {
        let defaults = ServerConfig::default();
        let o = &self.options;
        Ok(ServerConfig {
            body_bytes: o.max_body_bytes.unwrap_or(defaults.body_bytes),
            send_rate: rate(o.send_rate, o.send_burst, defaults.send_rate),
            change_rate: rate(o.change_rate, o.change_burst, defaults.change_rate),
            typing_rate: rate(o.typing_rate, o.typing_burst, defaults.typing_rate),
            resume_rate: rate(o.resume_rate, o.resume_burst, defaults.resume_rate),
            auth_rate: match o.auth_rate_per_minute.filter(|n| *n > 0.0) {
                Some(per_minute) => Rate {
                    per_second: per_minute / 60.0,
                    burst: per_minute.max(1.0),
                },
                None => defaults.auth_rate,
            },
            max_connections_per_user: o
                .max_connections_per_user
                .unwrap_or(defaults.max_connections_per_user),
            cors_origins: o.cors_origins.clone().unwrap_or_default(),
            trust_forwarded_for: o.trust_forwarded_for.unwrap_or(false),
            secure_cookies: o.secure_cookies.unwrap_or(false),
            web_dir: self.web_dir(),
            upload_bytes: engine.limits().upload_bytes,
            write_timeout: o
                .write_timeout_secs
                .map_or(defaults.write_timeout, |s| Duration::from_secs(s.max(1))),
            connection_limits: self.connection_limits()?,
            metrics_token: o.metrics_token.clone().filter(|t| !t.is_empty()),
            upload_idle_timeout: o
                .upload_idle_timeout_secs
                .map_or(defaults.upload_idle_timeout, |s| {
                    Duration::from_secs(s.max(1))
                }),
            upload_timeout: o
                .upload_timeout_secs
                .map_or(defaults.upload_timeout, |s| Duration::from_secs(s.max(1))),
            max_uploads_per_user: o
                .max_uploads_per_user
                .map_or(defaults.max_uploads_per_user, |n| n.max(1)),
            max_uploads: o.max_uploads.map_or(defaults.max_uploads, |n| n.max(1)),
            ..defaults
        })
    }
}

/// The shortest idle timeout: SSE streams are quiet for up to 15 seconds between keep-alives.
const MIN_IDLE_TIMEOUT_SECS: u64 = 20;

/// `cap`, or 90% of the process's open-file limit when that is lower: the rest is for the
/// database, uploads being written and the listeners themselves, so that a full house does
/// not make the server fail to open a file.
fn default_max_connections(cap: usize) -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        let usable = usize::try_from(soft / 10 * 9).unwrap_or(usize::MAX);
        return cap.min(usable).max(1);
    }
    cap
}

/// A rate from its flags, each falling back to `default`'s; a rate of 0 or less would refuse
/// everything forever, so it counts as unset.
fn rate(per_second: Option<f64>, burst: Option<f64>, default: Rate) -> Rate {
    Rate {
        per_second: per_second
            .filter(|r| *r > 0.0)
            .unwrap_or(default.per_second),
        burst: burst.filter(|b| *b >= 1.0).unwrap_or(default.burst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jeco.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\nsend_rate = 2.5\ncors_origins = [\"https://chat.example\"]\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "jeco-server",
            "--config",
            file.to_str().unwrap(),
            "--send-rate",
            "7",
            "--data-dir",
            "/srv/jeco",
        ])
        .unwrap();
        let settings = Settings::from_cli(cli).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(settings.options.send_rate, Some(7.0));
        assert_eq!(settings.data_dir(), PathBuf::from("/srv/jeco"));
        assert_eq!(
            settings.options.cors_origins,
            Some(vec!["https://chat.example".to_owned()])
        );
        assert_eq!(settings.options.max_body_bytes, None);
    }

    #[test]
    fn the_smtp_password_never_shows() {
        let cli = Cli::try_parse_from([
            "jeco-server",
            "--smtp-host",
            "mail.example",
            "--smtp-user",
            "jeco",
            "--smtp-password",
            "hunter2-hunter2",
        ])
        .unwrap();
        let settings = Settings::from_cli(cli).unwrap();
        assert_eq!(
            settings.options.smtp_password.as_ref().map(Secret::expose),
            Some("hunter2-hunter2")
        );
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[tokio::test]
    async fn mail_settings_that_cannot_work_are_refused() {
        for args in [
            &["--smtp-port", "25"][..],
            &["--smtp-host", "mail.example"][..],
            &[
                "--smtp-host",
                "mail.example",
                "--mail-from",
                "a@b.example",
                "--smtp-user",
                "jeco",
            ][..],
            &[
                "--smtp-host",
                "mail.example",
                "--mail-from",
                "a@b.example",
                "--log-mail-secrets",
            ][..],
            &[
                "--smtp-host",
                "mail.example",
                "--mail-from",
                "not an address",
            ][..],
        ] {
            let cli =
                Cli::try_parse_from(std::iter::once("jeco-server").chain(args.iter().copied()))
                    .unwrap();
            let settings = Settings::from_cli(cli).unwrap();
            assert!(settings.mailer().is_err(), "{args:?}");
        }
    }

    #[test]
    fn connection_limits_come_from_flags_and_refuse_nonsense() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(["jeco-server"].iter().chain(args)).unwrap();
            Settings::from_cli(cli).unwrap().connection_limits()
        };
        let limits = parse(&[
            "--max-connections",
            "500",
            "--header-timeout-secs",
            "3",
            "--idle-timeout-secs",
            "90",
        ])
        .unwrap();
        assert_eq!(
            limits,
            ConnectionLimits {
                max_connections: 500,
                header_timeout: Duration::from_secs(3),
                idle_timeout: Duration::from_secs(90),
            }
        );
        let defaults = parse(&[]).unwrap();
        assert!((1..=10_000).contains(&defaults.max_connections));
        assert_eq!(defaults.header_timeout, Duration::from_secs(10));
        assert_eq!(defaults.idle_timeout, Duration::from_secs(60));
        for nonsense in [
            ["--max-connections", "0"],
            ["--header-timeout-secs", "0"],
            ["--idle-timeout-secs", "15"],
        ] {
            assert!(parse(&nonsense).is_err(), "{nonsense:?} was taken");
        }
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jeco.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let cli = Cli::try_parse_from(["jeco-server", "--config", file.to_str().unwrap()]).unwrap();
        let err = Settings::from_cli(cli).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }
}
