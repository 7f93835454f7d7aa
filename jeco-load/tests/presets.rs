//! Runs every preset at a tiny scale against Jeco (in this test's process tree, run
//! in-process by the tool over SQLite) and the reference, and checks what must hold
//! whatever the machine: nothing lost, counts that add up. No timing is asserted.

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_jeco-load"))
        .args(["--in-process", "--json", "--source-ips", "4"])
        .args(args)
        .output()
        .expect("jeco-load runs");
    assert!(
        out.status.success(),
        "jeco-load {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

fn runs(report: &Value) -> Vec<(&str, &Value)> {
    let runs = report["runs"].as_array().expect("runs");
    runs.iter()
        .map(|r| (r["server"].as_str().expect("server"), &r["result"]))
        .collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Traffic invariants: every send acknowledged, every acknowledged message delivered to
/// every member once, nothing lost, duplicated or skipped.
fn check_traffic(server: &str, r: &Value, members_per_message: u64) {
    assert_eq!(u(&r["failed_connections"]), 0, "{server}: {r}");
    assert_eq!(u(&r["messages_lost"]), 0, "{server}: {r}");
    assert_eq!(u(&r["deliveries_missing"]), 0, "{server}: {r}");
    assert_eq!(u(&r["duplicates"]), 0, "{server}: {r}");
    assert_eq!(u(&r["gaps"]), 0, "{server}: {r}");
    assert_eq!(r["drained"], Value::Bool(true), "{server}: {r}");
    let mut acked = 0;
    for step in r["steps"].as_array().expect("steps") {
        let (sends, acks, errors) = (u(&step["sends"]), u(&step["acks"]), u(&step["send_errors"]));
        assert_eq!(sends, acks + errors, "{server}: {step}");
        assert_eq!(errors, 0, "{server}: {step}");
        assert!(acks > 0, "{server}: nothing sent: {step}");
        assert_eq!(
            u(&step["deliveries"]),
            acks * members_per_message,
            "{server}: {step}"
        );
        assert_eq!(u(&step["latency"]["count"]), u(&step["deliveries"]));
        acked += acks;
    }
    assert!(acked > 0);
}

#[test]
fn one_room() {
    let report = run(&[
        "one-room",
        "--members",
        "5",
        "--senders",
        "2",
        "--rates",
        "40,80",
        "--step-secs",
        "1",
    ]);
    let runs = runs(&report);
    assert_eq!(runs.len(), 2);
    for (server, r) in runs {
        check_traffic(server, r, 5);
    }
}

#[test]
fn many_rooms() {
    let report = run(&[
        "many-rooms",
        "--rooms",
        "12",
        "--members",
        "3",
        "--senders",
        "4",
        "--rates",
        "60",
        "--step-secs",
        "1",
    ]);
    for (server, r) in runs(&report) {
        check_traffic(server, r, 3);
    }
}

#[test]
fn reconnect_storm() {
    let report = run(&[
        "reconnect-storm",
        "--clients",
        "20",
        "--users",
        "4",
        "--rooms",
        "2",
        "--senders",
        "2",
        "--rate",
        "40",
        "--secs",
        "2",
        "--storm-after-secs",
        "0.5",
    ]);
    for (server, r) in runs(&report) {
        // Each room: 10 dropped clients and 1 sender.
        check_traffic(server, r, 11);
        let storm = &r["storm"];
        assert_eq!(u(&storm["clients"]), 20, "{server}: {storm}");
        assert_eq!(u(&storm["resumed"]), 20, "{server}: {storm}");
        assert!(storm["all_resumed_ms"].is_number(), "{server}: {storm}");
    }
}

#[test]
fn idle_and_handshake() {
    let report = run(&[
        "idle",
        "--connections",
        "50",
        "--users",
        "3",
        "--hold-secs",
        "0.2",
    ]);
    for (server, r) in runs(&report) {
        assert_eq!(u(&r["connected"]), 50, "{server}: {r}");
        assert_eq!(u(&r["open_after_hold"]), 50, "{server}: {r}");
        assert!(r["server_rss_after_kib"].is_number(), "{server}: {r}");
        assert_eq!(u(&r["handshake_latency"]["count"]), 50);
    }
    let report = run(&["handshake", "--connections", "60", "--users", "2"]);
    for (server, r) in runs(&report) {
        assert_eq!(u(&r["connected"]), 60, "{server}: {r}");
        assert!(r["handshakes_per_s"].as_f64().is_some_and(|x| x > 0.0));
    }
}

#[test]
fn history() {
    let report = run(&["history", "--messages", "2000", "--samples", "5"]);
    let runs = runs(&report);
    assert_eq!(runs.len(), 1, "history has no reference run");
    let r = runs[0].1;
    assert_eq!(u(&r["errors"]), 0, "{r}");
    assert_eq!(u(&r["messages"]), 2000);
    let depths = r["depths"].as_array().expect("depths");
    assert_eq!(depths.len(), 3);
    for d in depths {
        assert_eq!(u(&d["latency"]["count"]), 5, "{d}");
    }
}
