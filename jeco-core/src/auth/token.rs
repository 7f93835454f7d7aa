//! Access tokens are HS256 JWTs; refresh and reset tokens are opaque random strings of which
//! only a SHA-256 digest is stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};
use crate::ids::{Timestamp, UserId};

/// What an access token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id, as a decimal string (JWT subjects are strings).
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

impl AccessClaims {
    /// The authenticated user, if the subject is a user id.
    pub fn user_id(&self) -> Option<UserId> {
        self.sub.parse().ok().map(UserId)
    }
}

/// The key pair for signing and checking access tokens.
pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub(crate) fn new(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub(crate) fn issue(&self, user: UserId, now: Timestamp, expires: Timestamp) -> Result<String> {
        let claims = AccessClaims {
            sub: user.get().to_string(),
            iat: now.0 / 1000,
            exp: expires.0 / 1000,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)
    }

    pub(crate) fn verify(&self, token: &str) -> Result<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::new(
                    ErrorCode::TokenExpired,
                    "the access token expired; refresh it",
                ),
                _ => Error::new(
                    ErrorCode::InvalidToken,
                    "the access token is malformed or forged",
                ),
            })
    }
}

/// A fresh random token and the digest under which it is stored.
pub(crate) struct OpaqueToken {
    /// Given to the client once, never stored.
    pub(crate) secret: String,
    /// SHA-256 of the secret, hex; what the store keeps and looks up.
    pub(crate) digest: String,
}

impl OpaqueToken {
    pub(crate) fn generate() -> OpaqueToken {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let digest = OpaqueToken::digest_of(&secret);
        OpaqueToken { secret, digest }
    }

    /// The digest a presented token is looked up by. Random 256-bit tokens need no salt or
    /// slow hash: guessing one is hopeless, and a stolen table yields no usable token.
    pub(crate) fn digest_of(secret: &str) -> String {
        let sum = Sha256::digest(secret.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in sum {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }
}

/// A random key for blobs and similar names: 22 URL-safe characters.
pub(crate) fn random_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes).replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_and_expired_tokens_are_refused() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = Timestamp::now();
        let token = keys
            .issue(
                UserId(7),
                now,
                now.after(std::time::Duration::from_secs(60)),
            )
            .unwrap();
        assert_eq!(keys.verify(&token).unwrap().user_id(), Some(UserId(7)));

        let other = JwtKeys::new(b"another secret of enough length!");
        let forged = other.verify(&token).map(|c| c.user_id());
        assert_eq!(forged.unwrap_err().code(), ErrorCode::InvalidToken);

        let old = Timestamp(now.0 - 3_600_000);
        let expired = keys
            .issue(UserId(7), old, Timestamp(old.0 + 60_000))
            .unwrap();
        let expired = keys.verify(&expired).map(|c| c.user_id());
        assert_eq!(expired.unwrap_err().code(), ErrorCode::TokenExpired);
        assert!(keys.verify("not.a.jwt").is_err());
    }

    #[test]
    fn opaque_tokens_are_unique_and_digest_stably() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(OpaqueToken::digest_of(&a.secret), a.digest);
        assert_eq!(a.digest.len(), 64);
        assert!(!a.digest.contains(&a.secret));
    }
}
