//! # jeco-core
//!
//! The Jeco Chat engine: accounts, rooms, direct messages, messages, reactions, read markers,
//! notifications, contacts, presence and attachments, usable in-process by any Rust program.
//!
//! ```text
//! Engine (engine.rs)                  builder, limits, subscriptions
//!   └─ services (service/)            every authorization rule; one file per concern
//!        accounts · rooms · messages · notifications · contacts · presence · attachments
//!        ├─ commit.rs                 group commit of sends over any store; publish
//!        │                            order per room
//!        ├─ store/ (traits)           UserStore, TokenStore, RoomStore, MessageStore,
//!        │    └─ store/sql/           FeedStore, ContactStore, AttachmentStore;
//!        │                            SQLite and PostgreSQL share one implementation,
//!        │                            a file per trait
//!        ├─ pubsub.rs                 PubSub trait, node-local Hub, in-process backend
//!        │    └─ pubsub_redis.rs      Redis backend for several nodes (feature `redis`)
//!        │         redis_connection.rs the command connection of the Redis backends,
//!        │                            retried once after a dropped connection
//!        ├─ presence.rs               Presence trait, in-memory backend (never SQL)
//!        ├─ blob.rs                   BlobStore trait, local directory, type sniffing
//!        └─ mailer.rs                 Mailer trait, log (redacting) and memory mailers,
//!                                     the background queue for slow ones
//! event.rs                            Published: an event serialized once (types: jeco-proto)
//! observe.rs                          Observer: commit group sizes and times, Redis command
//!                                     times, for the application's metrics
//! auth/                               argon2id passwords, JWT access tokens, opaque tokens
//! validate.rs                         input rules (usernames, text, names, mentions)
//! error.rs                            Error with stable codes
//! session.rs                          one real-time connection, for any transport
//! testing.rs                          throwaway PostgreSQL databases and Redis servers for tests
//!                                     (feature `testing`)
//! ```
//!
//! A change flows one way: a service checks who may make it, the store commits it in one
//! transaction together with the room's next sequence number, and only then is the event
//! serialized once and published to subscribers. A subscriber that misses events (it was
//! offline, or fell behind and was dropped) asks [`service::Messages::changes_after`] for
//! everything after the last sequence it saw.

pub mod auth;
pub mod blob;
mod commit;
mod core;
mod engine;
pub mod error;
pub mod event;
mod limits;
pub mod mailer;
pub mod observe;
pub mod presence;
#[cfg(feature = "redis")]
pub mod presence_redis;
pub mod pubsub;
#[cfg(feature = "redis")]
pub mod pubsub_redis;
#[cfg(feature = "redis")]
pub mod redis_connection;
pub mod service;
pub mod session;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod validate;

pub use engine::{Engine, EngineBuilder, GENERAL_ROOM};
pub use error::{Error, ErrorKind, Result};
pub use jeco_proto::{ids, model};
pub use limits::Limits;
