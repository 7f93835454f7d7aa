//! Argon2id password hashes in PHC string form.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

/// Cost of the argon2id password hash.
///
/// The default follows OWASP's recommendation (19 MiB, 2 passes, 1 lane). Hashes record
/// their own parameters, so raising the cost later does not lock anyone out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Memory per hash in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        PasswordHashing {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

impl PasswordHashing {
    fn argon2(self) -> Result<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| Error::Internal(e.to_string().into()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes on the blocking pool: argon2 is deliberately slow and must not stall the runtime.
pub(crate) async fn hash_password(cost: PasswordHashing, password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        cost.argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(e.to_string().into()))
    })
    .await
    .map_err(Error::internal)?
}

/// Checks `password` against a stored PHC hash. A malformed hash counts as a mismatch.
pub(crate) async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(Error::internal)
}
