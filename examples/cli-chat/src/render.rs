//! Turning what the server says into lines for a terminal.
//!
//! Everything shown comes from other people (message text, usernames, room names), and a
//! terminal obeys escape sequences: a message holding `ESC [2J` would clear the reader's
//! screen, and worse ones can retitle windows or fake prompts. So every piece of foreign text
//! goes through [`clean`], which shows control characters instead of emitting them.

use std::io::Write;

use jeco_client::proto::ids::Timestamp;
use jeco_client::proto::model::Message;

/// Prints one line on standard output. A closed output is not worth dying for (the user
/// piped us into something that quit), so write errors are ignored; `println!` would panic.
pub(crate) fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Prints one line on standard error (failures and prompts).
pub(crate) fn err(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Foreign text made safe to print: control characters are shown escaped (`\u{1b}`), and a
/// line break continues on an indented line so that it cannot pass for a line of ours.
pub(crate) fn clean(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\n    "),
            '\t' => shown.push(' '),
            c if c.is_control() || is_bidi_control(c) => shown.extend(c.escape_unicode()),
            c => shown.push(c),
        }
    }
    shown
}

/// Characters that reorder the text around them on screen.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `[label] sender: text`, the one way a message is shown, live or from history.
pub(crate) fn message_line(label: &str, message: &Message) -> String {
    let mut line = format!("[{}] {}: ", clean(label), clean(&message.sender.username));
    if message.deleted {
        line.push_str("(deleted)");
        return line;
    }
    line.push_str(&clean(&message.body));
    for file in &message.attachments {
        line.push_str(&format!(" [file: {}]", clean(&file.filename)));
    }
    if message.edited_at.is_some() {
        line.push_str(" (edited)");
    }
    line
}

/// How long ago `then` was, roughly, as of `now`.
pub(crate) fn ago(then: Timestamp, now: Timestamp) -> String {
    let secs = now.0.saturating_sub(then.0).max(0) / 1000;
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use jeco_client::proto::ids::{MessageId, RoomId, Seq, UserId};
    use jeco_client::proto::model::UserRef;

    use super::*;

    fn message(body: &str) -> Message {
        Message {
            id: MessageId(1),
            room_id: RoomId(1),
            seq: Seq(1),
            sender: UserRef {
                id: UserId(2),
                username: "alice".into(),
                display_name: String::new(),
            },
            client_id: "c".into(),
            body: body.into(),
            reply_to: None,
            forwarded_from: None,
            attachments: Vec::new(),
            mentions: Vec::new(),
            reactions: Vec::new(),
            created_at: Timestamp(0),
            edited_at: None,
            deleted: false,
        }
    }

    #[test]
    fn escapes_cannot_reach_the_terminal() {
        assert_eq!(clean("plain ✓"), "plain ✓");
        assert_eq!(clean("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(clean("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(clean("one\ntwo"), "one\n    two");
        assert!(!clean("\u{7}\u{9b}x\r").chars().any(|c| c.is_control()));
    }

    #[test]
    fn messages() {
        assert_eq!(
            message_line("general", &message("hi")),
            "[general] alice: hi"
        );
        let mut edited = message("hi again");
        edited.edited_at = Some(Timestamp(5));
        assert_eq!(
            message_line("@alice", &edited),
            "[@alice] alice: hi again (edited)"
        );
        let mut gone = message("secret");
        gone.deleted = true;
        assert_eq!(message_line("general", &gone), "[general] alice: (deleted)");
    }

    #[test]
    fn how_long_ago() {
        let now = Timestamp(10_000_000_000);
        assert_eq!(ago(Timestamp(now.0 - 5_000), now), "just now");
        assert_eq!(ago(Timestamp(now.0 - 300_000), now), "5 min ago");
        assert_eq!(ago(Timestamp(now.0 - 7_200_000), now), "2 h ago");
        assert_eq!(ago(Timestamp(now.0 - 3 * 86_400_000), now), "3 days ago");
        assert_eq!(ago(Timestamp(now.0 + 1_000), now), "just now");
    }
}
