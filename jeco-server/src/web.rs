//! The web client's static files (`--web-dir`, or `examples/web/dist` when that exists),
//! served at `/` with `index.html` for any path that is not a file (the client routes in the
//! browser).
//!
//! Only what the web client is made of is served. A path with a segment that starts with a
//! dot (`.env`, `.git/config`, `.htpasswd`) is not: build tools and editors leave such files
//! next to the bundle, and none of them is meant for the public. Nor is a file that a
//! symbolic link makes appear inside the directory while it lives outside (a link to
//! `/etc` or to the data directory): the path is resolved first and must stay in the
//! directory, and so must the precompressed `.br` and `.gz` siblings that may be sent in its
//! place. Both answer 404, as if there were nothing there.
//!
//! Caching follows the shape of a Vite build: files under `/assets/` have a hash of their
//! content in their name, so they are cached for a year and never revalidated; a missing one
//! is a 404, never the page (which would then be cached as the script). Everything else,
//! `index.html` first, is revalidated on every use (`no-cache`), so that a deploy takes
//! effect on the next load. Every answer carries the client's Content-Security-Policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// What the web client may load: its own scripts, styles (inline ones too, which UI
/// libraries set), images (also from `blob:` and `data:` URLs, for previews of files being
/// uploaded), and connections to this server only. `connect-src 'self'` covers same-origin
/// WebSockets in current browsers (Chrome 71+, Firefox, Safari 16+). It may not be framed,
/// change its base URL, or post forms elsewhere.
const CONTENT_SECURITY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Hashed build output: cached for a year, never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Where a Vite build puts its hashed files.
const ASSETS: &str = "/assets/";

/// The directory and its file servers.
struct WebDir {
    /// The directory, its symbolic links resolved.
    root: PathBuf,
    /// Any file, with `index.html` for paths that name none.
    files: ServeDir<ServeFile>,
    /// Files under `/assets/`, with no fallback.
    assets: ServeDir,
}

/// A router that serves the files of `dir` (any path, any method).
pub(crate) fn files(dir: &Path) -> Router {
    let root = std::fs::canonicalize(dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, dir = %dir.display(), "the web directory cannot be read");
        dir.to_path_buf()
    });
    let page = ServeFile::new(root.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(&root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(page);
    let assets = ServeDir::new(&root).precompressed_br().precompressed_gzip();
    Router::new().fallback(serve).with_state(Arc::new(WebDir {
        root,
        files,
        assets,
    }))
}

async fn serve(State(web): State<Arc<WebDir>>, request: Request) -> Response {
    if !web.may_serve(request.uri().path()).await {
        return with_headers(StatusCode::NOT_FOUND.into_response(), false);
    }
    let hashed = request.uri().path().starts_with(ASSETS);
    let answer = if hashed {
        web.assets.clone().oneshot(request).await
    } else {
        web.files.clone().oneshot(request).await
    };
    let response = match answer {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    with_headers(response, hashed && found)
}

/// Adds the caching and security headers of the web client's answers.
fn with_headers(mut response: Response, immutable: bool) -> Response {
    let headers = response.headers_mut();
    let cache = if immutable { IMMUTABLE } else { "no-cache" };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The same path answers compressed or not, by the request's Accept-Encoding.
    headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    response
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
        let file = if is_dir {
            real.join("index.html")
        } else {
            real
        };
        // A precompressed sibling may be sent instead of the file: it must be inside too.
        for candidate in [file.clone(), sibling(&file, "br"), sibling(&file, "gz")] {
            if !self.inside(&candidate).await {
                return false;
            }
        }
        true
    }

    /// Whether `path`, resolved, is inside the directory (or does not exist).
    async fn inside(&self, path: &Path) -> bool {
        match tokio::fs::canonicalize(path).await {
            Ok(real) => real.starts_with(&self.root),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}

/// `file` with `.extension` added (`app.js` -> `app.js.br`).
fn sibling(file: &Path, extension: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}
