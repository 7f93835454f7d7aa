//! Files against the real server: uploads from memory and from disk with progress, downloads
//! with their type and name, thumbnails, attachments on messages, and an upload cancelled by
//! dropping its future.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};

use common::{TestServer, WAIT, general, png};
use jeco_client::proto::api::SendMessage;
use jeco_client::proto::error::ErrorCode;
use jeco_client::proto::ids::AttachmentId;
use jeco_client::{Error, Upload, UploadProgress};

/// Records every progress report.
#[derive(Default)]
struct Reports(Mutex<Vec<(u64, u64)>>);

impl UploadProgress for Reports {
    fn progress(&self, sent: u64, total: u64) {
        self.0.lock().unwrap().push((sent, total));
    }
}

impl Reports {
    /// Asserts the reports climb from 0 to `total` in several steps.
    fn assert_climbed_to(&self, total: u64) {
        let reports = self.0.lock().unwrap().clone();
        assert!(
            reports.len() > 2,
            "several chunks were reported: {reports:?}"
        );
        assert_eq!(reports.first(), Some(&(0, total)));
        assert_eq!(reports.last(), Some(&(total, total)));
        assert!(
            reports.windows(2).all(|w| w[0].0 < w[1].0),
            "strictly increasing: {reports:?}"
        );
    }
}

/// Bytes that are no known type, over several upload chunks.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_report_progress_and_download_back_with_type_and_name() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let room = general(&alice).await;

    let data = binary(300 * 1024);
    let reports = Arc::new(Reports::default());
    let file = Upload::Bytes {
        file_name: "data 1.bin".into(),
        data: data.clone(),
    };
    let meta = alice
        .upload_attachment(room, file, Some(reports.clone()))
        .await
        .unwrap();
    reports.assert_climbed_to(data.len() as u64);
    assert_eq!(meta.size, data.len() as i64);
    assert_eq!(meta.filename, "data 1.bin");
    assert_eq!(meta.room_id, Some(room));

    // Attached to a message, the file is another member's to download.
    let message = alice
        .send_message(
            room,
            SendMessage {
                attachments: vec![meta.id],
                ..SendMessage::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(message.attachments, vec![meta.clone()]);
    let download = bob.download(meta.id).await.unwrap();
    assert_eq!(download.data, data);
    assert_eq!(download.content_type, "application/octet-stream");
    assert_eq!(download.file_name.as_deref(), Some("data 1.bin"));

    // From disk, named after the file unless told otherwise.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes-ünï.txt");
    let text = "a line of notes\n".repeat(10_000);
    std::fs::write(&path, &text).unwrap();
    let reports = Arc::new(Reports::default());
    let file = Upload::File {
        path: path.to_string_lossy().into_owned(),
        file_name: None,
    };
    let meta = alice
        .upload_attachment(room, file, Some(reports.clone()))
        .await
        .unwrap();
    reports.assert_climbed_to(text.len() as u64);
    let download = alice.download(meta.id).await.unwrap();
    assert_eq!(download.data, text.as_bytes());
    assert!(download.content_type.starts_with("text/plain"));
    assert_eq!(download.file_name.as_deref(), Some("notes-ünï.txt"));

    let missing = Upload::File {
        path: dir
            .path()
            .join("nothing here")
            .to_string_lossy()
            .into_owned(),
        file_name: None,
    };
    let err = alice.upload_attachment(room, missing, None).await;
    assert!(matches!(err, Err(Error::File(_))), "{err:?}");
    let err = alice.download(AttachmentId(9999)).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AttachmentNotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_have_thumbnails() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let room = general(&alice).await;

    let image = png(600, 300);
    let file = Upload::Bytes {
        file_name: "wide.png".into(),
        data: image.clone(),
    };
    let meta = alice.upload_attachment(room, file, None).await.unwrap();
    assert_eq!(meta.content_type, "image/png");
    let download = alice.download(meta.id).await.unwrap();
    assert_eq!(download.data, image);
    assert_eq!(download.content_type, "image/png");
    assert_eq!(download.file_name.as_deref(), Some("wide.png"));

    let thumbnail = alice.thumbnail(meta.id).await.unwrap();
    assert_eq!(thumbnail.content_type, "image/png");
    let decoded = image::load_from_memory(&thumbnail.data).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (256, 128));

    let file = Upload::Bytes {
        file_name: "plain.txt".into(),
        data: b"not an image".to_vec(),
    };
    let text = alice.upload_attachment(room, file, None).await.unwrap();
    let err = alice.thumbnail(text.id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ThumbnailNotFound));
}

/// Holds the upload's body at its second chunk: says so on `reached`, then waits for `go`.
struct Gate {
    reached: std_mpsc::Sender<()>,
    go: Mutex<std_mpsc::Receiver<()>>,
}

impl UploadProgress for Gate {
    fn progress(&self, sent: u64, _total: u64) {
        if sent > 0 {
            let _ = self.reached.send(());
            // Blocks the task that sends the body, so that no further chunk can go out
            // before the test has dropped the upload.
            let _ = self.go.lock().unwrap().recv_timeout(WAIT);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_upload_stores_nothing_and_the_client_goes_on() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let room = general(&alice).await;
    let small = |name: &str| Upload::Bytes {
        file_name: name.into(),
        data: b"small".to_vec(),
    };
    let before = alice
        .upload_attachment(room, small("before.txt"), None)
        .await
        .unwrap()
        .id;

    let (reached_tx, reached_rx) = std_mpsc::channel();
    let (go_tx, go_rx) = std_mpsc::channel();
    let gate = Arc::new(Gate {
        reached: reached_tx,
        go: Mutex::new(go_rx),
    });
    let big = Upload::Bytes {
        file_name: "big.bin".into(),
        data: binary(4 * 1024 * 1024),
    };
    let mut upload = Box::pin(alice.upload_attachment(room, big, Some(gate)));
    // Waited for on a blocking thread: the gate holds a runtime thread, and a wake-up from
    // outside the runtime is one any other thread can pick up.
    let reached = tokio::task::spawn_blocking(move || reached_rx.recv_timeout(WAIT));
    tokio::select! {
        done = &mut upload => panic!("the upload finished first: {done:?}"),
        reached = reached => reached.unwrap().expect("the upload got going"),
    }
    drop(upload);
    go_tx.send(()).unwrap();

    // Only a whole file is stored, and this one cannot be whole any more.
    let err = alice
        .download(AttachmentId(before.0 + 1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AttachmentNotFound));
    let after = alice
        .upload_attachment(room, small("after.txt"), None)
        .await
        .unwrap();
    assert_eq!(
        after.id,
        AttachmentId(before.0 + 1),
        "nothing was stored in between"
    );
    assert_eq!(alice.download(after.id).await.unwrap().data, b"small");
}
