//! `evx bench`: evx's channel measured against the physical limit on the same machine — plain
//! quinn with the same certificates — side by side, in one run.
//!
//! 1. Round trip: the baseline echoes a request-sized message on a new stream over an open
//!    connection; evx builds and signs a request, sends it, and the requested node verifies it,
//!    checks it against replay, evaluates the policy, logs it, signs its acknowledgement with
//!    an inclusion proof and its decision; the requesting node verifies both and logs them. Once
//!    with both nodes' stores on a memory-backed file system, once durable (fsync), with one
//!    durable SQLite commit measured on the same disk for scale.
//! 2. Concurrency: 64 requests in flight over 4 connections, durable.
//! 3. Connection setup: a new mutual-TLS connection, evx's and plain quinn's.
//! 4. Bulk: plain quinn's one-stream download against an evidence package collected, sealed,
//!    streamed, verified and stored, with each evx side's peak memory.
//!
//! Timings are reported, never asserted: `--quick` runs every path with small counts so that a
//! test keeps the benchmark working.

mod bulk;
mod memory;
mod nodes;
mod raw;
mod report;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use evx_node::pki::NodeConfig;
use evx_protocol::ids::PartyId;
use evx_protocol::sample;
use evx_requesting::client::Requester;

use report::{Concurrency, Report, Setup};
use stats::Stats;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Options of `evx bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Every path with small counts, in seconds: checks that the benchmark works; its figures
    /// mean little.
    #[arg(long)]
    quick: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Round trips measured per mode (default 2000; 20 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    requests: Option<u32>,
    /// Evidence in the bulk package, in MiB (default 1024; 4 with --quick).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    bulk_mib: Option<u64>,
    /// Run only these parts (default: all): round-trip, concurrency, setup, bulk.
    #[arg(long, value_delimiter = ',', value_name = "PART")]
    only: Vec<Part>,
    /// Where the durable stores go (default: the system's temporary directory); everything the
    /// benchmark writes there is removed at the end.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// A part of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    RoundTrip,
    Concurrency,
    Setup,
    Bulk,
}

/// How much of each is measured.
struct Sizes {
    requests: usize,
    warmup: usize,
    commits: usize,
    handshakes: usize,
    concurrent_total: usize,
    in_flight: usize,
    connections: usize,
    bulk_bytes: u64,
}

impl Sizes {
    fn of(args: &Args) -> Self {
        let requests = args.requests.map(|n| n as usize);
        if args.quick {
            Self {
                requests: requests.unwrap_or(20),
                warmup: 3,
                commits: 20,
                handshakes: 5,
                concurrent_total: 128,
                in_flight: 64,
                connections: 4,
                bulk_bytes: args.bulk_mib.unwrap_or(4) << 20,
            }
        } else {
            Self {
                requests: requests.unwrap_or(2000),
                warmup: 200,
                commits: 1000,
                handshakes: 200,
                concurrent_total: 20_000,
                in_flight: 64,
                connections: 4,
                bulk_bytes: args.bulk_mib.unwrap_or(1024) << 20,
            }
        }
    }
}

/// A directory removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(parent: &Path, tag: &str) -> Result<Self, Error> {
        let dir = parent.join(format!(
            "evx-bench-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The type of a memory-backed file system `path` is on (tmpfs, ramfs), if it is on one.
fn memory_backed(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    let (_, fs) = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, point, fs) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(point)
                .then(|| (point.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)?;
    matches!(fs.as_str(), "tmpfs" | "ramfs").then_some(fs)
}

/// A memory-backed file system for the stores of the in-memory round trip, if there is one.
fn memory_dir() -> Option<PathBuf> {
    let shm = PathBuf::from("/dev/shm");
    let probe = shm.join(format!("evx-bench-probe-{}", std::process::id()));
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok.then_some(shm)
}

pub(crate) fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let sizes = Sizes::of(args);
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(measure(&sizes, &parent, args.quick, &args.only))
        .map_err(|e| -> Box<dyn std::error::Error> { e })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

async fn measure(
    sizes: &Sizes,
    parent: &Path,
    quick: bool,
    only: &[Part],
) -> Result<Report, Error> {
    let mut report = Report::new(quick);
    let wanted = |p: Part| only.is_empty() || only.contains(&p);
    let progress = |what: &str| {
        if !quick {
            eprintln!("evx bench: {what}");
        }
    };

    // Bulk first, while this process is fresh: its peak memory is then the requesting
    // side's own.
    if wanted(Part::Bulk) {
        progress("bulk: evx package collected, sealed, streamed, verified, stored");
        let work = WorkDir::new(parent, "bulk")?;
        report.bulk.evx = bulk::evx(&work.0, sizes.bulk_bytes).await?;
    }

    let durable = WorkDir::new(parent, "durable")?;
    if let Some(fs) = memory_backed(&durable.0) {
        report.notes.push(format!(
            "{} is on {fs}, a memory-backed file system: the \"durable\" figures are not; give --dir a directory on disk",
            durable.0.display()
        ));
    }
    let d = nodes::deployment(&durable.0.join("deployment"))?;
    let de = NodeConfig::load(&d.requesting_config)?;
    let ie = NodeConfig::load(&d.requested_config)?;
    let to = sample::requested_party();

    progress("one durable SQLite commit");
    report.round_trip.durable_commit = durable_commits(&durable.0, sizes.commits)?;

    // The baseline server, with the requested node's certificate.
    let raw_server = raw::Server::start(&nodes::tls(&ie)?)?;
    let client_tls = nodes::tls(&de)?;

    if wanted(Part::Bulk) {
        progress("bulk: plain quinn download");
        let (endpoint, conn) = raw::connect(&client_tls, raw_server.addr).await?;
        let took = raw::download(&conn, sizes.bulk_bytes).await?;
        report.bulk.raw_bytes = sizes.bulk_bytes;
        report.bulk.raw_mib_s = sizes.bulk_bytes as f64 / f64::from(1 << 20) / took.as_secs_f64();
        conn.close(0u32.into(), b"done");
        endpoint.wait_idle().await;
    }

    if wanted(Part::RoundTrip) {
        // The echo baseline, with a message the size of a request on the wire.
        progress("round trip: plain quinn echo");
        let size = nodes::request_size(&Requester::open(&de)?)?;
        report.round_trip.message_bytes = size;
        let message = vec![0x42; size];
        let (endpoint, conn) = raw::connect(&client_tls, raw_server.addr).await?;
        for _ in 0..sizes.warmup {
            raw::echo(&conn, &message).await?;
        }
        let mut samples = Vec::with_capacity(sizes.requests);
        for _ in 0..sizes.requests {
            samples.push(raw::echo(&conn, &message).await?);
        }
        report.round_trip.echo = Stats::of(samples);
        conn.close(0u32.into(), b"done");
        endpoint.wait_idle().await;

        // evx round trips on a memory-backed file system, then durable.
        match memory_dir() {
            Some(shm) => {
                progress("round trip: evx, stores in memory");
                let memory = WorkDir::new(&shm, "memory")?;
                let m = nodes::deployment(&memory.0.join("deployment"))?;
                report.round_trip.evx_memory = Some(
                    round_trips(
                        &NodeConfig::load(&m.requesting_config)?,
                        &NodeConfig::load(&m.requested_config)?,
                        &to,
                        sizes,
                    )
                    .await?,
                );
            }
            None => report.notes.push(
                "no memory-backed file system (/dev/shm): the in-memory round trip was not run"
                    .into(),
            ),
        }
        progress("round trip: evx, durable");
        report.round_trip.evx_durable = round_trips(&de, &ie, &to, sizes).await?;
    }
    let server = nodes::Server::start(&ie)?;
    if wanted(Part::Concurrency) {
        progress("concurrency: 64 in flight over 4 connections, durable");
        report.concurrency = concurrency(&de, &to, server.addr, sizes).await?;
    }
    if wanted(Part::Setup) {
        progress("connection setup");
        report.setup = setup(&de, &client_tls, &to, server.addr, raw_server.addr, sizes).await?;
    }
    server.stop().await;
    raw_server.endpoint.close(0u32.into(), b"done");
    raw_server.endpoint.wait_idle().await;
    drop(durable);
    report.judge();
    Ok(report)
}

/// One row inserted per transaction in a WAL database with `synchronous = FULL`: what one
/// durable commit costs on this disk.
fn durable_commits(dir: &Path, n: usize) -> Result<Stats, Error> {
    let db = rusqlite::Connection::open(dir.join("commit.sqlite"))?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE t (x BLOB NOT NULL);",
    )?;
    let row = vec![0u8; 200];
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        db.execute("INSERT INTO t (x) VALUES (?1)", [&row])?;
        samples.push(start.elapsed());
    }
    Ok(Stats::of(samples))
}

/// Sequential evx round trips with the requested node in this process.
async fn round_trips(
    de: &NodeConfig,
    ie: &NodeConfig,
    to: &PartyId,
    sizes: &Sizes,
) -> Result<Stats, Error> {
    let server = nodes::Server::start(ie)?;
    let requester = Requester::open(de)?.with_witness_interval(Duration::from_secs(1));
    for _ in 0..sizes.warmup {
        nodes::round_trip(&requester, to, server.addr).await?;
    }
    let mut samples = Vec::with_capacity(sizes.requests);
    for _ in 0..sizes.requests {
        samples.push(nodes::round_trip(&requester, to, server.addr).await?);
    }
    requester.close().await;
    server.stop().await;
    Ok(Stats::of(samples))
}

/// `in_flight` requests at a time over `connections` connections, durable.
async fn concurrency(
    de: &NodeConfig,
    to: &PartyId,
    addr: std::net::SocketAddr,
    sizes: &Sizes,
) -> Result<Concurrency, Error> {
    let requester = Arc::new(
        Requester::open(de)?
            .with_connections_per_peer(sizes.connections)
            .with_witness_interval(Duration::from_secs(1)),
    );
    // Open every connection before the clock starts.
    for _ in 0..sizes.connections {
        nodes::round_trip(&requester, to, addr).await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..sizes.in_flight {
        let (requester, next, to) = (requester.clone(), next.clone(), to.clone());
        let total = sizes.concurrent_total;
        tasks.spawn(async move {
            let mut samples = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                samples.push(nodes::round_trip(&requester, &to, addr).await?);
            }
            Ok::<_, Error>(samples)
        });
    }
    let mut samples = Vec::with_capacity(sizes.concurrent_total);
    while let Some(done) = tasks.join_next().await {
        samples.extend(done??);
    }
    let elapsed = start.elapsed();
    requester.close().await;
    Ok(Concurrency {
        in_flight: sizes.in_flight,
        connections: sizes.connections,
        requests: samples.len(),
        seconds: elapsed.as_secs_f64(),
        per_second: samples.len() as f64 / elapsed.as_secs_f64(),
        latency: Stats::of(samples),
    })
}

/// New connections, one after another: evx's (mutual TLS, the registry's key check) and plain
/// quinn's with the same certificates.
async fn setup(
    de: &NodeConfig,
    client_tls: &evx_node::transport::TlsFiles,
    to: &PartyId,
    evx_addr: std::net::SocketAddr,
    raw_addr: std::net::SocketAddr,
    sizes: &Sizes,
) -> Result<Setup, Error> {
    let requester = Requester::open(de)?;
    let (mut evx, mut raw) = (Vec::new(), Vec::new());
    // Alternate, so that both see the same machine state.
    for i in 0..sizes.handshakes + sizes.warmup.min(20) {
        let start = Instant::now();
        let (endpoint, conn) = requester.connect(to, Some(evx_addr)).await?;
        let e = start.elapsed();
        conn.close(0u32.into(), b"done");
        endpoint.wait_idle().await;
        let start = Instant::now();
        let (endpoint, conn) = raw::connect(client_tls, raw_addr).await?;
        let r = start.elapsed();
        conn.close(0u32.into(), b"done");
        endpoint.wait_idle().await;
        if i >= sizes.warmup.min(20) {
            evx.push(e);
            raw.push(r);
        }
    }
    Ok(Setup {
        evx: Stats::of(evx),
        raw: Stats::of(raw),
    })
}
