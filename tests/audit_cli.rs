//! `evx audit`: verify, show (by kind and by case), checkpoint, proof and verify-proof on a
//! real log, and a tampered log refused with the entry named.

use std::path::{Path, PathBuf};
use std::process::Command;

use evx_node::audit::{AuditLog, DB_FILE};
use evx_protocol::audit::{Actor, Commitment, Event, EventKind};
use evx_protocol::crypto::SigningKey;
use evx_protocol::ids::{PartyId, UnixTime};
use evx_protocol::note::{NoteSigner, SIG_COSIGNATURE, SIG_ED25519, cosignature};

fn evx(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(args)
        .output()
        .expect("the evx binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn setup(tag: &str) -> (Dir, NoteSigner, NoteSigner) {
    let dir = Dir(std::env::temp_dir().join(format!("evx-audit-cli-{tag}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let log_key = NoteSigner::new(
        "evx.example/IE/audit",
        SIG_ED25519,
        SigningKey::from_seed(&[8; 32]),
    )
    .unwrap();
    let witness = NoteSigner::new(
        "evx.example/DE/witness",
        SIG_COSIGNATURE,
        SigningKey::from_seed(&[9; 32]),
    )
    .unwrap();
    let log = AuditLog::open(
        &dir.0,
        NoteSigner::new(log_key.name(), SIG_ED25519, SigningKey::from_seed(&[8; 32])).unwrap(),
    )
    .unwrap();
    for i in 0..6u64 {
        let case = if i % 2 == 0 { "CASE-A" } else { "CASE-B" };
        let salt = [i as u8 + 1; 32];
        let event = Event {
            v: 1,
            at: UnixTime(1_795_165_200 + i),
            actor: Actor {
                party: PartyId::new("IE-provider-LERT").unwrap(),
                by: "intake".into(),
            },
            kind: if i == 0 {
                EventKind::RequestReceived {
                    request_digest: [1; 32],
                    from: PartyId::new("DE-BfJ").unwrap(),
                }
            } else {
                EventKind::PreservationExpired
            },
            request: None,
            case: Some(Commitment::commit(case.as_bytes(), &salt)),
            purpose: None,
            subjects: Vec::new(),
        };
        log.append(&event, vec![("case".into(), salt)]).unwrap();
    }
    let mut note = log.checkpoint().unwrap();
    cosignature::cosign(&mut note, &witness, 1_795_170_000).unwrap();
    log.record_cosignature(6, &note, &witness.verifier())
        .unwrap();
    (dir, log_key, witness)
}

fn vkey(k: &NoteSigner) -> String {
    k.verifier().to_vkey()
}

#[test]
fn verify_show_checkpoint_proof_and_offline_verification() {
    let (dir, log_key, witness) = setup("ok");
    let d = dir.0.to_str().unwrap();
    let lk = vkey(&log_key);
    let (ok, out, err) = evx(&["audit", "verify", "--data-dir", d, "--log-key", &lk]);
    assert!(ok, "{err}");
    assert!(out.contains("ok — 6 entries"), "{out}");

    let (ok, out, _) = evx(&[
        "audit",
        "show",
        "--data-dir",
        d,
        "--log-key",
        &lk,
        "--case",
        "CASE-A",
    ]);
    assert!(ok);
    assert_eq!(out.lines().count(), 3, "{out}");
    let (ok, out, _) = evx(&[
        "audit",
        "show",
        "--data-dir",
        d,
        "--log-key",
        &lk,
        "--kind",
        "request_received",
    ]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");

    let (ok, out, _) = evx(&["audit", "checkpoint", "--data-dir", d, "--log-key", &lk]);
    assert!(ok);
    assert!(out.starts_with("evx.example/IE/audit\n6\n"), "{out}");
    assert!(out.contains("— evx.example/DE/witness "), "{out}");

    let (ok, proof, _) = evx(&["audit", "proof", "4", "--data-dir", d, "--log-key", &lk]);
    assert!(ok);
    let file = dir.0.join("entry-4.tlog-proof");
    std::fs::write(&file, &proof).unwrap();
    let f = file.to_str().unwrap();
    let wk = vkey(&witness);
    let (ok, out, err) = evx(&[
        "audit",
        "verify-proof",
        f,
        "--key",
        &lk,
        "--witness",
        &wk,
        "--min-cosignatures",
        "1",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("entry 4"), "{out}");
    // Another log's key, or a proof edited to another index, fails.
    let other = vkey(
        &NoteSigner::new(
            "evx.example/IE/audit",
            SIG_ED25519,
            SigningKey::from_seed(&[1; 32]),
        )
        .unwrap(),
    );
    assert!(!evx(&["audit", "verify-proof", f, "--key", &other]).0);
    std::fs::write(&file, proof.replacen("index 4", "index 3", 1)).unwrap();
    let (ok, _, err) = evx(&["audit", "verify-proof", f, "--key", &lk]);
    assert!(!ok);
    assert!(err.contains("index 3"), "{err}");
}

#[test]
fn a_tampered_log_fails_verification_naming_the_entry() {
    let (dir, log_key, _) = setup("tampered");
    let conn = rusqlite::Connection::open(Path::new(&dir.0).join(DB_FILE)).unwrap();
    conn.execute_batch("DROP TRIGGER entries_no_update;")
        .unwrap();
    conn.execute("UPDATE entries SET leaf = zeroblob(32) WHERE idx = 3", [])
        .unwrap();
    drop(conn);
    let (ok, _, err) = evx(&[
        "audit",
        "verify",
        "--data-dir",
        dir.0.to_str().unwrap(),
        "--log-key",
        &vkey(&log_key),
    ]);
    assert!(!ok);
    assert!(err.contains("entry 3"), "{err}");
}
