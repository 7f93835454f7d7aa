//! The binary's configuration: command-line flags, each also an environment variable
//! (`JECO_...`), over an optional TOML file (`--config`), over the defaults. Every setting is
//! optional: with none, the server runs on the embedded defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use jeco_core::{Engine, Limits};
use serde::Deserialize;

use crate::ratelimit::Rate;
use crate::shared::RedisShared;
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
    /// Directory of the web client's static files, served at `/`.
    #[arg(long, env = "JECO_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// File holding the access-token signing secret (default: `<data dir>/jwt.key`, created
    /// on first start). All nodes of one deployment need the same secret.
    #[arg(long, env = "JECO_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// Origins allowed to call the API from browsers (comma-separated) [default: none].
    #[arg(long, env = "JECO_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Take client addresses from X-Forwarded-For (only behind a trusted proxy).
    #[arg(long, env = "JECO_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// The web page that completes a password reset (default:
    /// `http://<listen>/reset-password`).
    #[arg(long, env = "JECO_RESET_LINK")]
    pub reset_link: Option<String>,
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
            reset_link,
            max_body_bytes,
            max_upload_bytes,
            max_message_chars,
            send_rate,
            send_burst,
            change_rate,
            change_burst,
            typing_rate,
            typing_burst,
            auth_rate_per_minute,
            max_connections_per_user,
            write_timeout_secs,
            upload_idle_timeout_secs,
            upload_timeout_secs,
            max_uploads_per_user,
            max_uploads,
        )
    }
}

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
            .reset_link(reset_link);
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

    /// The HTTP and real-time settings.
    pub fn server_config(&self, engine: &Engine) -> ServerConfig {
        let defaults = ServerConfig::default();
        let o = &self.options;
        ServerConfig {
            body_bytes: o.max_body_bytes.unwrap_or(defaults.body_bytes),
            send_rate: rate(o.send_rate, o.send_burst, defaults.send_rate),
            change_rate: rate(o.change_rate, o.change_burst, defaults.change_rate),
            typing_rate: rate(o.typing_rate, o.typing_burst, defaults.typing_rate),
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
            web_dir: o.web_dir.clone(),
            upload_bytes: engine.limits().upload_bytes,
            write_timeout: o
                .write_timeout_secs
                .map_or(defaults.write_timeout, |s| Duration::from_secs(s.max(1))),
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
        }
    }
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
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jeco.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let cli = Cli::try_parse_from(["jeco-server", "--config", file.to_str().unwrap()]).unwrap();
        let err = Settings::from_cli(cli).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }
}
