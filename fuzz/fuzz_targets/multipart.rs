//! The upload reader: any bytes as a multipart body give a file name and the file's bytes,
//! or a refusal with a code, never a panic; the file is cut off at the size limit.

#![no_main]

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::Request;
use bytes::Bytes;
use jeco_core::error::{Error, ErrorCode};
use jeco_server::upload::{Deadlines, Sink, receive};
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "fuzz-boundary";
/// A limit small enough for fuzzed inputs to cross.
const LIMIT: usize = 4096;

/// Collects the file as the server's blob writer would, refusing it past [`LIMIT`].
#[derive(Default)]
struct Collect(Vec<u8>);

#[async_trait::async_trait]
impl Sink for Collect {
    async fn write(&mut self, data: Bytes) -> Result<(), Error> {
        if self.0.len() + data.len() > LIMIT {
            return Err(Error::invalid(ErrorCode::TooLarge, "file", "too large"));
        }
        self.0.extend_from_slice(&data);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let request = Request::post("/upload")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(data.to_vec()))
            .expect("a request");
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
            return;
        };
        let mut sink = Collect::default();
        let deadlines = Deadlines {
            idle: Duration::from_secs(60),
            total: Duration::from_secs(60),
        };
        match receive(&mut multipart, &mut sink, deadlines).await {
            Ok(_) => assert!(sink.0.len() <= LIMIT),
            Err(e) => assert!(!e.body().message.is_empty()),
        }
    });
});
