//! Credentials: password hashing at the engine's default cost, access-token checks, and the
//! digests of refresh tokens.
//!
//! Access tokens are checked through the engine itself (`Accounts::authenticate`, which every
//! authenticated request and real-time connection runs), and a whole login goes through
//! `Accounts::login` on a SQLite engine. The hashing primitives the engine keeps private
//! (argon2id with [`PasswordHashing::default`], token signing, the SHA-256 digest of a refresh
//! token) are measured by repeating the engine's own calls with the same parameters; a check at
//! start-up makes sure the password hash has the shape the engine's stored hashes have.
//!
//! Run: `cargo bench -p jeco-core --bench auth`.

// Setup that cannot fail in practice; a bench that panics on it is as good as a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use jeco_core::Engine;
use jeco_core::auth::{AccessClaims, PasswordHashing};
use jsonwebtoken::{EncodingKey, Header};
use rand::RngCore;
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery 7";
const SECRET: &[u8] = b"bench secret, 32 bytes or longer!";

/// Argon2id with the given cost, configured as the engine configures it.
fn argon2(cost: PasswordHashing) -> Argon2<'static> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The engine's password hash: a fresh salt and a PHC string.
fn hash_password(cost: PasswordHashing, password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2(cost)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// The engine's password check: the cost comes from the stored hash.
fn verify_password(password: &str, hash: &str) -> bool {
    let parsed = PasswordHash::new(hash).unwrap();
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// The digest a refresh token is stored and looked up under: SHA-256, hex.
fn token_digest(secret: &str) -> String {
    let sum = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in sum {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// A fresh refresh token and its digest, as login and refresh make one.
fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_digest(&secret);
    (secret, digest)
}

fn passwords(c: &mut Criterion) {
    let cost = PasswordHashing::default();
    let hash = hash_password(cost, PASSWORD);
    // The engine's stored hashes (and its constant-time dummy hash) start like this.
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "unexpected hash shape: {hash}"
    );
    assert!(verify_password(PASSWORD, &hash));

    let mut group = c.benchmark_group("password");
    // Tens of milliseconds each: few, equally sized samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.bench_function("hash_default", |b| {
        b.iter(|| hash_password(black_box(cost), black_box(PASSWORD)))
    });
    group.bench_function("verify_default", |b| {
        b.iter(|| verify_password(black_box(PASSWORD), black_box(&hash)))
    });
    group.finish();
}

fn tokens(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The default password cost, so that `login` costs what it costs in production.
    let (engine, access_token) = rt.block_on(async {
        let engine = Engine::builder()
            .data_dir(dir.path())
            .jwt_secret(SECRET)
            .build()
            .await
            .unwrap();
        let session = engine
            .accounts()
            .register("alice", "alice@example.com", PASSWORD)
            .await
            .unwrap();
        (engine, session.tokens.access_token)
    });
    let forged = rt.block_on(async {
        let other_dir = tempfile::tempdir().unwrap();
        let other = Engine::builder()
            .data_dir(other_dir.path())
            .jwt_secret(b"some other secret, also 32 bytes!".to_vec())
            .password_hashing(PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            })
            .build()
            .await
            .unwrap();
        let session = other
            .accounts()
            .register("alice", "alice@example.com", PASSWORD)
            .await
            .unwrap();
        session.tokens.access_token
    });
    let accounts = engine.accounts();
    assert!(accounts.authenticate(&access_token).is_ok());
    assert!(accounts.authenticate(&forged).is_err());

    let mut group = c.benchmark_group("access_token");
    group.bench_function("verify", |b| {
        b.iter(|| accounts.authenticate(black_box(&access_token)))
    });
    group.bench_function("verify_forged", |b| {
        b.iter(|| accounts.authenticate(black_box(&forged)))
    });
    let key = EncodingKey::from_secret(SECRET);
    let claims = AccessClaims {
        sub: "1001".to_owned(),
        iat: 1_767_225_600,
        exp: 1_767_226_500,
    };
    group.bench_function("issue", |b| {
        b.iter(|| {
            jsonwebtoken::encode(
                &Header::new(jsonwebtoken::Algorithm::HS256),
                black_box(&claims),
                &key,
            )
            .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("refresh_token");
    let (secret, _) = new_refresh_token();
    group.bench_function("digest", |b| b.iter(|| token_digest(black_box(&secret))));
    group.bench_function("generate", |b| b.iter(new_refresh_token));
    group.finish();

    let mut group = c.benchmark_group("login");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    let engine_ref = &engine;
    group.bench_function("sqlite_default_cost", |b| {
        b.to_async(&rt).iter(move || async move {
            engine_ref
                .accounts()
                .login("alice", PASSWORD)
                .await
                .unwrap()
        })
    });
    group.finish();

    drop(engine);
    drop(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = passwords, tokens
}
criterion_main!(benches);
