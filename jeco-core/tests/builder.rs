//! What `EngineBuilder` promises: the signing key kept in the data directory (sessions
//! survive a restart), the PostgreSQL pool no larger than asked for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jeco_core::Engine;
use jeco_core::auth::PasswordHashing;
use jeco_core::testing::TestDatabase;
use sqlx::Connection;

fn fast() -> PasswordHashing {
    PasswordHashing {
        memory_kib: 256,
        iterations: 1,
    }
}

#[tokio::test]
async fn access_tokens_outlive_a_restart_on_the_default_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = Engine::builder()
        .data_dir(dir.path())
        .password_hashing(fast())
        .build()
        .await
        .unwrap();
    let session = first
        .accounts()
        .register("ann", "ann@example.com", "correct horse 9")
        .await
        .unwrap();
    let token = session.tokens.access_token;
    assert_eq!(
        first.accounts().authenticate(&token).unwrap(),
        session.account.profile.id
    );
    drop(first);
    let key = std::fs::read(dir.path().join("jwt.key")).unwrap();
    assert!(key.len() >= 32, "the key is kept in the data directory");

    let second = Engine::builder()
        .data_dir(dir.path())
        .password_hashing(fast())
        .build()
        .await
        .unwrap();
    assert_eq!(
        second.accounts().authenticate(&token).unwrap(),
        session.account.profile.id,
        "a token signed before the restart is still good"
    );
    assert_eq!(std::fs::read(dir.path().join("jwt.key")).unwrap(), key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_pool_is_as_large_as_asked() {
    let db = TestDatabase::create().await;
    let blobs = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .postgres(db.url.clone())
        .postgres_pool(2)
        .data_dir(blobs.path())
        .password_hashing(fast())
        .build()
        .await
        .unwrap();
    let ann = engine
        .accounts()
        .register("ann", "ann@example.com", "correct horse 9")
        .await
        .unwrap()
        .account
        .profile
        .id;
    // Many reads at once: a pool as large as the default would open a connection for each.
    let reads: Vec<_> = (0..24)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.rooms().list(ann).await.unwrap() })
        })
        .collect();
    for r in reads {
        r.await.unwrap();
    }
    let mut watcher = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut watcher)
    .await
    .unwrap();
    assert!(open <= 2, "{open} connections for a pool of 2");
}
