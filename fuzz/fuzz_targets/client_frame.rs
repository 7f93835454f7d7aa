//! A real-time frame from a client, as every transport decodes it: any bytes give either a
//! command or the `error` frame that answers them, never a panic. A command that was read
//! is written back and read again unchanged, so what a client sends means what it says.

#![no_main]

use jeco_proto::ws::ClientFrame;
use libfuzzer_sys::fuzz_target;

/// The server's default frame limit.
const FRAME_BYTES: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(command) = jeco_core::session::parse_command(data, FRAME_BYTES) else {
        return;
    };
    let json = serde_json::to_vec(&command).expect("a command serializes");
    let again: ClientFrame = serde_json::from_slice(&json).expect("a command reads back");
    assert_eq!(again, command);
});
