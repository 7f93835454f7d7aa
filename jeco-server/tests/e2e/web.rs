//! The web client's files: served at `/` with the page for any client route, but never a
//! hidden file, nor a file that a symbolic link brings in from outside the directory.

use reqwest::Method;
use serde_json::Value;

use crate::e2e::harness::{Db, Setup};

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
