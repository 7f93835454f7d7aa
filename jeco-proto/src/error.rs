//! Every error code the server answers with, in one enum.
//!
//! REST error bodies ([`crate::api::ErrorBody`]), real-time `error` frames and `closing`
//! frames ([`crate::ws::ServerFrame`]) all carry an [`ErrorCode`]. On the wire a code is its
//! snake_case name (`room_not_found`), exactly as [`ErrorCode::as_str`] spells it. Each code
//! has a [`ErrorKind`] (which decides the HTTP status), says whether retrying the same request
//! later may succeed ([`ErrorCode::is_transient`]), and where it can appear
//! ([`ErrorCode::channels`]). The server, the OpenAPI document, the protocol reference and the
//! clients are all derived from this table, so they cannot disagree.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a caller can do about an error; decides the HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was malformed or broke a rule; change it before trying again. `400`.
    Invalid,
    /// No valid credentials. `401`.
    Unauthenticated,
    /// Authenticated, but not allowed. `403`.
    Forbidden,
    /// The thing does not exist, or the caller may not know it does. `404`.
    NotFound,
    /// The path exists, but not with this method. `405`.
    MethodNotAllowed,
    /// The request clashes with existing state (a taken name, say). `409`.
    Conflict,
    /// The request or a part of it is larger than allowed. `413`.
    TooLarge,
    /// Too many requests or connections; wait, then retry. `429`.
    RateLimited,
    /// The server cannot serve this now (a dependency is down, it is shutting down, the
    /// connection fell behind); retry later, resuming where applicable. `503`.
    Unavailable,
    /// A fault on the server's side; the details are in its log. `500`.
    Internal,
}

impl ErrorKind {
    /// The HTTP status of errors of this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The kind's name, for documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::MethodNotAllowed => "method not allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::TooLarge => "too large",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Where a code can appear on the wire; none of the three for codes only a program that
/// embeds the engine sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Channels {
    /// In the [`ErrorBody`](crate::api::ErrorBody) of an HTTP response.
    pub http: bool,
    /// In a real-time `error` frame, the reply to a command.
    pub frame: bool,
    /// In a real-time `closing` frame, just before the server closes the connection.
    pub closing: bool,
}

/// Declares the codes: variant, wire name, kind, transient, channels (`h`: HTTP, `f`: error
/// frame, `c`: closing), and the one-line meaning that documents it.
macro_rules! error_codes {
    ($(
        #[doc = $doc:literal]
        $variant:ident = $wire:literal, $kind:ident, $transient:literal, [$($channel:ident)*];
    )*) => {
        /// A stable, machine-readable error code. Branch on it; show the accompanying message.
        ///
        /// New codes may be added within protocol version 1: a code this version does not
        /// know deserializes as [`ErrorCode::Unknown`] (treat it by its HTTP status, or as a
        /// failed command).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = $doc]
                $variant,
            )*
            /// A code this version of the types does not know (sent by a newer server). The
            /// server never sends it.
            Unknown,
        }

        impl ErrorCode {
            /// Every code the server may send, in the order of the protocol reference.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it travels on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                    ErrorCode::Unknown => "unknown",
                }
            }

            /// The code spelled `s` on the wire; `None` for a code this version does not know.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $($wire => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }

            /// What kind of error it is, which decides the HTTP status.
            pub fn kind(self) -> ErrorKind {
                match self {
                    $(ErrorCode::$variant => ErrorKind::$kind,)*
                    ErrorCode::Unknown => ErrorKind::Internal,
                }
            }

            /// Whether the very same request or command may succeed if tried again later
            /// (after a pause, or on a new connection that resumes). Codes about the input,
            /// the caller's rights or missing things are not transient.
            pub fn is_transient(self) -> bool {
                match self {
                    $(ErrorCode::$variant => $transient,)*
                    ErrorCode::Unknown => false,
                }
            }

            /// What the code means, in one sentence.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $doc.trim(),)*
                    ErrorCode::Unknown => "A code this version does not know.",
                }
            }

            /// Where the code can appear.
            pub fn channels(self) -> Channels {
                match self {
                    $(ErrorCode::$variant => error_codes!(@channels $($channel)*),)*
                    ErrorCode::Unknown => Channels { http: false, frame: false, closing: false },
                }
            }
        }
    };
    (@channels $($channel:ident)*) => {{
        #[allow(unused_mut)]
        let mut c = Channels { http: false, frame: false, closing: false };
        $(error_codes!(@set c $channel);)*
        c
    }};
    (@set $c:ident h) => { $c.http = true };
    (@set $c:ident f) => { $c.frame = true };
    (@set $c:ident c) => { $c.closing = true };
}

error_codes! {
    // Input that breaks a rule.
    /// The request body is not valid JSON, or a field is missing or of the wrong type.
    InvalidJson = "invalid_json", Invalid, false, [h];
    /// The request body must be sent as `application/json`.
    InvalidContentType = "invalid_content_type", Invalid, false, [h];
    /// The request body could not be read.
    InvalidBody = "invalid_body", Invalid, false, [h];
    /// A path parameter is not of the expected type (an id that is not a number, say).
    InvalidPath = "invalid_path", Invalid, false, [h];
    /// A query parameter is missing, malformed or out of range (a negative sequence, a page size below 1, a bad user id list).
    InvalidQuery = "invalid_query", Invalid, false, [h];
    /// The upload is not `multipart/form-data` with a part named `file`.
    InvalidMultipart = "invalid_multipart", Invalid, false, [h];
    /// `GET /v1/ws` was not a WebSocket upgrade request (`Connection: upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Version: 13`, `Sec-WebSocket-Key`).
    NotAWebsocket = "not_a_websocket", Invalid, false, [h];
    /// A real-time frame is not a valid command: not JSON, an unknown `type`, or a field missing or of the wrong type.
    InvalidFrame = "invalid_frame", Invalid, false, [f];
    /// The WebSocket stream could not be read (a malformed WebSocket frame); the connection is closed.
    ProtocolError = "protocol_error", Invalid, false, [c];
    /// `auth` was sent on a connection that is already authenticated.
    AlreadyAuthenticated = "already_authenticated", Invalid, false, [f];
    /// The username is not 3 to 32 letters, digits or underscores.
    InvalidUsername = "invalid_username", Invalid, false, [h];
    /// The email address is not an address.
    InvalidEmail = "invalid_email", Invalid, false, [h];
    /// The password is shorter than 8 or longer than 128 characters, common, or contains the username.
    WeakPassword = "weak_password", Invalid, false, [h];
    /// The room name is not 2 to 64 letters, digits, `-` or `_`.
    InvalidRoomName = "invalid_room_name", Invalid, false, [h];
    /// Direct rooms are opened with a user (`POST /v1/direct/{user_id}`), not created by name.
    InvalidKind = "invalid_kind", Invalid, false, [h];
    /// A text (message, topic, display name, bio) is longer than its limit.
    TooLong = "too_long", Invalid, false, [h f];
    /// A text contains control characters other than newline and tab.
    InvalidCharacters = "invalid_characters", Invalid, false, [h f];
    /// The `client_id` of a send is empty, longer than 64 characters, or has characters outside `A-Z a-z 0-9 - _ . :`.
    InvalidClientId = "invalid_client_id", Invalid, false, [h f];
    /// A message with no text (after trimming) and no attachment.
    EmptyMessage = "empty_message", Invalid, false, [h f];
    /// `reply_to` is not a message of the same room.
    InvalidReplyTo = "invalid_reply_to", Invalid, false, [h f];
    /// Too many files on one message, or a file not uploaded by the sender to this room.
    InvalidAttachment = "invalid_attachment", Invalid, false, [h f];
    /// The message was deleted; it cannot be edited or reacted to.
    MessageDeleted = "message_deleted", Invalid, false, [h f];
    /// The emoji is empty, longer than 32 bytes, or contains whitespace.
    InvalidEmoji = "invalid_emoji", Invalid, false, [h f];
    /// The user already put the most distinct reactions allowed on this message.
    TooManyReactions = "too_many_reactions", Invalid, false, [h f];
    /// A sequence is negative. Only a program calling the engine in-process gets this: on the wire a negative sequence does not even parse (`invalid_query`, `invalid_json`, `invalid_frame`).
    InvalidSeq = "invalid_seq", Invalid, false, [];
    /// `resume` asked for more changes of a room (or of the feed) than one replay may carry; `room_id` names the room (absent for the feed). Reload its history over REST.
    TooFarBehind = "too_far_behind", Invalid, false, [f];
    /// The target of the call is the caller, and the call is not for oneself (kick, block, direct room, contact, role).
    InvalidTarget = "invalid_target", Invalid, false, [h];
    /// More user ids than one presence query may ask for.
    TooManyUsers = "too_many_users", Invalid, false, [h];
    /// The uploaded file is empty.
    EmptyFile = "empty_file", Invalid, false, [h];
    /// An avatar must be a PNG, JPEG, GIF or WebP image.
    AvatarMustBeImage = "avatar_must_be_image", Invalid, false, [h];
    /// The avatar is not an image the user uploaded with `POST /v1/me/avatar`.
    InvalidAvatar = "invalid_avatar", Invalid, false, [h];

    // Too large.
    /// The request body, or the uploaded file, is larger than allowed.
    TooLarge = "too_large", TooLarge, false, [h];
    /// A real-time frame is larger than allowed; nothing in it was done.
    FrameTooLarge = "frame_too_large", TooLarge, false, [f c];

    // Credentials.
    /// No access token: send one in `Authorization: Bearer`. For a refresh: neither a refresh token in the body nor the `jeco_refresh` cookie.
    Unauthenticated = "unauthenticated", Unauthenticated, false, [h];
    /// Wrong username, email or password (the server does not say which).
    InvalidCredentials = "invalid_credentials", Unauthenticated, false, [h];
    /// The token is malformed, forged, revoked or already used. Refresh (for an access token) or sign in again.
    InvalidToken = "invalid_token", Unauthenticated, false, [h c];
    /// The access token has expired: refresh it and retry.
    TokenExpired = "token_expired", Unauthenticated, false, [h c];
    /// The real-time ticket is unknown, already used or expired: get a new one for every connection.
    InvalidTicket = "invalid_ticket", Unauthenticated, false, [h c];
    /// A WebSocket opened without a ticket must send `auth` as its first frame.
    AuthRequired = "auth_required", Unauthenticated, false, [c];
    /// A WebSocket opened without a ticket did not send `auth` in time.
    AuthTimeout = "auth_timeout", Unauthenticated, false, [c];
    /// Every login of the account was signed out (its password was changed or reset): sign in again.
    SignedOut = "signed_out", Unauthenticated, false, [c];

    // Rights.
    /// The room is public and the user has not joined it.
    NotAMember = "not_a_member", Forbidden, false, [h f];
    /// Only the author may edit a message.
    NotAuthor = "not_author", Forbidden, false, [h f];
    /// The user's role does not allow this (deleting others' messages, adding, removing or promoting members), or the room is direct.
    NotAllowed = "not_allowed", Forbidden, false, [h f];
    /// One of the two users blocks the other.
    Blocked = "blocked", Forbidden, false, [h f];
    /// A refresh or logout by the `jeco_refresh` cookie lacked the `X-Jeco-Csrf: 1` header, or came from a page of another origin; nothing was done.
    CsrfRejected = "csrf_rejected", Forbidden, false, [h];

    // Missing things. Private rooms and what is in them are "not found" to outsiders.
    /// No such user.
    UserNotFound = "user_not_found", NotFound, false, [h];
    /// No such room, or a private or direct room the user is not in; for `resume`, a room the connection does not follow.
    RoomNotFound = "room_not_found", NotFound, false, [h f];
    /// No such message, or one in a room the user is not in.
    MessageNotFound = "message_not_found", NotFound, false, [h f];
    /// No such notification, or someone else's.
    NotificationNotFound = "notification_not_found", NotFound, false, [h];
    /// No such file, or one the user may not see.
    AttachmentNotFound = "attachment_not_found", NotFound, false, [h];
    /// The user is not in the caller's contacts.
    ContactNotFound = "contact_not_found", NotFound, false, [h];
    /// The user is not a member of the room.
    MemberNotFound = "member_not_found", NotFound, false, [h];
    /// No open SSE stream with this id for this user: reconnect.
    SessionNotFound = "session_not_found", NotFound, false, [h];
    /// The file is not an image, or one that cannot be decoded.
    ThumbnailNotFound = "thumbnail_not_found", NotFound, false, [h];
    /// No such API route.
    UnknownRoute = "unknown_route", NotFound, false, [h];
    /// The route exists, but not with this HTTP method; the `Allow` header lists the ones it has.
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed, false, [h];

    // Clashes.
    /// The username is taken.
    UsernameTaken = "username_taken", Conflict, false, [h];
    /// An account with this email address exists.
    EmailTaken = "email_taken", Conflict, false, [h];
    /// A room with this name exists.
    RoomNameTaken = "room_name_taken", Conflict, false, [h];

    // Slow down.
    /// Too many requests or commands: wait, then retry (a send with the same `client_id`).
    RateLimited = "rate_limited", RateLimited, true, [h f];
    /// The user has as many real-time connections open as allowed: close one first.
    TooManyConnections = "too_many_connections", RateLimited, true, [h c];

    // Not now.
    /// Something the server depends on cannot be reached right now; retry shortly.
    Unavailable = "unavailable", Unavailable, true, [h c];
    /// Readiness: the database does not answer.
    StoreUnavailable = "store_unavailable", Unavailable, true, [h];
    /// Readiness: the node does not receive other nodes' events (Redis cannot be reached).
    NotSubscribed = "not_subscribed", Unavailable, true, [h];
    /// The connection fell too far behind the events meant for it: reconnect and resume.
    SlowConsumer = "slow_consumer", Unavailable, true, [c];
    /// The server is shutting down or restarting: reconnect after a short random delay and resume.
    ShuttingDown = "shutting_down", Unavailable, true, [c];
    /// The client answered no ping for three heartbeat intervals.
    HeartbeatTimeout = "heartbeat_timeout", Unavailable, true, [c];
    /// The upload sent nothing for too long, or took longer than allowed in all; nothing was stored. Retry, over a steadier connection.
    UploadTimeout = "upload_timeout", Unavailable, true, [h];

    // Our fault.
    /// A server-side failure; the details are in the server's log. Retrying later may work.
    Internal = "internal", Internal, true, [h f];
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        self.kind().status()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ErrorCode, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::parse(&s).unwrap_or(ErrorCode::Unknown))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A stable error code; every code is listed in docs/PROTOCOL.md §10.2. Clients \
                 must also accept codes they do not know.",
            ))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_parse() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert!(!code.description().is_empty());
        }
        assert_eq!(
            serde_json::from_str::<ErrorCode>("\"poll_closed\"").unwrap(),
            ErrorCode::Unknown
        );
        assert_eq!(ErrorCode::RoomNotFound.status(), 404);
        assert_eq!(ErrorCode::TooManyConnections.status(), 429);
        assert!(ErrorCode::RateLimited.is_transient());
        assert!(!ErrorCode::NotAMember.is_transient());
        assert_eq!(ErrorCode::Blocked, "blocked");
    }
}
