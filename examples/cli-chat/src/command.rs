//! What a line of input means. Parsing is kept apart from doing, so that every way of
//! mistyping a command can be tested without a server, and a bad line becomes a message to
//! the user instead of an error path through the network code.

/// Lines of history `/history` shows when no count is given.
pub(crate) const DEFAULT_HISTORY: u32 = 20;

/// The most `/history` asks for (the server's page limit).
const MAX_HISTORY: u32 = 100;

/// One line of input, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Send this text to the current room.
    Say(String),
    /// An empty line: nothing to do.
    Nothing,
    /// `/help`.
    Help,
    /// `/rooms`: joined rooms and public rooms to join.
    Rooms,
    /// `/join <room>`: join a public room (or switch to it if already in).
    Join(String),
    /// `/create <name> [private]`.
    Create {
        /// The room's name.
        name: String,
        /// Invitation only, instead of listed for everyone.
        private: bool,
    },
    /// `/dm <username>`: the direct conversation with someone.
    Dm(String),
    /// `/invite <username>`: add someone to the current room.
    Invite(String),
    /// `/switch <room>`: make another joined room the current one.
    Switch(String),
    /// `/who`: the current room's members with their presence.
    Who,
    /// `/history [n]`: the last `n` messages of the current room.
    History(u32),
    /// `/typing [off]`: tell the current room you are typing (or stopped).
    Typing(bool),
    /// `/leave`: leave the current room.
    Leave,
    /// `/quit`.
    Quit,
    /// Not a valid command; the text says why.
    Invalid(String),
}

/// The text `/help` prints.
pub(crate) const HELP: &str = "\
Commands:
  <text>                 send <text> to the current room (start with // to send a leading /)
  /rooms                 your rooms, and public rooms you can join
  /join <room>           join a public room and switch to it
  /create <name> [private]  create a room (public unless 'private') and switch to it
  /dm <username>         open the direct conversation with someone and switch to it
  /invite <username>     add someone to the current room
  /switch <room|@user>   make another of your rooms the current one
  /who                   members of the current room, online or not
  /history [n]           the last n messages of the current room (default 20)
  /typing [off]          show the room you are typing (lapses after a few seconds or when you send)
  /leave                 leave the current room
  /quit                  sign out and exit (also Ctrl-D)";

/// Understands one line of input.
pub(crate) fn parse(line: &str) -> Command {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Command::Nothing;
    }
    if let Some(text) = line.strip_prefix("//") {
        return Command::Say(format!("/{text}"));
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Command::Say(line.to_owned());
    };
    let mut words = rest.split_whitespace();
    let name = words.next().unwrap_or_default().to_ascii_lowercase();
    let args: Vec<&str> = words.collect();
    match (name.as_str(), args.as_slice()) {
        ("help" | "h" | "?", _) => Command::Help,
        ("rooms", []) => Command::Rooms,
        ("join" | "j", [room]) => Command::Join(room_name(room)),
        ("create", [room]) => Command::Create {
            name: room_name(room),
            private: false,
        },
        ("create", [room, kind]) if kind.eq_ignore_ascii_case("private") => Command::Create {
            name: room_name(room),
            private: true,
        },
        ("create", [_, "public"]) => Command::Invalid(
            "rooms are public unless you say 'private': /create <name> [private]".into(),
        ),
        ("dm" | "msg", [user]) => Command::Dm(user.trim_start_matches('@').to_owned()),
        ("invite", [user]) => Command::Invite(user.trim_start_matches('@').to_owned()),
        ("switch" | "s", [room]) => Command::Switch(room.trim_start_matches('#').to_owned()),
        ("who", []) => Command::Who,
        ("history", []) => Command::History(DEFAULT_HISTORY),
        ("history", [n]) => match n.parse::<u32>() {
            Ok(n) if (1..=MAX_HISTORY).contains(&n) => Command::History(n),
            _ => Command::Invalid(format!("/history takes a count from 1 to {MAX_HISTORY}")),
        },
        ("typing", []) => Command::Typing(true),
        ("typing", ["on"]) => Command::Typing(true),
        ("typing", ["off"]) => Command::Typing(false),
        ("leave", []) => Command::Leave,
        ("quit" | "exit" | "q", []) => Command::Quit,
        (
            "rooms" | "join" | "create" | "dm" | "msg" | "invite" | "switch" | "who" | "history"
            | "typing" | "leave" | "quit" | "exit",
            _,
        ) => Command::Invalid(format!(
            "wrong arguments for /{name}; /help shows the usage"
        )),
        _ => Command::Invalid(format!(
            "unknown command /{name}; /help lists the commands (start with // to send a line beginning with /)"
        )),
    }
}

/// A room name as typed, without the `#` some people put in front.
fn room_name(raw: &str) -> String {
    raw.trim_start_matches('#').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_sent() {
        assert_eq!(parse("hello there"), Command::Say("hello there".into()));
        assert_eq!(parse("  spaced  "), Command::Say("  spaced  ".into()));
        assert_eq!(
            parse("//not a command"),
            Command::Say("/not a command".into())
        );
        assert_eq!(parse("hi\r"), Command::Say("hi".into()));
        assert_eq!(parse("   "), Command::Nothing);
        assert_eq!(parse(""), Command::Nothing);
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(parse("/rooms"), Command::Rooms);
        assert_eq!(parse("/JOIN #general"), Command::Join("general".into()));
        assert_eq!(
            parse("/create lounge"),
            Command::Create {
                name: "lounge".into(),
                private: false
            }
        );
        assert_eq!(
            parse("/create secret private"),
            Command::Create {
                name: "secret".into(),
                private: true
            }
        );
        assert_eq!(parse("/dm @bob"), Command::Dm("bob".into()));
        assert_eq!(parse("/invite bob"), Command::Invite("bob".into()));
        assert_eq!(parse("/switch @bob"), Command::Switch("@bob".into()));
        assert_eq!(parse("/switch #general"), Command::Switch("general".into()));
        assert_eq!(parse("/who"), Command::Who);
        assert_eq!(parse("/history"), Command::History(DEFAULT_HISTORY));
        assert_eq!(parse("/history 5"), Command::History(5));
        assert_eq!(parse("/typing"), Command::Typing(true));
        assert_eq!(parse("/typing off"), Command::Typing(false));
        assert_eq!(parse("/leave"), Command::Leave);
        assert_eq!(parse("/quit"), Command::Quit);
        assert_eq!(parse("/help"), Command::Help);
    }

    #[test]
    fn mistakes_become_messages() {
        for line in [
            "/join",
            "/join a b",
            "/dm",
            "/history 0",
            "/history 1000",
            "/history lots",
            "/typing maybe",
            "/create x public",
            "/frobnicate",
            "/",
            "/who bob",
        ] {
            assert!(
                matches!(parse(line), Command::Invalid(_)),
                "{line:?} -> {:?}",
                parse(line)
            );
        }
    }
}
