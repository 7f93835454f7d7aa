//! Uploads and downloads. An upload is received piece by piece ([`Attachments::start`],
//! [`Upload::write`], [`Attachments::finish`]) straight into the blob store, so no file is ever
//! held in memory whole. The content type is detected from the first bytes; only members of
//! the room a file was uploaded to may download it (avatars: every signed-in user).

use bytes::Bytes;

use crate::auth::random_key;
use crate::blob::{BlobWriter, SNIFF_BYTES, is_web_image, sniff_content_type};
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

/// A file being received. Dropping it unfinished (the upload was refused, timed out or cut
/// off) discards everything written so far.
pub struct Upload {
    user: UserId,
    room: Option<RoomId>,
    key: String,
    blob: Box<dyn BlobWriter>,
    /// The first bytes, which decide the type.
    head: Vec<u8>,
    size: u64,
    limit: u64,
}

impl Upload {
    /// Appends the next bytes of the file.
    ///
    /// Errors: `too_large` as soon as the file grows past the upload limit;
    /// `avatar_must_be_image` as soon as the first bytes of an avatar show it is not an image.
    pub async fn write(&mut self, data: Bytes) -> Result<()> {
        let size = self.size.saturating_add(data.len() as u64);
        if size > self.limit {
            return Err(Error::invalid(
                ErrorCode::TooLarge,
                "file",
                format!("the file is larger than the limit of {} bytes", self.limit),
            ));
        }
        if self.head.len() < SNIFF_BYTES {
            let take = data.len().min(SNIFF_BYTES - self.head.len());
            self.head.extend_from_slice(&data[..take]);
            if self.head.len() == SNIFF_BYTES {
                self.check_type()?;
            }
        }
        self.blob.write(data).await.map_err(Error::internal)?;
        self.size = size;
        Ok(())
    }

    /// The type of the file, refusing one that an avatar cannot be.
    fn check_type(&self) -> Result<&'static str> {
        let content_type = sniff_content_type(&self.head);
        if self.room.is_none() && !is_web_image(content_type) {
            return Err(Error::invalid(
                ErrorCode::AvatarMustBeImage,
                "file",
                "an avatar must be a PNG, JPEG, GIF or WebP image",
            ));
        }
        Ok(content_type)
    }
}

impl<'a> Attachments<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        Attachments { core }
    }

    /// Starts receiving a file from `user` for use in `room` (or, with `None`, an image for
    /// the user's avatar). Who may upload is checked here, before any byte is read.
    ///
    /// Errors: `not_a_member`, `room_not_found`.
    pub async fn start(&self, user: UserId, room: Option<RoomId>) -> Result<Upload> {
        if let Some(room) = room {
            member_of(self.core, user, room).await?;
        }
        let key = random_key();
        let blob = self
            .core
            .blobs
            .create(&key)
            .await
            .map_err(Error::internal)?;
        Ok(Upload {
            user,
            room,
            key,
            blob,
            head: Vec::new(),
            size: 0,
            limit: self.core.limits.upload_bytes,
        })
    }

    /// Stores a received file under `filename` (cleaned of any path).
    ///
    /// Errors: `empty_file`, `avatar_must_be_image`.
    pub async fn finish(&self, upload: Upload, filename: &str) -> Result<AttachmentMeta> {
        if upload.size == 0 {
            return Err(Error::invalid(
                ErrorCode::EmptyFile,
                "file",
                "the file is empty",
            ));
        }
        let content_type = upload.check_type()?;
        upload.blob.finish().await.map_err(Error::internal)?;
        Ok(self
            .core
            .stores
            .attachments
            .insert_attachment(NewAttachment {
                room: upload.room,
                uploader: upload.user,
                blob_key: &upload.key,
                filename: &validate::filename(filename),
                content_type,
                size: upload.size as i64,
                now: Timestamp::now(),
            })
            .await?)
    }

    /// Stores a file already in memory for use in `room` (or, with `None`, an image for the
    /// user's avatar): [`Attachments::start`], one [`Upload::write`], [`Attachments::finish`].
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
        let mut upload = self.start(user, room).await?;
        upload.write(data).await?;
        self.finish(upload, filename).await
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
