//! What an anonymous client cannot do to the server's sockets: hold one open by sending half
//! a request, open more than the server allows, or read the metrics on the public address.
//! Each is driven over raw TCP, since well-behaved HTTP clients never do these things.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::e2e::clients::is;
use crate::e2e::harness::{Db, PASSWORD, Server, Setup, WAIT, user_of};

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: jeco\r\n\r\n";

/// Everything the server writes until it closes the connection (a reset counts as closing).
/// Fails if it is still open after [`WAIT`].
async fn read_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 1024];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open; it sent {:?}",
        String::from_utf8_lossy(&seen)
    );
    seen
}

/// Sends `GET /healthz` on a kept-alive connection and reads its whole answer.
async fn healthz(socket: &mut TcpStream) -> String {
    socket.write_all(HEALTHZ).await.expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // `/healthz` answers `ok`, the last bytes of the response.
    while !answer.ends_with(b"\r\n\r\nok") {
        let n = tokio::time::timeout(WAIT, socket.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The metrics, read on the metrics listener.
async fn metrics(s: &Server) -> String {
    let resp = s
        .http
        .get(format!("http://{}/metrics", s.metrics_addr))
        .send()
        .await
        .expect("metrics answer");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("metrics text")
}

fn shows(metrics: &str, line: &str) -> bool {
    metrics.lines().any(|l| l == line)
}

/// A client that sends part of a request head and then nothing is disconnected once the
/// header timeout passes, without an answer, and so is one that sends nothing at all; both
/// are counted. (No well-behaved request goes to the public address here: with a timeout this
/// short, a slow machine could make it miss the deadline too.)
pub async fn a_half_sent_request_head_is_closed_after_the_header_timeout(db: Db) {
    let mut setup = Setup::default();
    setup.config.connection_limits.header_timeout = Duration::from_millis(500);
    let s = db.start_with(setup).await;

    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: jeco\r\n")
        .await
        .expect("write");
    let answer = read_until_closed(&mut slow).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "a half request was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    let mut silent = TcpStream::connect(s.addr).await.expect("connect");
    read_until_closed(&mut silent).await;

    s.eventually("both timeouts are counted and their places freed", |s| {
        let text = s.state.metrics.render();
        shows(&text, "jeco_header_timeouts_total 2") && shows(&text, "jeco_http_connections 0")
    })
    .await;
    let text = metrics(&s).await;
    assert!(shows(&text, "jeco_header_timeouts_total 2"), "{text}");
    assert!(shows(&text, "jeco_http_connections 0"), "{text}");
}

/// An upload that stalls halfway is dropped once nothing has moved for the idle timeout,
/// and counted; a WebSocket that was quiet at least as long is not, since it left HTTP (and
/// this watch) when it upgraded.
pub async fn a_stalled_request_is_dropped_but_a_quiet_websocket_is_not(db: Db) {
    let mut setup = Setup::default();
    setup.config.connection_limits.header_timeout = WAIT * 4;
    setup.config.connection_limits.idle_timeout = Duration::from_millis(500);
    let s = db.start_with(setup).await;
    // Signed up and given a ticket in the process: no kept-alive HTTP connection to go idle.
    let session = s
        .state
        .engine
        .accounts()
        .register("dora", "dora@example.com", PASSWORD)
        .await
        .expect("register");
    let dora = user_of(&session);
    let ticket = s.state.tickets.issue(dora.id).await.expect("ticket");
    let mut ws = s.ws_raw(Some(&ticket), None).await;
    assert!(is(&ws.next().await, "ready"));

    let mut stalled = TcpStream::connect(s.addr).await.expect("connect");
    stalled
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nHost: jeco\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"login\": \"dora\"",
        )
        .await
        .expect("write");
    let answer = read_until_closed(&mut stalled).await;
    assert!(
        answer.is_empty(),
        "a stalled request was answered: {}",
        String::from_utf8_lossy(&answer)
    );

    ws.send_msg(s.general(), "after", "still here").await;
    s.eventually("the stalled connection is counted", |s| {
        shows(&s.state.metrics.render(), "jeco_idle_timeouts_total 1")
    })
    .await;
    let text = metrics(&s).await;
    assert!(shows(&text, "jeco_idle_timeouts_total 1"), "{text}");
    assert!(
        shows(&text, "jeco_connections{transport=\"ws\"} 1"),
        "{text}"
    );
}

/// With the cap reached, a further connection is closed on arrival without an answer, while
/// the open ones keep working; the refusal shows in the metrics, which are on a listener of
/// their own and so still reachable.
pub async fn connections_over_the_cap_are_closed_and_counted(db: Db) {
    let mut setup = Setup::default();
    // Nothing in this case may time out while it runs, however slow the machine.
    setup.config.connection_limits.max_connections = 2;
    setup.config.connection_limits.header_timeout = WAIT * 4;
    setup.config.connection_limits.idle_timeout = WAIT * 4;
    let s = db.start_with(setup).await;

    let mut first = TcpStream::connect(s.addr).await.expect("connect");
    let mut second = TcpStream::connect(s.addr).await.expect("connect");
    // Answered, so both were accepted and hold their places.
    assert!(healthz(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(healthz(&mut second).await.starts_with("HTTP/1.1 200"));

    let mut third = TcpStream::connect(s.addr)
        .await
        .expect("the kernel accepts");
    // Whatever it asks is never answered.
    let _ = third.write_all(HEALTHZ).await;
    let answer = read_until_closed(&mut third).await;
    assert!(
        answer.is_empty(),
        "over the cap, yet answered: {}",
        String::from_utf8_lossy(&answer)
    );

    assert!(healthz(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(healthz(&mut second).await.starts_with("HTTP/1.1 200"));
    let text = metrics(&s).await;
    assert!(shows(&text, "jeco_connections_refused_total 1"), "{text}");
    assert!(shows(&text, "jeco_http_connections 2"), "{text}");

    // A place freed is a place taken again.
    drop(first);
    s.eventually("the closed connection gives its place back", |s| {
        shows(&s.state.metrics.render(), "jeco_http_connections 1")
    })
    .await;
    let mut fourth = TcpStream::connect(s.addr).await.expect("connect");
    assert!(healthz(&mut fourth).await.starts_with("HTTP/1.1 200"));
}

/// Without a metrics token the public address does not serve the metrics at all; with one,
/// only to requests that carry it.
pub async fn metrics_are_not_public_without_the_token(db: Db) {
    let s = db.start().await;
    let r = s
        .call(Method::GET, "/metrics", None, Value::Null)
        .await
        .expect_error(404, "unknown_route");
    assert!(!String::from_utf8_lossy(&r.bytes).contains("jeco_"));
    assert!(metrics(&s).await.contains("jeco_http_connections"));

    let mut setup = Setup::default();
    setup.config.metrics_token = Some("scrape-me-secret".to_owned());
    let s = db.start_with(setup).await;
    for token in [None, Some("wrong"), Some("scrape-me-secre")] {
        let r = s
            .call(Method::GET, "/metrics", token, Value::Null)
            .await
            .expect_error(401, "unauthenticated");
        assert!(!String::from_utf8_lossy(&r.bytes).contains("jeco_"));
    }
    let r = s
        .call(
            Method::GET,
            "/metrics",
            Some("scrape-me-secret"),
            Value::Null,
        )
        .await
        .expect(200);
    assert!(
        r.header("content-type")
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(
        shows(&text, "jeco_http_responses_total{class=\"4xx\"} 3"),
        "{text}"
    );
    // The token holds on the metrics listener too.
    let r = s
        .http
        .get(format!("http://{}/metrics", s.metrics_addr))
        .send()
        .await
        .expect("metrics answer");
    assert_eq!(r.status(), 401);
}
