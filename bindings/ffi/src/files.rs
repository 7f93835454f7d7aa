//! Uploads and downloads of files.

use std::sync::Arc;

use jeco_client::{Download, Upload};
use jeco_proto::ids::{AttachmentId, RoomId};
use jeco_proto::model::AttachmentMeta;

use crate::Client;
use crate::error::Result;

/// A file to upload: bytes in memory, or a file on disk streamed from there.
#[uniffi::remote(Enum)]
#[non_exhaustive]
pub enum Upload {
    Bytes {
        file_name: String,
        data: Vec<u8>,
    },
    File {
        path: String,
        file_name: Option<String>,
    },
}

/// A downloaded file.
#[uniffi::remote(Record)]
pub struct Download {
    pub data: Vec<u8>,
    pub content_type: String,
    pub file_name: Option<String>,
}

/// Told how far an upload got. Implemented in Kotlin or Swift.
#[uniffi::export(with_foreign)]
pub trait UploadListener: Send + Sync {
    /// `sent` of `total` bytes are on their way.
    fn progress(&self, sent: u64, total: u64);
}

/// Passes an upload's progress to the app's [`UploadListener`].
struct Progress(Arc<dyn UploadListener>);

impl jeco_client::UploadProgress for Progress {
    fn progress(&self, sent: u64, total: u64) {
        self.0.progress(sent, total);
    }
}

fn progress(
    listener: Option<Arc<dyn UploadListener>>,
) -> Option<Arc<dyn jeco_client::UploadProgress>> {
    listener.map(|l| Arc::new(Progress(l)) as Arc<dyn jeco_client::UploadProgress>)
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// Uploads a file to attach to a message of `room`.
    pub async fn upload_attachment(
        &self,
        room: RoomId,
        file: Upload,
        listener: Option<Arc<dyn UploadListener>>,
    ) -> Result<AttachmentMeta> {
        Ok(self
            .inner
            .upload_attachment(room, file, progress(listener))
            .await?)
    }

    /// Uploads an image to use as the avatar (then [`Client::update_profile`]).
    pub async fn upload_avatar(
        &self,
        file: Upload,
        listener: Option<Arc<dyn UploadListener>>,
    ) -> Result<AttachmentMeta> {
        Ok(self.inner.upload_avatar(file, progress(listener)).await?)
    }

    /// Downloads an attachment.
    pub async fn download(&self, attachment: AttachmentId) -> Result<Download> {
        Ok(self.inner.download(attachment).await?)
    }

    /// Downloads an image attachment's thumbnail.
    pub async fn thumbnail(&self, attachment: AttachmentId) -> Result<Download> {
        Ok(self.inner.thumbnail(attachment).await?)
    }
}
