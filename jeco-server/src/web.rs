//! The web client's static files (`--web-dir`), served at `/` with `index.html` for any path
//! that is not a file (the client routes in the browser).
//!
//! Only what the web client is made of is served. A path with a segment that starts with a
//! dot (`.env`, `.git/config`, `.htpasswd`) is not: build tools and editors leave such files
//! next to the bundle, and none of them is meant for the public. Nor is a file that a
//! symbolic link makes appear inside the directory while it lives outside (a link to
//! `/etc` or to the data directory): the path is resolved first and must stay in the
//! directory. Both answer 404, as if there were nothing there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// The directory and its file server.
struct WebDir {
    /// The directory, its symbolic links resolved.
    root: PathBuf,
    files: ServeDir<ServeFile>,
}

/// A router that serves the files of `dir` (any path, any method).
pub(crate) fn files(dir: &Path) -> Router {
    let root = std::fs::canonicalize(dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, dir = %dir.display(), "the web directory cannot be read");
        dir.to_path_buf()
    });
    let files = ServeDir::new(&root).fallback(ServeFile::new(root.join("index.html")));
    Router::new()
        .fallback(serve)
        .with_state(Arc::new(WebDir { root, files }))
}

async fn serve(State(web): State<Arc<WebDir>>, request: Request) -> Response {
    if !web.may_serve(request.uri().path()).await {
        return StatusCode::NOT_FOUND.into_response();
    }
    match web.files.clone().oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

impl WebDir {
    /// Whether the request path names nothing hidden and nothing outside the directory. A
    /// path that names nothing at all is fine: the fallback page answers it.
    async fn may_serve(&self, path: &str) -> bool {
        let Ok(path) = percent_decode_str(path).decode_utf8() else {
            return false;
        };
        if path
            .split(['/', '\\'])
            .any(|segment| segment.starts_with('.'))
        {
            return false;
        }
        let named = self.root.join(path.trim_start_matches('/'));
        let real = match tokio::fs::canonicalize(&named).await {
            Ok(real) => real,
            Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
        };
        if !real.starts_with(&self.root) {
            return false;
        }
        let is_dir = tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_dir());
        // A directory is answered with its index.html, which must be inside too.
        !is_dir || self.inside(&real.join("index.html")).await
    }

    /// Whether `path`, resolved, is inside the directory (or does not exist).
    async fn inside(&self, path: &Path) -> bool {
        match tokio::fs::canonicalize(path).await {
            Ok(real) => real.starts_with(&self.root),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}
