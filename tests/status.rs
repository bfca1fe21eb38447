//! `evx status`: after the demo both nodes report their logs cosigned by the other party and no
//! conflict; once a conflict is recorded, the status says so loudly and exits non-zero.

use std::process::Command;

use evx_node::audit::AuditLog;
use evx_node::pki::{NodeConfig, RegistryFile};
use evx_protocol::audit::Actor;
use evx_protocol::ids::PartyId;
use evx_protocol::note::NoteSigner;

fn evx(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn status_reports_witnessing_and_conflicts_loudly() {
    let dir = std::env::temp_dir().join(format!("evx-status-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, out) = evx(&["demo", "--quick", "--dir", dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    let de = dir.join("deployment/nodes/DE-BfJ/config.toml");
    let ie = dir.join("deployment/nodes/IE-provider-LERT/config.toml");

    for config in [&de, &ie] {
        let (ok, out) = evx(&["status", "--config", config.to_str().unwrap()]);
        assert!(ok, "{out}");
        assert!(
            out.contains("has cosigned this node's log up to size"),
            "{out}"
        );
        assert!(out.contains("cosigned by this node up to size"), "{out}");
        assert!(out.contains("no conflicts"), "{out}");
    }

    // DE's node records a conflict with IE's log (as its witness would on a fork).
    let config = NodeConfig::load(&de).unwrap();
    let registry = RegistryFile::load(&config.registry).unwrap();
    let ie_log = registry
        .peer_keys(&PartyId::new("IE-provider-LERT").unwrap())
        .unwrap()
        .log;
    let key = NoteSigner::parse(std::fs::read_to_string(&config.keys.log).unwrap().trim()).unwrap();
    let log = AuditLog::open(&config.data_dir.join("audit"), key).unwrap();
    let cosigned = log
        .peer_checkpoint(ie_log.name())
        .unwrap()
        .unwrap()
        .note
        .encode();
    log.record_conflict(
        ie_log.name(),
        &cosigned,
        &cosigned.replace('\n', "\n\n"),
        Actor {
            party: config.party.clone(),
            by: "witness".into(),
        },
        1,
    )
    .unwrap();
    log.close();
    drop(log);

    let (ok, out) = evx(&["status", "--config", de.to_str().unwrap()]);
    assert!(!ok, "a conflict must make the status fail: {out}");
    assert!(out.contains("!!! CONFLICT"), "{out}");
    assert!(out.contains("STOPPED"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
