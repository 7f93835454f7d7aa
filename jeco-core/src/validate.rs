//! Input rules. Each check returns the cleaned value or an [`Error::Invalid`] naming the field
//! and the rule, so a client can show the message next to the right input.

use crate::error::{Error, ErrorCode, Result};

/// Lower-cases and checks a username: 3 to 32 characters of `a-z`, `0-9` and `_`, starting
/// with a letter or digit.
pub(crate) fn username(raw: &str) -> Result<String> {
    let name = raw.trim().to_ascii_lowercase();
    let ok_len = (3..=32).contains(&name.len());
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let ok_start = name.bytes().next().is_some_and(|b| b != b'_');
    if ok_len && ok_chars && ok_start {
        Ok(name)
    } else {
        Err(Error::invalid(
            ErrorCode::InvalidUsername,
            "username",
            "use 3 to 32 letters, digits or underscores, not starting with an underscore",
        ))
    }
}

/// Lower-cases and checks the shape of an email address (one `@`, a dotted domain, no spaces,
/// at most 254 characters). Whether it receives mail is not checked.
pub(crate) fn email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(Error::invalid(
            ErrorCode::InvalidEmail,
            "email",
            "enter an email address such as name@example.com",
        ))
    }
}

/// Passwords most often tried first by attackers; refused outright.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "iloveyou",
    "sunshine1",
    "princess1",
    "football1",
    "baseball1",
    "welcome1",
    "letmein1",
    "admin123",
    "abc12345",
    "11111111",
    "00000000",
    "trustno1",
    "passw0rd",
    "jecochat",
    "changeme",
];

/// The password policy: 8 to 128 characters, not only digits, not a well-known password, and
/// not containing the username.
pub(crate) fn password(password: &str, username: Option<&str>) -> Result<()> {
    let fail =
        |message: &'static str| Err(Error::invalid(ErrorCode::WeakPassword, "password", message));
    let chars = password.chars().count();
    if chars < 8 {
        return fail("use at least 8 characters");
    }
    if chars > 128 {
        return fail("use at most 128 characters");
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return fail("use more than digits");
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return fail("this password is too common");
    }
    if let Some(name) = username.filter(|n| n.len() >= 3)
        && lower.contains(&name.to_lowercase())
    {
        return fail("the password must not contain the username");
    }
    Ok(())
}

/// Checks free text: at most `max` characters and no control characters other than line
/// breaks and tabs (when `multiline`). Returns it trimmed.
pub(crate) fn text(raw: &str, field: &'static str, max: usize, multiline: bool) -> Result<String> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(Error::invalid(
            ErrorCode::TooLong,
            field,
            format!("use at most {max} characters"),
        ));
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\t'));
    if value.chars().any(bad) {
        return Err(Error::invalid(
            ErrorCode::InvalidCharacters,
            field,
            "control characters are not allowed",
        ));
    }
    Ok(value.to_owned())
}

/// Lower-cases and checks a room name: 2 to 64 characters of `a-z`, `0-9`, `-` and `_`,
/// starting with a letter or digit.
pub(crate) fn room_name(raw: &str) -> Result<String> {
    let name = raw.trim().to_ascii_lowercase();
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(name)
    } else {
        Err(Error::invalid(
            ErrorCode::InvalidRoomName,
            "name",
            "use 2 to 64 letters, digits, '-' or '_', starting with a letter or digit",
        ))
    }
}

/// Checks a client message id: 1 to 64 characters of `A-Z a-z 0-9 - _ . :`.
pub(crate) fn client_id(raw: &str) -> Result<()> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            ErrorCode::InvalidClientId,
            "client_id",
            "use 1 to 64 characters of letters, digits, '-', '_', '.' or ':'",
        ))
    }
}

/// Checks a reaction: 1 to 32 bytes, no whitespace or control characters.
pub(crate) fn emoji(raw: &str) -> Result<()> {
    let ok = !raw.is_empty()
        && raw.len() <= 32
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            ErrorCode::InvalidEmoji,
            "emoji",
            "a reaction is one emoji or short code without spaces",
        ))
    }
}

/// The usernames mentioned as `@name` in `body`, lower-cased, de-duplicated, at most `max`.
pub(crate) fn mentions(body: &str, max: usize) -> Vec<String> {
    let bytes = body.as_bytes();
    let mut found: Vec<String> = Vec::new();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() && found.len() < max {
        if bytes[i] == b'@' && (i == 0 || !is_name(bytes[i - 1])) {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && is_name(bytes[end]) {
                end += 1;
            }
            if (3..=32).contains(&(end - start)) {
                let name = body[start..end].to_ascii_lowercase();
                if !found.contains(&name) {
                    found.push(name);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

/// Makes an uploaded file's name safe to show and to offer for download: the last path
/// component, without control characters, at most 255 bytes; `file` if nothing is left.
pub(crate) fn filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    clean = clean.trim().trim_start_matches('.').to_owned();
    while clean.len() > 255 {
        clean.pop();
    }
    if clean.is_empty() {
        "file".to_owned()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username("  Alice_1 ").unwrap(), "alice_1");
        for bad in ["ab", "_alice", "al ice", "alice!", "ünï", &"a".repeat(33)] {
            assert_eq!(
                username(bad).unwrap_err().code(),
                "invalid_username",
                "{bad}"
            );
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Bob@Example.COM ").unwrap(), "bob@example.com");
        for bad in [
            "bob",
            "bob@",
            "@x.io",
            "bob@localhost",
            "b ob@x.io",
            "a@b@c.io",
            "bob@x.",
        ] {
            assert_eq!(email(bad).unwrap_err().code(), "invalid_email", "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        assert!(password("correct horse battery", Some("alice")).is_ok());
        for bad in ["short", "1234567890123", "Password1", "alice-rocks-99"] {
            assert_eq!(
                password(bad, Some("alice")).unwrap_err().code(),
                "weak_password",
                "{bad}"
            );
        }
        assert!(password(&"x".repeat(129), None).is_err());
    }

    #[test]
    fn mention_parsing() {
        assert_eq!(
            mentions(
                "hi @Bob and @carol, not mail@dave.io nor @x; @bob again",
                20
            ),
            vec!["bob", "carol"]
        );
        assert_eq!(mentions("@aaa @bbb @ccc", 2), vec!["aaa", "bbb"]);
    }

    #[test]
    fn filenames() {
        assert_eq!(filename("../../etc/passwd"), "passwd");
        assert_eq!(filename("C:\\x\\report.pdf"), "report.pdf");
        assert_eq!(filename("a\u{0}b\"c.txt"), "abc.txt");
        assert_eq!(filename(".."), "file");
        assert_eq!(filename(".bashrc"), "bashrc");
        assert!(filename(&"é".repeat(300)).len() <= 255);
    }

    #[test]
    fn text_rules() {
        assert_eq!(text("  hi\nthere ", "body", 10, true).unwrap(), "hi\nthere");
        assert_eq!(
            text("hi\nthere", "topic", 10, false).unwrap_err().code(),
            "invalid_characters"
        );
        assert_eq!(
            text("hello world", "topic", 5, false).unwrap_err().code(),
            "too_long"
        );
    }
}
