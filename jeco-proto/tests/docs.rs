//! The protocol reference (docs/PROTOCOL.md) says what the types say: its error-code table
//! is generated from [`ErrorCode`], and its `closing` table names exactly the codes that can
//! close a connection. A change to the codes that is not carried into the document fails
//! here; `JECO_BLESS=1 cargo test -p jeco-proto --test docs` rewrites the generated table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use jeco_proto::error::ErrorCode;

const BEGIN: &str = "<!-- BEGIN error-codes";
const END: &str = "<!-- END error-codes -->";

fn protocol_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md")
}

/// The error-code table, one row per code, in the order of [`ErrorCode::ALL`].
fn error_table() -> String {
    let mut out = String::from(
        "| Code | Status | Kind | Retry | Where | Meaning |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for &code in ErrorCode::ALL {
        let c = code.channels();
        let mut places = Vec::new();
        if c.http {
            places.push("HTTP");
        }
        if c.frame {
            places.push("`error`");
        }
        if c.closing {
            places.push("`closing`");
        }
        if places.is_empty() {
            places.push("in-process only");
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            code.as_str(),
            code.status(),
            code.kind().as_str(),
            if code.is_transient() { "yes" } else { "no" },
            places.join(", "),
            code.description(),
        ));
    }
    out
}

#[test]
fn the_error_table_is_generated_from_the_codes() {
    let path = protocol_path();
    let doc = std::fs::read_to_string(&path).expect("docs/PROTOCOL.md");
    let begin = doc.find(BEGIN).expect("the BEGIN error-codes marker");
    let body_start = begin + doc[begin..].find('\n').expect("end of the marker line") + 1;
    let end = doc.find(END).expect("the END error-codes marker");
    let expected = error_table();
    if doc[body_start..end] == expected {
        return;
    }
    if std::env::var_os("JECO_BLESS").is_some() {
        let rewritten = format!("{}{}{}", &doc[..body_start], expected, &doc[end..]);
        std::fs::write(&path, rewritten).expect("rewrite docs/PROTOCOL.md");
        return;
    }
    panic!(
        "docs/PROTOCOL.md's error-code table differs from jeco_proto::error::ErrorCode; \
         run `JECO_BLESS=1 cargo test -p jeco-proto --test docs` to rewrite it.\nexpected:\n{expected}"
    );
}

#[test]
fn the_closing_table_names_every_closing_code() {
    let doc = std::fs::read_to_string(protocol_path()).expect("docs/PROTOCOL.md");
    let section = doc
        .split("### `closing`")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the `closing` section");
    let listed: BTreeSet<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|code| *code != "code")
        .collect();
    let closing: BTreeSet<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| c.channels().closing)
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        listed, closing,
        "the `closing` table of docs/PROTOCOL.md and the closing codes of ErrorCode differ"
    );
}

/// The transport "Adding a transport" shows is the one the engine's tests run.
#[test]
fn the_transport_example_is_the_tested_one() {
    let doc = std::fs::read_to_string(protocol_path()).expect("docs/PROTOCOL.md");
    let section = doc
        .split("## 14. Adding a transport")
        .nth(1)
        .expect("the section");
    let shown = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a Rust block");
    let test =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../jeco-core/tests/line_transport.rs");
    let code = std::fs::read_to_string(test).expect("line_transport.rs");
    let tested = code
        .split("// transport:begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// transport:end").next())
        .expect("the marked transport");
    assert_eq!(
        shown, tested,
        "PROTOCOL.md's transport differs from the tested one"
    );
    assert!(tested.lines().count() < 150);
}
