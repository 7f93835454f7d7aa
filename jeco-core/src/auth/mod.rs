//! Credentials: password hashing, access tokens (JWT) and their signing key, opaque random
//! tokens.
//!
//! Nothing here touches the store; [`crate::service::Accounts`] combines these pieces with it.

mod keyfile;
mod password;
mod token;

pub(crate) use keyfile::load_or_create_secret;
pub use password::PasswordHashing;
pub(crate) use password::{hash_password, verify_password};
pub use token::AccessClaims;
pub(crate) use token::{JwtKeys, OpaqueToken, random_key};
