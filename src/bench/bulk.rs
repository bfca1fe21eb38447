//! Bulk: a sealed evidence package of the size asked for, collected from a provider dataset,
//! sealed, streamed, verified and stored — with the requested node as its own process, so that
//! each side's peak memory is its own.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use evx_node::pki::{self, NodeConfig};
use evx_protocol::ids::UnixTime;
use evx_protocol::sample;
use evx_requested::dataset::account_name;
use evx_requesting::client::Requester;
use serde::Serialize;

use super::Error;
use super::memory;
use super::nodes::{self, content_request};
use crate::child::ChildNode;
use crate::request::now;

/// What the evx bulk run measured.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct EvxBulk {
    /// Evidence bytes in the package(s) (plaintext).
    pub(crate) evidence_bytes: u64,
    /// Bytes on the wire: the sealed package(s).
    pub(crate) sealed_bytes: u64,
    /// Packages the evidence came as.
    pub(crate) packages: usize,
    /// Send to decision: the requested node collects and seals while the request waits.
    pub(crate) collect_and_seal_s: f64,
    /// Fetch: streamed, verified in full, stored in the vault, receipt sent.
    pub(crate) transfer_verify_store_s: f64,
    /// Sealed bytes over the whole time, MiB/s.
    pub(crate) end_to_end_mib_s: f64,
    /// Sealed bytes over the fetch alone, MiB/s.
    pub(crate) transfer_mib_s: f64,
    /// The requested node's peak resident memory (its own process), bytes.
    pub(crate) requested_peak_rss: Option<u64>,
    /// The requesting side's peak resident memory during the run, bytes.
    pub(crate) requesting_peak_rss: Option<u64>,
}

/// Writes a provider dataset whose first account holds at least `bytes` of messages in the
/// last week.
fn dataset(dir: &Path, bytes: u64) -> Result<(), Error> {
    let t = now().0;
    evx_requested::dataset::generate(dir, 4, 10, UnixTime(t), 7)?;
    let account = account_name(0);
    let path = dir.join("content").join(format!("{account}.jsonl"));
    let file = std::fs::OpenOptions::new().append(true).open(&path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    // Lines of about 60 KiB (the dataset refuses lines over 64 KiB), spread over the week.
    let body = "x".repeat(60 * 1024);
    let mut written = 0u64;
    let mut n = 0u64;
    while written < bytes {
        let line = format!(
            "{{\"ts\":{},\"from\":\"{account}@mail.provider.example\",\"to\":\"{}@mail.provider.example\",\"subject\":\"attachment {n}\",\"body\":\"{body}\"}}\n",
            t - 6 * 86_400 + n % (5 * 86_400),
            account_name(1),
        );
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        n += 1;
    }
    // On disk before the clock starts, as a provider's records are: the run does not pay for
    // writing back what the set-up wrote.
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// Runs the evx bulk transfer of at least `bytes` of evidence in a deployment under `dir`.
pub(crate) async fn evx(dir: &Path, bytes: u64) -> Result<EvxBulk, Error> {
    let d = nodes::deployment(&dir.join("deployment"))?;
    let data = dir.join("dataset");
    dataset(&data, bytes)?;
    pki::set_dataset(&d.requested_config, &data)?;
    let node = ChildNode::start(&d.requested_config, &dir.join("requested-node.log"))?;
    let de = NodeConfig::load(&d.requesting_config)?;
    // Witnessed once before the clock starts, not again inside the measured exchanges.
    let requester =
        Requester::open(&de)?.with_witness_interval(std::time::Duration::from_secs(3600));
    let judge = nodes::judge(&d.dir)?;
    let to = sample::requested_party();
    // Connected and witnessed by a first small request, so that neither is in the figures.
    nodes::round_trip(&requester, &to, node.address).await?;
    let prepared = content_request(&requester, &judge)?;
    let id = prepared.request.request_id;
    memory::reset_peak();
    let start = Instant::now();
    requester
        .send(&prepared, &to, Some(node.address), now())
        .await?;
    let sealed = start.elapsed();
    let (record, _) = requester
        .fetch(&id, Some(node.address), now(), &mut |_, _| {})
        .await?;
    let total = start.elapsed();
    let requesting_peak_rss = memory::peak_of_self();
    let requested_peak_rss = memory::peak_of(node.pid());
    requester.close().await;
    let status = tokio::task::spawn_blocking(move || node.stop()).await??;
    if !status.success() {
        return Err(format!("the requested node exited with {status}").into());
    }
    let evidence_bytes: u64 = record.packages.iter().map(|p| p.length).sum();
    let sealed_bytes: u64 = record.packages.iter().map(|p| p.sealed_length).sum();
    if evidence_bytes < bytes {
        return Err(format!(
            "{evidence_bytes} bytes of evidence arrived, fewer than the {bytes} collected"
        )
        .into());
    }
    let transfer = total - sealed;
    let mib = sealed_bytes as f64 / f64::from(1 << 20);
    Ok(EvxBulk {
        evidence_bytes,
        sealed_bytes,
        packages: record.packages.len(),
        collect_and_seal_s: sealed.as_secs_f64(),
        transfer_verify_store_s: transfer.as_secs_f64(),
        end_to_end_mib_s: mib / total.as_secs_f64(),
        transfer_mib_s: mib / transfer.as_secs_f64(),
        requested_peak_rss,
        requesting_peak_rss,
    })
}
