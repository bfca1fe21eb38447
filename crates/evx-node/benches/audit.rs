//! The audit log's durable appends and verification, on this machine's disk.
//!
//! ```text
//! cargo bench -p evx-node --bench audit
//! ```
//!
//! - one writer: each append waits for its own durable commit (fsync);
//! - 64 writers: appends arriving together are group-committed;
//! - verification of a 10 000-entry log from scratch, in entries per second.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evx_node::audit::AuditLog;
use evx_protocol::audit::{Actor, Event, EventKind};
use evx_protocol::crypto::SigningKey;
use evx_protocol::ids::{PartyId, UnixTime};
use evx_protocol::note::{NoteSigner, SIG_ED25519};

fn dir(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("evx-bench-audit-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn key() -> NoteSigner {
    NoteSigner::new(
        "evx.example/bench/audit",
        SIG_ED25519,
        SigningKey::from_seed(&[5; 32]),
    )
    .unwrap()
}

fn event(n: u64) -> Event {
    Event {
        v: 1,
        at: UnixTime(n),
        actor: Actor {
            party: PartyId::new("DE-BfJ").unwrap(),
            by: "bench".into(),
        },
        kind: EventKind::RequestReceived {
            request_digest: [7; 32],
            from: PartyId::new("IE-provider-LERT").unwrap(),
        },
        request: None,
        case: None,
        purpose: None,
        subjects: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.sample_size(10).measurement_time(Duration::from_secs(10));

    let d1 = dir("single");
    let log = AuditLog::open(&d1, key()).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("durable append, one writer", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            black_box(log.append(&event(n), vec![]).unwrap())
        })
    });
    drop(log);
    let _ = std::fs::remove_dir_all(&d1);

    let d64 = dir("group");
    let log = Arc::new(AuditLog::open(&d64, key()).unwrap());
    const WRITERS: u64 = 64;
    const PER_WRITER: u64 = 50;
    g.throughput(Throughput::Elements(WRITERS * PER_WRITER));
    g.bench_function(
        "durable appends, 64 concurrent writers (group commit)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let handles: Vec<_> = (0..WRITERS)
                        .map(|t| {
                            let log = Arc::clone(&log);
                            std::thread::spawn(move || {
                                for i in 0..PER_WRITER {
                                    log.append(&event(t * 1000 + i), vec![]).unwrap();
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.join().unwrap();
                    }
                    total += start.elapsed();
                }
                total
            })
        },
    );
    drop(log);
    let _ = std::fs::remove_dir_all(&d64);

    let dv = dir("verify");
    let log = Arc::new(AuditLog::open(&dv, key()).unwrap());
    let handles: Vec<_> = (0..64u64)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..157 {
                    log.append(&event(t * 1000 + i), vec![]).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let n = log.size().unwrap();
    g.throughput(Throughput::Elements(n));
    g.bench_function("verify the whole log (about 10 000 entries)", |b| {
        b.iter(|| black_box(log.verify().unwrap()))
    });
    drop(log);
    let _ = std::fs::remove_dir_all(&dv);

    // One writer: a signed checkpoint per entry, so verification is mostly signature checks.
    let ds = dir("verify-single");
    let log = AuditLog::open(&ds, key()).unwrap();
    for i in 0..2_000 {
        log.append(&event(i), vec![]).unwrap();
    }
    g.throughput(Throughput::Elements(2_000));
    g.bench_function(
        "verify a one-writer log (2 000 entries, a checkpoint each)",
        |b| b.iter(|| black_box(log.verify().unwrap())),
    );
    drop(log);
    let _ = std::fs::remove_dir_all(&ds);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
