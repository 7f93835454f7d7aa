//! Files: uploads (room attachments and avatars, multipart), downloads and image thumbnails.
//!
//! Uploads get a body limit of their own ([`upload_routes`]), a little above the engine's
//! upload limit to leave room for the multipart framing. The file is streamed into the blob
//! store as it arrives (`crate::upload`): its size is enforced while it is read, a stalled body
//! is cut off, and each user has a few uploads in flight at most.

use std::io::Cursor;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jeco_core::blob::is_web_image;
use jeco_core::error::ErrorCode;
use jeco_core::ids::{AttachmentId, RoomId, UserId};
use jeco_core::model::AttachmentMeta;
use jeco_proto::api::ErrorBody;
use tokio::sync::Semaphore;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, AuthUser, Json};
use crate::state::{AppState, ServerConfig};
use crate::upload::{Deadlines, Refused, receive};

/// Room for the multipart framing (boundaries, part headers) on top of the file itself.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// Thumbnails fit in a square this many pixels wide.
const THUMBNAIL_PX: u32 = 256;
/// Largest image width or height decoded for a thumbnail.
const MAX_DECODE_PX: u32 = 8192;
/// Most memory a decoder may allocate for a thumbnail.
const MAX_DECODE_ALLOC: u64 = 128 * 1024 * 1024;
/// How long clients may keep a file: ids never point at different bytes.
const CACHE: &str = "private, max-age=86400";

/// Thumbnails decoded at once: decoding is CPU- and memory-heavy, so a burst of requests
/// waits here instead of filling the blocking pool.
static DECODING: Semaphore = Semaphore::const_new(4);

/// The upload routes, with a body limit that fits the largest allowed file.
pub(crate) fn upload_routes(config: &ServerConfig) -> OpenApiRouter<AppState> {
    let limit = usize::try_from(config.upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MULTIPART_OVERHEAD);
    OpenApiRouter::new()
        .routes(routes!(upload_attachment))
        .routes(routes!(upload_avatar))
        .layer(axum::middleware::map_request(crate::upload::pace))
        .layer(DefaultBodyLimit::max(limit))
}

/// A multipart upload; only the part named `file` is read.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only describes the body for the OpenAPI document.
struct FileUpload {
    /// The file. The part's filename becomes the attachment's name (default `file`).
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

/// A file's raw bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only describes the body for the OpenAPI document.
struct RawBytes(Vec<u8>);

/// Uploads a file to a room, for attaching to a message there. Its type is detected from
/// its bytes.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/attachments", operation_id = "upload_attachment", tag = "files",
    params(("room_id" = i64, Path, description = "The room the file is for")),
    request_body(content = inline(FileUpload), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = AttachmentMeta),
        (status = 400, description = "invalid_multipart, empty_file", body = ErrorBody),
        (status = 403, description = "not_a_member", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited (as many uploads in flight as allowed)", body = ErrorBody),
        (status = 503, description = "upload_timeout (the body stalled, or took too long in all)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn upload_attachment(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<AttachmentMeta>), Refused> {
    store(&state, user, Some(room), multipart).await
}

/// Uploads an image for the caller's avatar (PNG, JPEG, GIF or WebP). Every signed-in user
/// may download it. Set it with `PATCH /v1/me {"avatar": id}`.
#[utoipa::path(post, path = "/v1/me/avatar", operation_id = "upload_avatar", tag = "files",
    request_body(content = inline(FileUpload), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = AttachmentMeta),
        (status = 400, description = "invalid_multipart, empty_file, avatar_must_be_image", body = ErrorBody),
        (status = 429, description = "rate_limited (as many uploads in flight as allowed)", body = ErrorBody),
        (status = 503, description = "upload_timeout (the body stalled, or took too long in all)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn upload_avatar(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<AttachmentMeta>), Refused> {
    store(&state, user, None, multipart).await
}

/// A file's bytes, for members of the room it was uploaded to (avatars: anyone signed in).
#[utoipa::path(get, path = "/v1/attachments/{attachment_id}", operation_id = "download_attachment", tag = "files",
    params(("attachment_id" = i64, Path, description = "The file")),
    responses(
        (status = 200, description = "The bytes, with the Content-Type detected from them when \
            the file was uploaded (`image/png`, `application/pdf`, `text/plain; charset=utf-8`, \
            ..., `application/octet-stream` when unknown); PNG, JPEG, GIF and WebP images inline, \
            anything else as a download", content_type = "*/*", body = inline(RawBytes)),
        (status = 404, description = "attachment_not_found (also when the caller may not see it)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn download(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<AttachmentId>,
) -> ApiResult<Response> {
    let (meta, data) = state.engine.attachments().download(user, id).await?;
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    // Images show in the page; anything else is saved. Both carry the file's name.
    let kind = if is_web_image(&meta.content_type) {
        "inline"
    } else {
        "attachment"
    };
    let disposition = HeaderValue::from_str(&disposition(kind, &meta.filename))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        data,
    )
        .into_response())
}

/// A PNG of an image attachment, fitted into 256x256 pixels with its aspect ratio kept.
#[utoipa::path(get, path = "/v1/attachments/{attachment_id}/thumbnail", operation_id = "get_thumbnail", tag = "files",
    params(("attachment_id" = i64, Path, description = "The image")),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/png", body = inline(RawBytes)),
        (status = 404, description = "attachment_not_found, thumbnail_not_found (not an image, or one that cannot be decoded)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn thumbnail(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<AttachmentId>,
) -> ApiResult<Response> {
    let no_thumbnail = || {
        ApiError::new(
            ErrorCode::ThumbnailNotFound,
            "the file is not an image that can be decoded",
        )
    };
    let (meta, data) = state.engine.attachments().download(user, id).await?;
    if !meta.content_type.starts_with("image/") {
        return Err(no_thumbnail());
    }
    let _permit = DECODING
        .acquire()
        .await
        .map_err(|e| ApiError(jeco_core::Error::internal(e)))?;
    let png = tokio::task::spawn_blocking(move || make_thumbnail(&data))
        .await
        .map_err(|e| ApiError(jeco_core::Error::internal(e)))?
        .map_err(|e| {
            tracing::debug!(error = %e, attachment = %id, "no thumbnail");
            no_thumbnail()
        })?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        png,
    )
        .into_response())
}

/// Streams the upload into the blob store for `room` (`None`: an avatar); 201 with its
/// metadata. Whatever ends it early discards what was written.
async fn store(
    state: &AppState,
    user: UserId,
    room: Option<RoomId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<AttachmentMeta>), Refused> {
    let _slot = state.uploads.admit(user)?;
    let mut multipart =
        multipart.map_err(|e| ApiError::new(ErrorCode::InvalidMultipart, e.body_text()))?;
    let attachments = state.engine.attachments();
    let mut upload = attachments.start(user, room).await?;
    let deadlines = Deadlines {
        idle: state.config.upload_idle_timeout,
        total: state.config.upload_timeout,
    };
    let filename = receive(&mut multipart, &mut upload, deadlines).await?;
    let meta = attachments.finish(upload, &filename).await?;
    Ok((StatusCode::CREATED, Json(meta)))
}

/// `kind` (`inline` or `attachment`) with the filename twice: a plain-ASCII fallback for old
/// clients, and the exact name percent-encoded as UTF-8 (RFC 6266, RFC 8187).
fn disposition(kind: &str, filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '%') => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Decodes an image within fixed limits (against decompression bombs) and encodes it as a
/// PNG no larger than [`THUMBNAIL_PX`] on either side. Small images keep their size.
fn make_thumbnail(data: &[u8]) -> Result<Vec<u8>, image::ImageError> {
    let mut reader = image::ImageReader::new(Cursor::new(data)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_PX);
    limits.max_image_height = Some(MAX_DECODE_PX);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut image = reader.decode()?;
    if image.width() > THUMBNAIL_PX || image.height() > THUMBNAIL_PX {
        image = image.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX);
    }
    let mut png = Vec::new();
    image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_is_ascii_with_an_exact_utf8_name() {
        assert_eq!(
            disposition("attachment", "report 2024.pdf"),
            "attachment; filename=\"report 2024.pdf\"; filename*=UTF-8''report%202024.pdf"
        );
        assert_eq!(
            disposition("inline", "naïve\\100%.txt"),
            "inline; filename=\"na_ve_100_.txt\"; \
             filename*=UTF-8''na%C3%AFve%5C100%25.txt"
        );
    }

    #[test]
    fn thumbnails_fit_and_keep_the_aspect_ratio() {
        let big = image::DynamicImage::new_rgb8(1024, 512);
        let mut png = Vec::new();
        big.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode");
        let thumb =
            image::load_from_memory(&make_thumbnail(&png).expect("thumbnail")).expect("decode");
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        assert!(make_thumbnail(b"\x89PNG\r\n\x1a\nnot really").is_err());
    }
}
