//! `evx demo` runs to the end: two nodes, the scripted case, both logs verified, the requested
//! node's process gone, and the evidence opened holds only what was asked for.

use std::process::Command;

#[test]
fn the_demo_runs_to_the_end_and_leaves_no_process() {
    let dir = std::env::temp_dir().join(format!("evx-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(["demo", "--quick", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // The scenario's outcomes, in order.
    let timeline: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("timeline"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(timeline.len(), 10, "{stdout}");
    for (line, outcome) in timeline.iter().zip([
        "accepted",
        "accepted",
        "accepted",
        "REFUSED: bulk-selector",
        "pending review",
        "REFUSED by reviewer",
        "verified, receipt sent",
        "verified, receipt sent",
        "opened",
        "REFUSED, logged",
    ]) {
        assert!(line.contains(outcome), "expected {outcome:?} in {line:?}");
    }
    assert_eq!(
        stdout.matches("checkpoint signature verified").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("open_refused ×1"), "{stdout}");
    assert!(stdout.contains("receipt_received ×2"), "{stdout}");
    assert!(stdout.contains("review_decision ×1"), "{stdout}");
    // Both logs witnessed by the other party.
    assert!(stdout.contains("DE-BfJ's checkpoint of size"), "{stdout}");
    assert!(
        stdout.contains("is cosigned by IE-provider-LERT"),
        "{stdout}"
    );
    assert!(stdout.contains("is cosigned by DE-BfJ"), "{stdout}");
    assert!(stdout.contains("checkpoint_cosigned"), "{stdout}");

    // The node's process has exited.
    let pid: u32 = stdout
        .split("(pid ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .expect("the demo names the node's pid");
    if std::path::Path::new("/proc/self").exists() {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the requested node (pid {pid}) is still running"
        );
    }

    // Minimised collection: the opened traffic data hold the one account asked for, in range.
    let traffic = std::fs::read_to_string(dir.join("opened/traffic/traffic.jsonl")).unwrap();
    assert!(!traffic.is_empty());
    for line in traffic.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["account"], "anna.lenz0", "{line}");
    }
    // Nothing of the refused purpose was written.
    assert!(
        std::fs::read_dir(dir.join("opened/other-purpose"))
            .map(|d| d.count() == 0)
            .unwrap_or(true)
    );

    // A second run in the same directory is refused; a fresh directory works again.
    let again = Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(["demo", "--quick", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
