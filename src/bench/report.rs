//! The benchmark's report: a table with the ratios to the baseline and the targets, or JSON.

use std::fmt;

use serde::Serialize;

use super::bulk::EvxBulk;
use super::stats::Stats;

/// Everything one run measured.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) quick: bool,
    pub(crate) round_trip: RoundTrip,
    pub(crate) concurrency: Concurrency,
    pub(crate) setup: Setup,
    pub(crate) bulk: Bulk,
    pub(crate) targets: Vec<Target>,
    pub(crate) notes: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) os: String,
    pub(crate) evx: String,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct RoundTrip {
    /// The size of the echoed message: a request on the wire.
    pub(crate) message_bytes: usize,
    pub(crate) echo: Stats,
    pub(crate) evx_memory: Option<Stats>,
    pub(crate) evx_durable: Stats,
    pub(crate) durable_commit: Stats,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Concurrency {
    pub(crate) in_flight: usize,
    pub(crate) connections: usize,
    pub(crate) requests: usize,
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    pub(crate) latency: Stats,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Setup {
    pub(crate) raw: Stats,
    pub(crate) evx: Stats,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Bulk {
    pub(crate) raw_bytes: u64,
    pub(crate) raw_mib_s: f64,
    pub(crate) evx: EvxBulk,
}

/// One target of the benchmark's issue, with the figure measured against it.
#[derive(Debug, Serialize)]
pub(crate) struct Target {
    pub(crate) what: String,
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: bool,
}

fn first_line(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

const MIB: f64 = 1024.0 * 1024.0;

impl Report {
    pub(crate) fn new(quick: bool) -> Self {
        Self {
            machine: Machine {
                cpu: first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
                cores: std::thread::available_parallelism().map_or(1, usize::from),
                os: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .map(|r| format!("{} {}", std::env::consts::OS, r.trim()))
                    .unwrap_or_else(|_| std::env::consts::OS.into()),
                evx: env!("CARGO_PKG_VERSION").into(),
            },
            quick,
            ..Self::default()
        }
    }

    /// Judges the figures against the targets, for the parts that were run.
    pub(crate) fn judge(&mut self) {
        let mut t = Vec::new();
        let rt = &self.round_trip;
        if rt.echo.count > 0 {
            if let Some(m) = &rt.evx_memory {
                let ratio = m.p50_us / rt.echo.p50_us;
                t.push(Target {
                    what: "round trip, memory-backed stores: p50".into(),
                    target: format!("≤ 3 × echo p50 = {:.0} µs", 3.0 * rt.echo.p50_us),
                    measured: format!("{:.0} µs ({ratio:.1} ×)", m.p50_us),
                    met: ratio <= 3.0,
                });
            }
            let limit = rt.echo.p50_us + 1.5 * rt.durable_commit.p50_us;
            t.push(Target {
                what: "round trip, durable: p50".into(),
                target: format!("≤ echo p50 + 1.5 × commit p50 = {limit:.0} µs"),
                measured: format!("{:.0} µs", rt.evx_durable.p50_us),
                met: rt.evx_durable.p50_us <= limit,
            });
        }
        let c = &self.concurrency;
        if c.requests > 0 {
            t.push(Target {
                what: format!(
                    "concurrency: {} in flight, {} connections",
                    c.in_flight, c.connections
                ),
                target: "≥ 5000 durable requests/s".into(),
                measured: format!("{:.0} requests/s", c.per_second),
                met: c.per_second >= 5000.0,
            });
        }
        let setup = &self.setup;
        if setup.raw.count > 0 {
            let ratio = setup.evx.p50_us / setup.raw.p50_us;
            t.push(Target {
                what: "connection setup: p50".into(),
                target: format!("≤ 1.3 × quinn = {:.0} µs", 1.3 * setup.raw.p50_us),
                measured: format!("{:.0} µs ({ratio:.2} ×)", setup.evx.p50_us),
                met: ratio <= 1.3,
            });
        }
        let b = &self.bulk;
        if b.raw_bytes > 0 && b.evx.sealed_bytes > 0 {
            let share = b.evx.end_to_end_mib_s / b.raw_mib_s;
            t.push(Target {
                what: "bulk: throughput, end to end".into(),
                target: format!("≥ 75 % of quinn = {:.0} MiB/s", 0.75 * b.raw_mib_s),
                measured: format!(
                    "{:.0} MiB/s ({:.0} %)",
                    b.evx.end_to_end_mib_s,
                    100.0 * share
                ),
                met: share >= 0.75,
            });
            for (side, peak) in [
                ("requested", b.evx.requested_peak_rss),
                ("requesting", b.evx.requesting_peak_rss),
            ] {
                t.push(Target {
                    what: format!("bulk: {side} side's peak memory"),
                    target: "< 64 MiB".into(),
                    measured: peak.map_or("not measured".into(), |b| {
                        format!("{:.1} MiB", b as f64 / MIB)
                    }),
                    met: peak.is_some_and(|b| (b as f64) < 64.0 * MIB),
                });
            }
        }
        self.targets = t;
    }
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, s: &Stats, base: Option<&Stats>) -> fmt::Result {
    write!(
        f,
        "  {name:<34} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
        s.p50_us, s.p90_us, s.p99_us, s.max_us
    )?;
    match base {
        Some(b) if b.p50_us > 0.0 => writeln!(f, "   {:>6.2} ×", s.p50_us / b.p50_us),
        _ => writeln!(f),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.machine;
        writeln!(
            f,
            "evx {} bench{} — {}, {} cores, {}",
            m.evx,
            if self.quick {
                " --quick (figures not meaningful)"
            } else {
                ""
            },
            m.cpu,
            m.cores,
            m.os
        )?;
        let rt = &self.round_trip;
        if rt.echo.count > 0 {
            writeln!(
                f,
                "\nround trip ({} requests each; echo of {} bytes)     p50 µs    p90 µs    p99 µs    max µs   p50 / echo",
                rt.echo.count, rt.message_bytes
            )?;
            row(f, "quinn echo, new stream", &rt.echo, None)?;
            if let Some(mem) = &rt.evx_memory {
                row(f, "evx request, stores in memory", mem, Some(&rt.echo))?;
            }
            row(f, "evx request, durable", &rt.evx_durable, Some(&rt.echo))?;
            row(f, "one durable SQLite commit", &rt.durable_commit, None)?;
        }
        let c = &self.concurrency;
        if c.requests > 0 {
            writeln!(
                f,
                "\nconcurrency: {} requests, {} in flight over {} connections, durable: {:.0} requests/s; latency p50 {:.0} µs, p99 {:.0} µs",
                c.requests,
                c.in_flight,
                c.connections,
                c.per_second,
                c.latency.p50_us,
                c.latency.p99_us
            )?;
        }
        if self.setup.raw.count > 0 {
            writeln!(
                f,
                "\nconnection setup ({} each)                              p50 µs    p90 µs    p99 µs    max µs   p50 / quinn",
                self.setup.raw.count
            )?;
            row(f, "quinn, mutual TLS", &self.setup.raw, None)?;
            row(
                f,
                "evx, mutual TLS + registry check",
                &self.setup.evx,
                Some(&self.setup.raw),
            )?;
        }
        let b = &self.bulk;
        if b.raw_bytes > 0 && b.evx.sealed_bytes > 0 {
            let e = &b.evx;
            let rss =
                |r: Option<u64>| r.map_or("n/a".into(), |v| format!("{:.1} MiB", v as f64 / MIB));
            writeln!(
                f,
                "\nbulk\n  quinn, one stream, {:.0} MiB: {:.0} MiB/s\n  evx, {:.0} MiB of evidence in {} package(s), {:.0} MiB sealed: {:.0} MiB/s end to end ({:.0} % of quinn)\n    collect + seal {:.2} s; stream + verify + store {:.2} s ({:.0} MiB/s)\n    peak memory: requested node {}, requesting node {}",
                b.raw_bytes as f64 / MIB,
                b.raw_mib_s,
                e.evidence_bytes as f64 / MIB,
                e.packages,
                e.sealed_bytes as f64 / MIB,
                e.end_to_end_mib_s,
                100.0 * e.end_to_end_mib_s / b.raw_mib_s,
                e.collect_and_seal_s,
                e.transfer_verify_store_s,
                e.transfer_mib_s,
                rss(e.requested_peak_rss),
                rss(e.requesting_peak_rss)
            )?;
        }
        writeln!(f, "\ntargets")?;
        for t in &self.targets {
            writeln!(
                f,
                "  {:<7} {:<46} {:<40} measured {}",
                if t.met { "met" } else { "MISSED" },
                t.what,
                t.target,
                t.measured
            )?;
        }
        for n in &self.notes {
            writeln!(f, "\nnote: {n}")?;
        }
        Ok(())
    }
}
