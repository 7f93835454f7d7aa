//! An application that mounts the router must let it tell clients apart: served without the
//! peers' addresses (and not behind a trusted proxy), the routes limited per address refuse
//! and say why, instead of putting every client in one rate-limit bucket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jeco_core::Engine;
use jeco_core::auth::PasswordHashing;
use jeco_server::{AppState, ServerConfig};
use serde_json::{Value, json};

async fn serve(config: ServerConfig, dir: &tempfile::TempDir) -> String {
    let engine = Engine::builder()
        .data_dir(dir.path())
        .password_hashing(PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        })
        .build()
        .await
        .unwrap();
    let app = jeco_server::router(AppState::new(engine, config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Served the plain way: no connect info.
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn register(base: &str, forwarded: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/v1/auth/register"))
        .json(
            &json!({"username": "ann", "email": "ann@example.com", "password": "correct horse 9"}),
        );
    if let Some(ip) = forwarded {
        req = req.header("x-forwarded-for", ip);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn without_client_addresses_the_limited_routes_refuse_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(ServerConfig::default(), &dir).await;
    let (status, body) = register(&base, None).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal")));

    // Behind a trusted proxy the address comes from the proxy's header.
    let dir = tempfile::tempdir().unwrap();
    let proxied = ServerConfig {
        trust_forwarded_for: true,
        ..ServerConfig::default()
    };
    let base = serve(proxied, &dir).await;
    let (status, body) = register(&base, Some("203.0.113.7")).await;
    assert_eq!(status, 201, "{body}");
}
