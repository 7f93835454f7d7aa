//! File records: [`AttachmentStore`](crate::store::AttachmentStore) for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! attachments {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl AttachmentStore for $store {
            async fn insert_attachment(&self, new: NewAttachment<'_>) -> StoreResult<AttachmentMeta> {
                let NewAttachment { room, uploader, blob_key, filename, content_type, size, now } = new;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO attachments (room_id, uploader_id, blob_key, filename, content_type, size, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(room.map(RoomId::get))
                .bind(uploader.get())
                .bind(blob_key)
                .bind(filename)
                .bind(content_type)
                .bind(size)
                .bind(now.0)
                .fetch_one(self.writer())
                .await
                .map_err(map_err("attachment"))?;
                Ok(AttachmentMeta {
                    id: AttachmentId(id),
                    room_id: room,
                    filename: filename.to_owned(),
                    content_type: content_type.to_owned(),
                    size,
                })
            }

            async fn attachment(&self, id: AttachmentId) -> StoreResult<StoredAttachment> {
                let row = sqlx::query_as::<_, AttachmentRow>(
                    "SELECT id, room_id, uploader_id, blob_key, filename, content_type, size \
                     FROM attachments WHERE id = $1",
                )
                .bind(id.get())
                .fetch_one(self.reader())
                .await
                .map_err(map_err("attachment"))?;
                Ok(StoredAttachment {
                    meta: AttachmentMeta {
                        id: AttachmentId(row.id),
                        room_id: row.room_id.map(RoomId),
                        filename: row.filename,
                        content_type: row.content_type,
                        size: row.size,
                    },
                    uploader: UserId(row.uploader_id),
                    blob_key: row.blob_key,
                })
            }
        }
    };
}

pub(crate) use attachments;
