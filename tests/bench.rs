//! `evx bench --quick` exercises every path of the benchmark — echo and evx round trips (in
//! memory and durable), concurrency, connection setup, bulk with both sides' memory — so that it
//! never rots. Nothing here looks at how fast anything was: timings are reported, not tested.

use std::process::Command;

use serde_json::Value;

fn count(v: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_u64()
        .unwrap_or_else(|| panic!("{} is not a count in {v}", path.join(".")))
}

#[test]
fn the_quick_benchmark_runs_every_part_and_cleans_up() {
    let dir = std::env::temp_dir().join(format!("evx-bench-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(["bench", "--quick", "--json", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("the report is JSON");

    assert_eq!(report["quick"], true);
    for path in [
        ["round_trip", "echo", "count"],
        ["round_trip", "evx_durable", "count"],
        ["round_trip", "durable_commit", "count"],
    ] {
        assert_eq!(count(&report, &path), 20, "{}", path.join("."));
    }
    // The echo is the size of a signed request on the wire.
    assert!(count(&report, &["round_trip", "message_bytes"]) > 200);
    let in_memory = !report["round_trip"]["evx_memory"].is_null();
    if in_memory {
        assert_eq!(count(&report, &["round_trip", "evx_memory", "count"]), 20);
    } else {
        assert!(report["notes"].to_string().contains("memory-backed"));
    }
    assert_eq!(count(&report, &["concurrency", "requests"]), 128);
    assert_eq!(count(&report, &["concurrency", "in_flight"]), 64);
    assert_eq!(count(&report, &["concurrency", "connections"]), 4);
    assert_eq!(count(&report, &["concurrency", "latency", "count"]), 128);
    assert_eq!(count(&report, &["setup", "raw", "count"]), 5);
    assert_eq!(count(&report, &["setup", "evx", "count"]), 5);
    // Bulk: 4 MiB through plain quinn, and at least that much evidence through evx, sealed
    // (larger than the evidence) and delivered in one package.
    assert_eq!(count(&report, &["bulk", "raw_bytes"]), 4 << 20);
    let evidence = count(&report, &["bulk", "evx", "evidence_bytes"]);
    assert!(evidence >= 4 << 20, "{evidence}");
    assert!(count(&report, &["bulk", "evx", "sealed_bytes"]) > evidence);
    assert_eq!(count(&report, &["bulk", "evx", "packages"]), 1);
    if cfg!(target_os = "linux") {
        assert!(count(&report, &["bulk", "evx", "requested_peak_rss"]) > 0);
        assert!(count(&report, &["bulk", "evx", "requesting_peak_rss"]) > 0);
    }
    // Every target is judged, with the figure it was judged on.
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), if in_memory { 7 } else { 6 }, "{targets:?}");
    for t in targets {
        assert!(t["met"].is_boolean());
        assert!(!t["measured"].as_str().unwrap().is_empty());
    }
    // Nothing is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_table_names_each_part() {
    let dir = std::env::temp_dir().join(format!("evx-bench-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(["bench", "--quick", "--only", "setup,round-trip", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for part in [
        "round trip",
        "quinn echo",
        "evx request, durable",
        "connection setup",
    ] {
        assert!(stdout.contains(part), "{part:?} missing from\n{stdout}");
    }
    // Parts not run are not reported.
    assert!(!stdout.contains("bulk"), "{stdout}");
    assert!(!stdout.contains("concurrency:"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
