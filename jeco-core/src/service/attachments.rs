//! Uploads and downloads. The content type is detected from the bytes; only members of the
//! room a file was uploaded to may download it (avatars: every signed-in user).

use bytes::Bytes;

use crate::auth::random_key;
use crate::blob::sniff_content_type;
use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{AttachmentId, RoomId, Timestamp, UserId};
use crate::model::AttachmentMeta;
use crate::service::member_of;
use crate::store::NewAttachment;
use crate::validate;

/// Uploads and downloads.
pub struct Attachments<'a> {
    core: &'a Core,
}

impl<'a> Attachments<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        Attachments { core }
    }

    /// Stores a file for use in `room` (or, with `None`, an image for the user's avatar).
    ///
    /// Errors: `too_large`, `empty_file`, `not_a_member`, `room_not_found`,
    /// `avatar_must_be_image`.
    pub async fn upload(
        &self,
        user: UserId,
        room: Option<RoomId>,
        filename: &str,
        data: Bytes,
    ) -> Result<AttachmentMeta> {
        let limit = self.core.limits.upload_bytes;
        if data.len() as u64 > limit {
            return Err(Error::invalid(
                ErrorCode::TooLarge,
                "file",
                format!("the file is larger than the limit of {limit} bytes"),
            ));
        }
        if data.is_empty() {
            return Err(Error::invalid(
                ErrorCode::EmptyFile,
                "file",
                "the file is empty",
            ));
        }
        let content_type = sniff_content_type(&data);
        match room {
            Some(room) => {
                member_of(self.core, user, room).await?;
            }
            None if !content_type.starts_with("image/") => {
                return Err(Error::invalid(
                    ErrorCode::AvatarMustBeImage,
                    "file",
                    "an avatar must be a PNG, JPEG, GIF or WebP image",
                ));
            }
            None => {}
        }
        let key = random_key();
        let size = data.len() as i64;
        self.core
            .blobs
            .put(&key, data)
            .await
            .map_err(Error::internal)?;
        Ok(self
            .core
            .stores
            .attachments
            .insert_attachment(NewAttachment {
                room,
                uploader: user,
                blob_key: &key,
                filename: &validate::filename(filename),
                content_type,
                size,
                now: Timestamp::now(),
            })
            .await?)
    }

    /// A file's metadata and bytes, for a member of its room.
    ///
    /// Errors: `attachment_not_found`, also when the user may not see it.
    pub async fn download(
        &self,
        user: UserId,
        id: AttachmentId,
    ) -> Result<(AttachmentMeta, Bytes)> {
        let stored = self.core.stores.attachments.attachment(id).await?;
        if let Some(room) = stored.meta.room_id {
            member_of(self.core, user, room)
                .await
                .map_err(|_| Error::not_found(ErrorCode::AttachmentNotFound))?;
        }
        let data = self
            .core
            .blobs
            .get(&stored.blob_key)
            .await
            .map_err(|e| match e {
                crate::blob::BlobError::NotFound => Error::not_found(ErrorCode::AttachmentNotFound),
                other => Error::internal(other),
            })?;
        Ok((stored.meta, data))
    }
}
