//! The served OpenAPI document and the router agree with the route table of the API: every
//! route is documented, every documented route is served, and nothing else is either. The
//! document keeps the rules a validator and a client generator rely on, and every error, of an
//! operation or not, is an `ErrorBody`. (`scripts/schemathesis.sh` goes further: it checks
//! the server's answers to generated requests against the document.)

use std::collections::BTreeSet;

use jeco_proto::error::ErrorCode;
use reqwest::Method;
use serde_json::Value;

use crate::e2e::harness::Db;

/// The REST API: method, path, and whether it needs a bearer token.
const ROUTES: &[(&str, &str, bool)] = &[
    ("POST", "/v1/auth/register", false),
    ("POST", "/v1/auth/login", false),
    ("POST", "/v1/auth/refresh", false),
    ("POST", "/v1/auth/logout", false),
    ("POST", "/v1/auth/password-reset", false),
    ("POST", "/v1/auth/password-reset/confirm", false),
    ("POST", "/v1/tickets", true),
    ("GET", "/v1/ws", false),
    ("GET", "/v1/sse", false),
    ("POST", "/v1/sse/{session_id}/commands", true),
    ("GET", "/v1/me", true),
    ("PATCH", "/v1/me", true),
    ("POST", "/v1/me/password", true),
    ("POST", "/v1/me/avatar", true),
    ("GET", "/v1/users/search", true),
    ("GET", "/v1/users/presence", true),
    ("GET", "/v1/users/{user_id}", true),
    ("GET", "/v1/contacts", true),
    ("PUT", "/v1/contacts/{user_id}", true),
    ("DELETE", "/v1/contacts/{user_id}", true),
    ("GET", "/v1/blocks", true),
    ("PUT", "/v1/blocks/{user_id}", true),
    ("DELETE", "/v1/blocks/{user_id}", true),
    ("GET", "/v1/rooms", true),
    ("POST", "/v1/rooms", true),
    ("GET", "/v1/rooms/{room_id}", true),
    ("POST", "/v1/rooms/{room_id}/join", true),
    ("POST", "/v1/rooms/{room_id}/leave", true),
    ("GET", "/v1/rooms/{room_id}/members", true),
    ("POST", "/v1/rooms/{room_id}/members", true),
    ("DELETE", "/v1/rooms/{room_id}/members/{user_id}", true),
    ("PUT", "/v1/rooms/{room_id}/members/{user_id}/role", true),
    ("POST", "/v1/direct/{user_id}", true),
    ("GET", "/v1/rooms/{room_id}/messages", true),
    ("POST", "/v1/rooms/{room_id}/messages", true),
    ("GET", "/v1/rooms/{room_id}/changes", true),
    ("PUT", "/v1/rooms/{room_id}/read", true),
    ("POST", "/v1/rooms/{room_id}/typing", true),
    ("POST", "/v1/rooms/{room_id}/attachments", true),
    ("GET", "/v1/messages/{message_id}", true),
    ("PATCH", "/v1/messages/{message_id}", true),
    ("DELETE", "/v1/messages/{message_id}", true),
    ("POST", "/v1/messages/{message_id}/reactions", true),
    ("POST", "/v1/messages/{message_id}/forward", true),
    ("GET", "/v1/messages/{message_id}/read-by", true),
    ("GET", "/v1/unread", true),
    ("GET", "/v1/notifications", true),
    ("GET", "/v1/notifications/unread-count", true),
    ("POST", "/v1/notifications/{notification_id}/read", true),
    ("POST", "/v1/notifications/read-all", true),
    ("GET", "/v1/feed", true),
    ("GET", "/v1/attachments/{attachment_id}", true),
    ("GET", "/v1/attachments/{attachment_id}/thumbnail", true),
    ("GET", "/healthz", false),
    ("GET", "/readyz", false),
    ("GET", "/metrics", false),
];

const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// `GET /v1/openapi.json` documents exactly the routes of the table, authenticated ones
/// with the bearer scheme, and the router serves each of them.
pub async fn openapi_lists_exactly_the_served_routes(db: Db) {
    let s = db.start().await;
    let doc = s
        .call(Method::GET, "/v1/openapi.json", None, Value::Null)
        .await
        .expect(200)
        .body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    assert_eq!(doc["info"]["title"], "Jeco Chat API");
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "the bearer scheme is declared"
    );

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(*method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the OpenAPI document and the route table differ.\n\
         routes with no documented operation: {missing:#?}\n\
         documented operations that are not routes of the API: {extra:#?}"
    );

    let mut unsecured = Vec::new();
    for (method, path, auth) in ROUTES {
        if !auth {
            continue;
        }
        let op = &doc["paths"][*path][method.to_lowercase()];
        let bearer = op["security"]
            .as_array()
            .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer").is_some()));
        if !bearer {
            unsecured.push(format!("{method} {path}"));
        }
    }
    assert!(
        unsecured.is_empty(),
        "authenticated routes documented without the bearer scheme: {unsecured:#?}"
    );

    // Every route is served: the router answers with the handler's own response, never
    // its 404 for an unknown path or 405 for an unknown method.
    let mut unserved = Vec::new();
    for (method, path, auth) in ROUTES {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let m = Method::from_bytes(method.as_bytes()).expect("method");
        let r = s.call(m, &concrete, None, Value::Null).await;
        let routed = if *auth {
            r.status == 401 && r.code() == "unauthenticated"
        } else {
            r.status != 405 && !(r.status == 404 && r.body.is_null())
        };
        if !routed {
            unserved.push(format!("{method} {path} -> {} {}", r.status, r.body));
        }
    }
    assert!(
        unserved.is_empty(),
        "routes of the table the router does not serve (or serves without auth): {unserved:#?}"
    );
    s.call(Method::GET, "/v1/nothing-here", None, Value::Null)
        .await
        .expect(404);
}

/// Every error response of the document names codes of `ErrorCode` that go with its status,
/// and every code the server can answer over HTTP is named by some operation: the document
/// and the codes cannot drift apart.
pub async fn openapi_error_codes_are_the_protocols(db: Db) {
    let s = db.start().await;
    let doc = s
        .call(Method::GET, "/v1/openapi.json", None, Value::Null)
        .await
        .expect(200)
        .body;
    let schema_codes: BTreeSet<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum of strings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let all: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(schema_codes, all, "the ErrorCode schema lists every code");
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );

    let mut named = BTreeSet::new();
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let where_ = format!("{} {path}", method.to_uppercase());
            assert!(
                op["responses"]["500"].is_object(),
                "{where_} does not list 500 internal"
            );
            for (status, response) in op["responses"].as_object().expect("responses") {
                let status: u16 = status.parse().expect("a numeric status");
                if status < 400 {
                    continue;
                }
                let description = response["description"].as_str().unwrap_or_default();
                for (code, _) in codes_in(description) {
                    match ErrorCode::parse(code) {
                        Some(c) if c.status() == status && c.channels().http => {
                            named.insert(c);
                        }
                        Some(c) => wrong.push(format!(
                            "{where_}: {code} is listed under {status}; it goes with {}{}",
                            c.status(),
                            if c.channels().http {
                                ""
                            } else {
                                " and never travels over HTTP"
                            }
                        )),
                        None => wrong.push(format!("{where_}: {code} is not an ErrorCode")),
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "error responses that are not right: {wrong:#?}"
    );
    // Not tied to an operation: the answers for paths that are none, and for methods a path
    // does not take.
    let unrouted = [ErrorCode::UnknownRoute, ErrorCode::MethodNotAllowed];
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| c.channels().http && !named.contains(c) && !unrouted.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes the server answers over HTTP that no operation lists: {missing:?}"
    );
}

/// Statuses whose answers have no body.
const BODILESS: &[&str] = &["101", "202", "204"];

/// The document keeps the rules of OpenAPI that a validator checks and those a client
/// generator relies on: operationIds are unique, every answer with a body says what the body
/// is, and every error answer is an `ErrorBody` in JSON.
pub async fn openapi_document_is_valid(db: Db) {
    let s = db.start().await;
    let doc = s
        .call(Method::GET, "/v1/openapi.json", None, Value::Null)
        .await
        .expect(200)
        .body;
    let mut ids = BTreeSet::new();
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let where_ = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                Some(id) if !ids.insert(id.to_owned()) => {
                    wrong.push(format!("{where_}: operationId {id} is used twice"));
                }
                Some(_) => {}
                None => wrong.push(format!("{where_}: no operationId")),
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                let content = response["content"].as_object();
                if BODILESS.contains(&status.as_str()) {
                    if content.is_some_and(|c| !c.is_empty()) {
                        wrong.push(format!("{where_}: {status} declares a body"));
                    }
                    continue;
                }
                let Some(content) = content.filter(|c| !c.is_empty()) else {
                    wrong.push(format!("{where_}: {status} does not say what its body is"));
                    continue;
                };
                for (media_type, body) in content {
                    if !body["schema"].is_object() {
                        wrong.push(format!("{where_}: {status} {media_type} has no schema"));
                    }
                }
                if status.starts_with('4') || status.starts_with('5') {
                    let error_body = content.len() == 1
                        && content.get("application/json").is_some_and(|c| {
                            c["schema"]["$ref"] == "#/components/schemas/ErrorBody"
                        });
                    if !error_body {
                        wrong.push(format!("{where_}: {status} is not an ErrorBody"));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the document breaks its rules: {wrong:#?}"
    );

    // Query parameters the server has a default for are not required.
    for (path, name) in [
        ("/v1/feed", "after"),
        ("/v1/rooms/{room_id}/changes", "after"),
        ("/v1/notifications", "unread_only"),
    ] {
        let param = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("{path} takes {name}"));
        assert_ne!(param["required"], true, "{path} {name}: {param}");
    }

    // A download is served with the type detected from its bytes, whatever it is.
    let download =
        &doc["paths"]["/v1/attachments/{attachment_id}"]["get"]["responses"]["200"]["content"];
    assert!(download["*/*"].is_object(), "{download}");
}

/// Errors that no operation answers are `ErrorBody`s too: an unknown path, a method a path does
/// not take (with `Allow`), a `GET /v1/ws` that is no WebSocket upgrade.
pub async fn errors_outside_operations_are_error_bodies(db: Db) {
    let s = db.start().await;
    s.call(Method::GET, "/v1/nothing-here", None, Value::Null)
        .await
        .expect_error(404, "unknown_route");
    let r = s
        .call(Method::DELETE, "/v1/rooms", None, Value::Null)
        .await
        .expect_error(405, "method_not_allowed");
    let allow: BTreeSet<&str> = r.header("allow").split(',').map(str::trim).collect();
    assert_eq!(allow, BTreeSet::from(["GET", "HEAD", "POST"]), "{r:?}");
    s.call(Method::PUT, "/v1/auth/login", None, Value::Null)
        .await
        .expect_error(405, "method_not_allowed");
    let r = s
        .call(Method::GET, "/v1/ws", None, Value::Null)
        .await
        .expect_error(400, "not_a_websocket");
    assert!(!r.body["message"].as_str().unwrap_or_default().is_empty());
    s.call(Method::GET, "/v1/ws?ticket=a&ticket=b", None, Value::Null)
        .await
        .expect_error(400, "invalid_query");
}

/// The codes a response description lists: `a (note), b` names `a` and `b`.
fn codes_in(description: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, ch) in description.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(description[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(description[start..].trim());
    out.into_iter()
        .filter(|item| !item.is_empty())
        .map(|item| item.split_once(' ').unwrap_or((item, "")))
        .collect()
}

/// `jeco-server openapi` prints the served document (which has no `servers` entry when the
/// router is not mounted under a path), the same bytes every time, without opening a
/// database: the web client generates its types from it and fails on any difference.
pub async fn the_printed_document_is_the_served_one(db: Db) {
    let s = db.start().await;
    let served = s
        .call(Method::GET, "/v1/openapi.json", None, Value::Null)
        .await
        .expect(200);
    assert_eq!(served.header("content-type"), "application/json");
    let cwd = tempfile::tempdir().expect("temp dir");
    let print = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jeco-server"))
            .arg("openapi")
            .current_dir(cwd.path())
            .output()
            .expect("run jeco-server openapi");
        assert!(
            out.status.success(),
            "jeco-server openapi failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let first = print();
    assert_eq!(first, print(), "two runs print different bytes");
    let printed: Value = serde_json::from_slice(&first).expect("the output is JSON");
    assert!(printed.get("servers").is_none());
    assert_eq!(printed, served.body);
    assert!(
        std::fs::read_dir(cwd.path())
            .expect("the directory")
            .next()
            .is_none(),
        "printing the document created files (a data directory?)"
    );
}
