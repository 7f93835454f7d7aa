//! The web client's files: served at `/` with the page for any client route, but never a
//! hidden file, nor a file that a symbolic link brings in from outside the directory; hashed
//! assets cached for good, the page never; precompressed siblings; the security headers; and
//! the built client of the repository served by default.

use reqwest::Method;
use serde_json::Value;

use crate::e2e::harness::{Db, Resp, Server, Setup, WAIT, finish};

pub async fn the_web_dir_serves_no_dot_files_and_nothing_outside_it(db: Db) {
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("secret.txt"), "outside secret").unwrap();
    let web = tempfile::tempdir().expect("temp dir");
    let dir = web.path();
    std::fs::write(dir.join("index.html"), "<h1>jeco web</h1>").unwrap();
    std::fs::write(dir.join("app.js"), "console.log('app')").unwrap();
    std::fs::write(dir.join(".env"), "DB_PASSWORD=hidden secret").unwrap();
    std::fs::create_dir(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git").join("config"), "hidden secret").unwrap();
    std::fs::create_dir(dir.join("assets")).unwrap();
    std::fs::write(dir.join("assets").join(".map"), "hidden secret").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(outside.path().join("secret.txt"), dir.join("leak.txt")).unwrap();
        symlink(outside.path(), dir.join("out")).unwrap();
        symlink(dir.join("app.js"), dir.join("alias.js")).unwrap();
    }

    let mut setup = Setup::default();
    setup.config.web_dir = Some(dir.to_path_buf());
    let s = db.start_with(setup).await;
    let get = |path: &'static str| s.call(Method::GET, path, None, Value::Null);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    assert_eq!(text(&get("/").await.expect(200).bytes), "<h1>jeco web</h1>");
    assert_eq!(
        text(&get("/app.js").await.expect(200).bytes),
        "console.log('app')"
    );
    // A client route is answered with the page.
    assert_eq!(
        text(&get("/rooms/42").await.expect(200).bytes),
        "<h1>jeco web</h1>"
    );
    let mut refused = vec![
        "/.env",
        "/%2eenv",
        "/.git/config",
        "/assets/.map",
        "/assets/%2Emap",
    ];
    if cfg!(unix) {
        refused.extend(["/leak.txt", "/out/secret.txt", "/out/"]);
        // A link that stays inside is served.
        assert_eq!(
            text(&get("/alias.js").await.expect(200).bytes),
            "console.log('app')"
        );
    }
    for path in refused {
        let r = get(path).await;
        assert_eq!(r.status, 404, "{path} answered {}", r.status);
        assert!(
            !text(&r.bytes).contains("secret"),
            "{path}: {}",
            text(&r.bytes)
        );
    }
}

/// The Content-Security-Policy of the web client's answers.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// A web directory as a Vite build leaves it: the page, hashed assets, and precompressed
/// siblings.
fn built_client() -> tempfile::TempDir {
    let web = tempfile::tempdir().expect("temp dir");
    let dir = web.path();
    std::fs::write(dir.join("index.html"), "<h1>jeco web</h1>").unwrap();
    std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
    std::fs::create_dir(dir.join("assets")).unwrap();
    std::fs::write(dir.join("assets").join("index-4f2a.js"), "plain script").unwrap();
    std::fs::write(dir.join("assets").join("index-4f2a.js.br"), "brotli script").unwrap();
    std::fs::write(dir.join("assets").join("index-4f2a.js.gz"), "gzip script").unwrap();
    web
}

/// Hashed assets are cached for a year and never revalidated; the page, whether asked for by
/// name or as the answer to a client route, and every other file are revalidated on each use.
/// A missing asset is a 404, not the page. Every answer carries the security headers.
pub async fn assets_are_cached_for_good_and_the_page_never(db: Db) {
    let web = built_client();
    let mut setup = Setup::default();
    setup.config.web_dir = Some(web.path().to_path_buf());
    let s = db.start_with(setup).await;
    let get = |path: &'static str| s.call(Method::GET, path, None, Value::Null);

    let asset = get("/assets/index-4f2a.js").await.expect(200);
    assert_eq!(asset.bytes, b"plain script");
    assert_eq!(
        asset.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    for path in ["/", "/index.html", "/rooms/42", "/favicon.svg"] {
        let r = get(path).await.expect(200);
        assert_eq!(r.header("cache-control"), "no-cache", "{path}");
    }
    assert_eq!(get("/rooms/42").await.bytes, b"<h1>jeco web</h1>");
    let missing = get("/assets/index-0000.js").await.expect(404);
    assert_eq!(missing.header("cache-control"), "no-cache");
    assert!(!String::from_utf8_lossy(&missing.bytes).contains("jeco web"));

    for path in [
        "/",
        "/rooms/42",
        "/assets/index-4f2a.js",
        "/assets/index-0000.js",
    ] {
        let r = get(path).await;
        assert_eq!(r.header("content-security-policy"), CSP, "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{path}");
    }
}

/// `GET path` with `Accept-Encoding: encoding`.
async fn get_encoded(s: &Server, path: &str, encoding: &str) -> Resp {
    s.call_with(
        Method::GET,
        path,
        None,
        Value::Null,
        &[("accept-encoding", encoding)],
    )
    .await
}

/// A client that accepts brotli or gzip gets the precompressed sibling, labelled; one that
/// accepts neither gets the file as it is. A sibling that a symbolic link brings in from
/// outside is not served.
pub async fn precompressed_siblings_are_served_to_who_accepts_them(db: Db) {
    let web = built_client();
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("secret.br"), "outside secret").unwrap();
    std::fs::write(web.path().join("linked.js"), "linked script").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.br"),
        web.path().join("linked.js.br"),
    )
    .unwrap();
    let mut setup = Setup::default();
    setup.config.web_dir = Some(web.path().to_path_buf());
    let s = db.start_with(setup).await;
    let br = get_encoded(&s, "/assets/index-4f2a.js", "gzip, deflate, br")
        .await
        .expect(200);
    assert_eq!(br.bytes, b"brotli script");
    assert_eq!(br.header("content-encoding"), "br");
    assert!(br.header("content-type").starts_with("text/javascript"));
    assert!(
        br.header("vary")
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
    let gz = get_encoded(&s, "/assets/index-4f2a.js", "gzip")
        .await
        .expect(200);
    assert_eq!(gz.bytes, b"gzip script");
    assert_eq!(gz.header("content-encoding"), "gzip");
    let plain = get_encoded(&s, "/assets/index-4f2a.js", "identity")
        .await
        .expect(200);
    assert_eq!(plain.bytes, b"plain script");
    assert!(plain.headers.get("content-encoding").is_none());

    if cfg!(unix) {
        let r = get_encoded(&s, "/linked.js", "br").await;
        assert_eq!(r.status, 404);
        assert!(!String::from_utf8_lossy(&r.bytes).contains("secret"));
    }
}

/// With the web client served at `/`, the API keeps its paths: the OpenAPI document is
/// served, and an unknown path under `/v1` is a JSON `unknown_route`, never the page.
pub async fn the_api_is_never_shadowed_by_the_page(db: Db) {
    let web = built_client();
    let mut setup = Setup::default();
    setup.config.web_dir = Some(web.path().to_path_buf());
    let s = db.start_with(setup).await;

    let doc = s
        .call(Method::GET, "/v1/openapi.json", None, Value::Null)
        .await
        .expect(200);
    assert_eq!(doc.body["info"]["title"], "Jeco Chat API");
    for method in [Method::GET, Method::POST, Method::DELETE] {
        for path in [
            "/v1",
            "/v1/",
            "/v1/nothing",
            "/v1/rooms/1/nothing",
            "/v1/index.html",
        ] {
            let r = s
                .call(method.clone(), path, None, Value::Null)
                .await
                .expect_error(404, "unknown_route");
            assert!(
                r.header("content-type").starts_with("application/json"),
                "{method} {path}"
            );
        }
    }
}

/// Reads the binary's standard output up to the line saying where it listens; the lines
/// before it, and the address.
async fn started(
    out: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> (String, String) {
    let mut before = String::new();
    loop {
        let line = tokio::time::timeout(WAIT, out.next_line())
            .await
            .expect("the server starts in time")
            .expect("reading its output")
            .expect("the server exited before listening");
        if let Some(rest) = line.strip_prefix("Jeco Chat is listening on http://") {
            let addr = rest.split_whitespace().next().expect("an address");
            return (before, addr.to_owned());
        }
        before.push_str(&line);
        before.push('\n');
    }
}

/// The binary, run from `cwd` without `--web-dir`.
fn binary_in(cwd: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_jeco-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir", "data"])
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .env_remove("JECO_WEB_DIR")
        .env_remove("JECO_CONFIG")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start jeco-server")
}

/// Without `--web-dir`, the binary serves `examples/web/dist` of its working directory when
/// there is one (a built client in the repository), and says so; when there is none it says
/// how to build it.
pub async fn the_default_web_dir_is_the_built_client(_db: Db) {
    use tokio::io::AsyncBufReadExt;

    let repo = tempfile::tempdir().expect("temp dir");
    let mut server = binary_in(repo.path());
    let mut out = tokio::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let (log, _) = started(&mut out).await;
    assert!(
        log.contains("the web client is not built") && log.contains("bash scripts/run.sh"),
        "{log}"
    );
    drop(server);

    let dist = repo.path().join("examples").join("web").join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<h1>built web</h1>").unwrap();
    let mut server = binary_in(repo.path());
    let mut out = tokio::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let (log, addr) = started(&mut out).await;
    assert!(
        log.contains("serving the web client") && log.contains("examples/web/dist"),
        "{log}"
    );
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let page = finish(
        "GET /".to_owned(),
        http.get(format!("http://{addr}/rooms/1")),
    )
    .await
    .expect(200);
    assert_eq!(page.bytes, b"<h1>built web</h1>");
    assert_eq!(page.header("content-security-policy"), CSP);
}
