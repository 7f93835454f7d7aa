//! The JSON bodies of the REST API: the first byte picks a request type, the rest is its
//! body. Any bytes are read or refused, never a panic; a body that was read is written back
//! and read again unchanged.

#![no_main]

use std::fmt::Debug;

use jeco_proto::api::*;
use jeco_proto::model::ProfileUpdate;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(body: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(body) else {
        return;
    };
    let json = serde_json::to_vec(&value).expect("a body serializes");
    let again: T = serde_json::from_slice(&json).expect("a body reads back");
    assert_eq!(again, value);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 16 {
        0 => round_trip::<RegisterRequest>(body),
        1 => round_trip::<LoginRequest>(body),
        2 => round_trip::<RefreshRequest>(body),
        3 => round_trip::<PasswordResetRequest>(body),
        4 => round_trip::<PasswordResetConfirm>(body),
        5 => round_trip::<ChangePasswordRequest>(body),
        6 => round_trip::<CreateRoomRequest>(body),
        7 => round_trip::<InviteRequest>(body),
        8 => round_trip::<SetRoleRequest>(body),
        9 => round_trip::<SendMessage>(body),
        10 => round_trip::<EditMessageRequest>(body),
        11 => round_trip::<ReactRequest>(body),
        12 => round_trip::<ForwardRequest>(body),
        13 => round_trip::<MarkReadRequest>(body),
        14 => round_trip::<TypingRequest>(body),
        _ => round_trip::<ProfileUpdate>(body),
    }
});
