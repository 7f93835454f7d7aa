//! File and image sharing: multipart uploads, sending with attachments, downloads with the
//! sniffed type, thumbnails, and who may fetch what.

use serde_json::json;

use crate::e2e::harness::{Db, Setup, is, png};

/// Walkthrough "file sharing": a document and an image are uploaded and sent; another member
/// sees them live and downloads them with the type detected from the bytes (never the
/// claimed one); images get a thumbnail; an outsider gets 404 for everything.
pub async fn files_and_images_are_shared_with_members_only(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let family = s.room(&alice, "family", "public", &[&bob]).await;
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let uploads = format!("/v1/rooms/{family}/attachments");

    let doc_bytes = b"Quarterly numbers: all good.\n".to_vec();
    let doc = s
        .upload(&alice, &uploads, "../../report.txt", doc_bytes.clone())
        .await
        .expect(201)
        .body;
    assert_eq!(doc["filename"], "report.txt", "paths are cleaned off");
    assert_eq!(doc["room_id"], json!(family));
    assert_eq!(doc["size"], doc_bytes.len());
    assert!(
        doc["content_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("text/plain")),
        "{doc}"
    );
    let image_bytes = png(300, 150);
    let image = s
        .upload(&alice, &uploads, "holiday.html", image_bytes.clone())
        .await
        .expect(201)
        .body;
    assert_eq!(image["content_type"], "image/png", "sniffed, not claimed");
    let page = s
        .upload(
            &alice,
            &uploads,
            "page.html",
            b"<html><script>alert(1)</script></html>".to_vec(),
        )
        .await
        .expect(201)
        .body;
    assert!(
        page["content_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("text/plain")),
        "HTML is never served as HTML: {page}"
    );
    // Larger than a JSON body may be, well within the upload limit.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let big_meta = s
        .upload(&alice, &uploads, "data.bin", big.clone())
        .await
        .expect(201)
        .body;
    assert_eq!(big_meta["content_type"], "application/octet-stream");

    let reply = a
        .command(json!({
            "type": "send", "room_id": family, "client_id": "f1", "body": "",
            "attachments": [doc["id"], image["id"]],
        }))
        .await;
    assert_eq!(reply["type"], "ack", "a message may be files only: {reply}");
    let f = b
        .wait_for("the message with files", |f| is(f, "message.created"))
        .await;
    let attached = f["message"]["attachments"].as_array().expect("attachments");
    assert_eq!(attached.len(), 2);
    assert_eq!(attached[0]["id"], doc["id"]);
    assert_eq!(attached[1]["content_type"], "image/png");

    // Downloads: sniffed type, disposition by kind, private caching, exact bytes.
    let got = s
        .get(&bob, &format!("/v1/attachments/{}", doc["id"]))
        .await
        .expect(200);
    assert_eq!(got.bytes, doc_bytes);
    assert!(got.header("content-type").starts_with("text/plain"));
    let disposition = got.header("content-disposition");
    assert!(
        disposition.starts_with("attachment") && disposition.contains("report.txt"),
        "{disposition}"
    );
    assert!(got.header("cache-control").contains("private"));
    assert_eq!(got.header("x-content-type-options"), "nosniff");
    let got = s
        .get(&bob, &format!("/v1/attachments/{}", image["id"]))
        .await
        .expect(200);
    assert_eq!(got.bytes, image_bytes);
    assert_eq!(got.header("content-type"), "image/png");
    assert!(got.header("content-disposition").starts_with("inline"));
    let got = s
        .get(&bob, &format!("/v1/attachments/{}", page["id"]))
        .await
        .expect(200);
    assert!(got.header("content-type").starts_with("text/plain"));
    assert!(got.header("content-disposition").starts_with("attachment"));
    let got = s
        .get(&bob, &format!("/v1/attachments/{}", big_meta["id"]))
        .await
        .expect(200);
    assert_eq!(got.bytes, big);

    // Thumbnails: PNG within 256 px, aspect kept; none for documents.
    let thumb = s
        .get(&bob, &format!("/v1/attachments/{}/thumbnail", image["id"]))
        .await
        .expect(200);
    assert_eq!(thumb.header("content-type"), "image/png");
    let decoded = image::load_from_memory(&thumb.bytes).expect("the thumbnail is an image");
    let (w, h) = (decoded.width(), decoded.height());
    assert!(w <= 256 && h <= 256 && w > 0 && h > 0, "{w}x{h}");
    assert!(w > h, "the aspect ratio is kept: {w}x{h}");
    s.get(&bob, &format!("/v1/attachments/{}/thumbnail", doc["id"]))
        .await
        .expect_error(404, "thumbnail_not_found");

    // The outsider learns nothing.
    for path in [
        format!("/v1/attachments/{}", doc["id"]),
        format!("/v1/attachments/{}", image["id"]),
        format!("/v1/attachments/{}/thumbnail", image["id"]),
    ] {
        let r = s.get(&carol, &path).await.expect(404);
        assert!(r.code().ends_with("not_found"), "{path}: {}", r.body);
        assert!(r.bytes.len() < 1000, "no file bytes leak");
    }
    s.get(&carol, "/v1/attachments/999999")
        .await
        .expect_error(404, "attachment_not_found");
    s.upload(&carol, &uploads, "x.txt", b"hi".to_vec())
        .await
        .expect_error(403, "not_a_member");
    s.upload(&alice, &uploads, "empty.txt", Vec::new())
        .await
        .expect_error(400, "empty_file");

    // Only one's own uploads to this room can be attached.
    s.post(
        &bob,
        &format!("/v1/rooms/{family}/messages"),
        json!({"client_id": "b1", "body": "mine now", "attachments": [doc["id"]]}),
    )
    .await
    .expect_error(400, "invalid_attachment");
    let dm = s.direct(&alice, &bob).await;
    s.post(
        &alice,
        &format!("/v1/rooms/{dm}/messages"),
        json!({"client_id": "a1", "body": "moved", "attachments": [doc["id"]]}),
    )
    .await
    .expect_error(400, "invalid_attachment");
}

/// Uploads over the configured limit are refused with 413 and the limit is the upload
/// limit, not the JSON body limit.
pub async fn uploads_over_the_limit_are_refused(db: Db) {
    let mut setup = Setup::default();
    setup.limits.upload_bytes = 100_000;
    setup.config.upload_bytes = 100_000;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let general = s.general();
    let path = format!("/v1/rooms/{general}/attachments");
    s.upload(&alice, &path, "ok.bin", vec![7u8; 90_000])
        .await
        .expect(201);
    let r = s.upload(&alice, &path, "big.bin", vec![7u8; 150_000]).await;
    assert_eq!(r.status, 413, "{}: {}", r.what, r.body);
}
