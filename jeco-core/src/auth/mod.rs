//! Credentials: password hashing, access tokens (JWT) and opaque random tokens.
//!
//! Nothing here touches the store; [`crate::service::Accounts`] combines these pieces with it.

mod password;
mod token;

pub use password::PasswordHashing;
pub(crate) use password::{hash_password, verify_password};
pub use token::AccessClaims;
pub(crate) use token::{JwtKeys, OpaqueToken, random_key};
