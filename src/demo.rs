//! `evx demo`: two nodes on this machine, a scripted case between them, every check real.
//!
//! The demo creates a deployment (CA, keys, registry, agreement) and a synthetic provider
//! dataset in a fresh work directory, starts the requested party's node as a separate process
//! (`evx serve`) on a free loopback port, and plays the requesting party: a preservation
//! request, a production of one account's traffic data for a week, a content request with a
//! judge's validation, a bulk request that is refused, a request about a journalist that the
//! provider's reviewer refuses; it fetches, verifies and opens the evidence for its purpose and
//! is refused opening it for another. It stops the node, verifies
//! both audit logs and prints a timeline. Nothing is left running; the work directory stays
//! for inspection with the ordinary commands, which the demo prints.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use evx_node::audit::AuditLog;
use evx_node::pki::{self, NodeConfig, RegistryFile};
use evx_protocol::audit::Event;
use evx_protocol::document::{
    AuthorityType, DataCategory, EvidenceRequest, Outcome, ProtectedStatus, RefusalGround,
    RequestType, ReviewVerdict, Selector, TimeRange,
};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::note::NoteVerifier;
use evx_protocol::policy::Verdict;
use evx_protocol::purpose::{DeclaredPurpose, Purpose};
use evx_protocol::sample;
use evx_requested::review::ReviewQueue;
use evx_requesting::client::Requester;
use evx_requesting::open::OpenPackageError;
use evx_requesting::request_file::{self, ValidationDraft};

use crate::child::ChildNode;
use crate::request::{describe, now, prepare};

type Error = Box<dyn std::error::Error>;

/// Options of `evx demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to create the work directory (default: a new one under the system's temporary
    /// directory). It must not exist yet.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// A small dataset (20 accounts instead of 500), for a test run.
    #[arg(long)]
    quick: bool,
}

/// One line of the timeline.
struct Step {
    party: String,
    what: String,
    outcome: String,
    detail: String,
    elapsed: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn unique_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("evx-demo-{nanos}-{}", std::process::id()))
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    let started = Instant::now();
    let work = args.dir.clone().unwrap_or_else(unique_dir);
    if work.exists() {
        return Err(format!(
            "{} exists already; the demo starts from an empty directory",
            work.display()
        )
        .into());
    }
    std::fs::create_dir_all(&work)?;
    println!("evx demo: a requesting and a requested party on this machine");
    println!("work directory: {}\n", work.display());

    // The deployment and the provider's data.
    let t = Instant::now();
    let de = PartyId::new("DE-BfJ")?;
    let ie = PartyId::new("IE-provider-LERT")?;
    let deployment = pki::init(
        &work.join("deployment"),
        (&de, "Bundesamt für Justiz (demo)"),
        (&ie, "Provider Ireland LERT (demo)"),
        now().0,
    )?;
    // This deployment refuses bulk selectors without waiting for a reviewer: such a request is
    // out of scope whatever its merits, and refusing it adversely affects no person. (The
    // example agreement leaves every refusal but a suspension to a reviewer.)
    let agreement = deployment.dir.join("agreement.toml");
    let text = std::fs::read_to_string(&agreement)?;
    let automatic = "automatic_refusals = [\"transfers-suspended\"]";
    if !text.contains(automatic) {
        return Err(format!("{}: no `{automatic}` line to extend", agreement.display()).into());
    }
    std::fs::write(
        &agreement,
        text.replace(
            automatic,
            "automatic_refusals = [\"transfers-suspended\", \"bulk-selector\"]",
        ),
    )?;
    let accounts = if args.quick { 20 } else { 500 };
    let dataset = work.join("dataset");
    let generated = evx_requested::dataset::generate(&dataset, accounts, 30, now(), 1)?;
    pki::set_dataset(&deployment.requested_config, &dataset)?;
    println!(
        "set up in {}: a CA, two nodes with their TLS, document, HPKE and audit-log keys, a judge's \
         key, the peer registry, the EU e-Evidence agreement (bulk selectors refused without review), \
         and a provider dataset of {} \
         subscribers, {} connections and {} messages",
        ms(t.elapsed()),
        generated.subscribers,
        generated.connections,
        generated.messages
    );

    // The requested party's node, as its own process.
    let node = ChildNode::start(
        &deployment.requested_config,
        &work.join("requested-node.log"),
    )
    .map_err(|e| -> Error { e })?;
    println!(
        "{ie} node serving on {} (pid {})\n",
        node.address,
        node.pid()
    );

    let result = scenario(&work, &deployment, &node, &de, &ie);
    let status = node.stop().map_err(|e| -> Error { e })?;
    let steps = result?;
    if !status.success() {
        return Err(format!("the requested node exited with {status}").into());
    }

    // Both logs, verified after the node has stopped.
    let de_config = NodeConfig::load(&deployment.requesting_config)?;
    let ie_config = NodeConfig::load(&deployment.requested_config)?;
    let registry = RegistryFile::load(&ie_config.registry)?;
    let verify = |config: &NodeConfig, party: &PartyId| -> Result<(u64, AuditLog), Error> {
        let key = registry
            .party(party)
            .ok_or("party missing from the registry")?
            .log
            .clone();
        let log = AuditLog::open_read_only(
            &config.data_dir.join("audit"),
            NoteVerifier::parse(&key).map_err(|e| e.to_string())?,
        )?;
        let report = log.verify()?;
        Ok((report.entries, log))
    };
    let (de_entries, de_log) = verify(&de_config, &de)?;
    let (ie_entries, ie_log) = verify(&ie_config, &ie)?;

    println!("timeline");
    println!(
        "{:<3} {:<17} {:<44} {:<26} {:>9}  detail",
        "#", "party", "step", "outcome", "latency"
    );
    for (i, s) in steps.iter().enumerate() {
        println!(
            "{:<3} {:<17} {:<44} {:<26} {:>9}  {}",
            i + 1,
            s.party,
            s.what,
            s.outcome,
            ms(s.elapsed),
            s.detail
        );
    }
    println!();
    for (party, entries, log) in [(&de, de_entries, &de_log), (&ie, ie_entries, &ie_log)] {
        let kinds = event_kinds(log)?;
        println!(
            "{party} audit log: {entries} entries, every hash, root and checkpoint signature verified \
             ({kinds})"
        );
    }
    // Cross-witnessing: each log's checkpoint carries the other party's cosignature.
    for (party, log, peer) in [(&de, &de_log, &ie), (&ie, &ie_log, &de)] {
        let keys = registry
            .peer_keys(peer)
            .ok_or("a party's log keys are missing from the registry")?;
        let size = log.cosigned_size(keys.witness.name())?;
        if size == 0 {
            return Err(format!("{peer} never cosigned {party}'s log").into());
        }
        println!(
            "{party}'s checkpoint of size {size} is cosigned by {peer} (witnessed: {party} cannot \
             show {peer} another history up to there)"
        );
    }
    println!(
        "\nfinished in {:.1} s; the requested node has stopped.",
        started.elapsed().as_secs_f64()
    );
    println!("explore the work directory with the ordinary commands, e.g.:");
    println!(
        "  evx request list --config {}",
        deployment.requesting_config.display()
    );
    for config in [&deployment.requesting_config, &deployment.requested_config] {
        println!("  evx status --config {}", config.display());
        println!("  evx audit show --config {}", config.display());
    }
    Ok(())
}

/// `request_received ×4, decision ×4, …`: what a log holds, by kind.
fn event_kinds(log: &AuditLog) -> Result<String, Error> {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for i in 0..log.size()? {
        let event = Event::decode(&log.entry(i)?)?;
        let name = event.kind.name();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    Ok(counts
        .iter()
        .map(|(n, c)| format!("{n} ×{c}"))
        .collect::<Vec<_>>()
        .join(", "))
}

fn base_request(id: RequestId, account: &str, days: u64) -> EvidenceRequest {
    let mut r = sample::production_request(id);
    let t = now();
    r.issued_at = t;
    r.time_range = TimeRange {
        from: UnixTime(t.0.saturating_sub(days * 86_400)),
        to: t,
    };
    r.selectors = vec![Selector::Account {
        service: "mail.provider.example".into(),
        account: account.into(),
    }];
    r.territory.person_resides_in_issuing_state = Some(true);
    r
}

fn scenario(
    work: &Path,
    deployment: &pki::Deployment,
    node: &ChildNode,
    de: &PartyId,
    ie: &PartyId,
) -> Result<Vec<Step>, Error> {
    let requester = Requester::open(&NodeConfig::load(&deployment.requesting_config)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let rng = &mut evx_protocol::rand_core::UnwrapErr(getrandom::SysRng);
    let requests = work.join("requests");
    std::fs::create_dir_all(&requests)?;
    let judge_key = deployment.dir.join(format!("authorities/{de}-judge.key"));
    let account = evx_requested::dataset::account_name(0);
    let mut steps = Vec::new();
    let party = |p: &PartyId| p.to_string();

    // Sends a request written to a file, as `evx request send` does.
    let mut send = |name: &str,
                    what: &str,
                    request: EvidenceRequest,
                    validation: Option<ValidationDraft>|
     -> Result<(RequestId, Outcome), Error> {
        let file = requests.join(format!("{name}.toml"));
        std::fs::write(&file, request_file::render(&request, validation.as_ref()))?;
        let t = Instant::now();
        let judge = validation.as_ref().map(|_| judge_key.as_path());
        let prepared = prepare(&requester, &file, judge, now())?;
        let check = requester.check(&prepared, now());
        let count = |v: Verdict| check.results.iter().filter(|r| r.verdict == v).count();
        let sent = runtime.block_on(requester.send(&prepared, ie, Some(node.address), now()))?;
        let outcome = &sent.decision.outcome;
        let short = match outcome {
            Outcome::Accept { .. } => "accepted".to_owned(),
            Outcome::Refuse { grounds } => format!(
                "REFUSED: {}",
                grounds
                    .iter()
                    .map(|g| g.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Outcome::Incomplete { .. } => "incomplete".to_owned(),
            Outcome::PendingReview { .. } => "pending review".to_owned(),
            other => describe(other),
        };
        steps.push(Step {
            party: party(de),
            what: what.to_owned(),
            outcome: short,
            detail: format!(
                "local check: {} pass, {} fail, {} review, {} n/a; acknowledged as entry {} of {ie}'s log; {}",
                count(Verdict::Pass),
                count(Verdict::Fail),
                count(Verdict::NeedsReview),
                count(Verdict::NotApplicable),
                sent.acknowledgement
                    .log_entry
                    .as_ref()
                    .map_or("?".into(), |e| e.index.to_string()),
                file.strip_prefix(work).unwrap_or(&file).display()
            ),
            elapsed: t.elapsed(),
        });
        Ok((prepared.request.request_id, outcome.clone()))
    };

    // 1. Preserve the account's subscriber and traffic data while the production order is
    //    prepared.
    let mut preservation = base_request(RequestId::random(rng), &account, 30);
    preservation.request_type = RequestType::Preservation;
    preservation.categories = vec![DataCategory::Subscriber, DataCategory::Traffic];
    let (preservation_id, _) = send(
        "1-preservation",
        "preservation (subscriber, traffic; 30 days)",
        preservation,
        None,
    )?;

    // 2. Produce one account's traffic data for a week, ordered by an investigating judge.
    let mut traffic = base_request(RequestId::random(rng), &account, 7);
    traffic.categories = vec![DataCategory::Traffic];
    traffic.preservation_ref = Some(preservation_id);
    traffic.issuer.authority = "Amtsgericht Tiergarten (Ermittlungsrichter)".into();
    traffic.issuer.authority_type = AuthorityType::InvestigatingJudge;
    traffic.issuer.file_number = "351 Gs 1024/26".into();
    let (traffic_id, traffic_outcome) = send(
        "2-production-traffic",
        "production: traffic, 1 account, 7 days",
        traffic,
        None,
    )?;

    // 3. The account's messages, ordered by the prosecutor and validated by a judge.
    let mut content = base_request(RequestId::random(rng), &account, 14);
    content.categories = vec![DataCategory::Content];
    let validation = ValidationDraft {
        authority: "Amtsgericht Tiergarten".into(),
        authority_type: AuthorityType::InvestigatingJudge,
        reference: "351 Gs 1031/26".into(),
        statement: "The messages are necessary to identify the intruder; the order is limited to \
                    one account and two weeks."
            .into(),
    };
    let (content_id, content_outcome) = send(
        "3-production-content",
        "production: content, judicially validated",
        content,
        Some(validation),
    )?;

    // 4. Every account of the service: mass surveillance, refused.
    let mut bulk = base_request(RequestId::random(rng), "*", 7);
    bulk.categories = vec![DataCategory::Traffic];
    bulk.issuer.authority_type = AuthorityType::InvestigatingJudge;
    let (_, bulk_outcome) = send("4-bulk", "production: traffic of account \"*\"", bulk, None)?;
    if !matches!(bulk_outcome, Outcome::Refuse { .. }) {
        return Err(format!(
            "the bulk request was not refused: {}",
            describe(&bulk_outcome)
        )
        .into());
    }

    // 5. A journalist's account: the engine may not decide; a reviewer of the provider does.
    let mut press = base_request(
        RequestId::random(rng),
        &evx_requested::dataset::account_name(1),
        7,
    );
    press.categories = vec![DataCategory::Traffic];
    press.issuer.authority = "Amtsgericht Tiergarten (Ermittlungsrichter)".into();
    press.issuer.authority_type = AuthorityType::InvestigatingJudge;
    press.protected_status = vec![ProtectedStatus::Press];
    let (press_id, press_outcome) = send(
        "5-journalist",
        "production: traffic of a journalist",
        press,
        None,
    )?;
    if !matches!(press_outcome, Outcome::PendingReview { .. }) {
        return Err(format!(
            "the request about a journalist did not go to review: {}",
            describe(&press_outcome)
        )
        .into());
    }
    let t = Instant::now();
    let queue = ReviewQueue::open(&NodeConfig::load(&deployment.requested_config)?)?;
    let reviewer_key = crate::request::load_signing_key(
        &deployment.dir.join(format!("reviewers/{ie}-reviewer.key")),
    )?;
    let ground = RefusalGround {
        code: "press-freedom".into(),
        legal_source: "Reg. (EU) 2023/1543 Art. 12(1)(a)".into(),
        explanation: "the data would disclose a journalist's sources".into(),
    };
    queue.submit(
        &press_id,
        ReviewVerdict::Refuse,
        vec![ground],
        "Refused: protected sources; the issuing authority may ask again with a narrower order."
            .into(),
        &reviewer_key,
        now(),
    )?;
    // The node applies it on its next pass (each second); the requesting party then sees it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let final_outcome = loop {
        let record = runtime.block_on(requester.status(&press_id, Some(node.address), now()))?;
        match record.decision.map(|d| d.outcome) {
            Some(Outcome::PendingReview { .. }) | None if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Some(outcome) => break outcome,
            None => return Err("the reviewed request has no decision".into()),
        }
    };
    if !matches!(final_outcome, Outcome::Refuse { .. }) {
        return Err(format!(
            "the reviewer's refusal did not arrive: {}",
            describe(&final_outcome)
        )
        .into());
    }
    steps.push(Step {
        party: party(ie),
        what: "reviewer decides the journalist request".into(),
        outcome: "REFUSED by reviewer".into(),
        detail: format!(
            "signed review decision applied by the node, received by {de}: {}",
            describe(&final_outcome)
        ),
        elapsed: t.elapsed(),
    });

    // 6. Fetch, verify and store the accepted productions' packages.
    let mut packages = Vec::new();
    for (id, outcome, what) in [
        (
            traffic_id,
            &traffic_outcome,
            "fetch + verify traffic package",
        ),
        (
            content_id,
            &content_outcome,
            "fetch + verify content package",
        ),
    ] {
        if !matches!(outcome, Outcome::Accept { .. }) {
            return Err(format!("request {id} was not accepted: {}", describe(outcome)).into());
        }
        let t = Instant::now();
        let (_, package) =
            runtime.block_on(requester.fetch(&id, Some(node.address), now(), &mut |_, _| {}))?;
        let package = package.ok_or_else(|| format!("no package was ready for request {id}"))?;
        steps.push(Step {
            party: party(de),
            what: what.to_owned(),
            outcome: "verified, receipt sent".into(),
            detail: format!(
                "{} items, {} bytes of evidence in {} sealed bytes; package {}",
                package.items,
                package.length,
                package.sealed_length,
                &package.package_id.to_hex()[..16]
            ),
            elapsed: t.elapsed(),
        });
        packages.push((id, package));
    }

    // 7. Open the traffic package for the investigation it was asked for…
    let (_, traffic_package) = &packages[0];
    let case = requester.record(&traffic_id)?.request.case_id;
    let out = work.join("opened").join("traffic");
    let t = Instant::now();
    let opened = requester.open_package(
        &traffic_package.path,
        &DeclaredPurpose {
            case: case.clone(),
            purpose: Purpose::Investigation,
        },
        &out,
        now(),
    )?;
    steps.push(Step {
        party: party(de),
        what: "open traffic package for investigation".into(),
        outcome: "opened".into(),
        detail: opened
            .items
            .iter()
            .map(|i| {
                format!(
                    "{} ({} bytes)",
                    i.path.strip_prefix(work).unwrap_or(&i.path).display(),
                    i.length
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        elapsed: t.elapsed(),
    });

    // 8. …and try to use it to trace assets instead: refused before decryption, and logged.
    let t = Instant::now();
    match requester.open_package(
        &traffic_package.path,
        &DeclaredPurpose {
            case,
            purpose: Purpose::AssetRecovery,
        },
        &work.join("opened").join("other-purpose"),
        now(),
    ) {
        Err(OpenPackageError::PurposeRefused(why)) => steps.push(Step {
            party: party(de),
            what: "open the same package for asset recovery".into(),
            outcome: "REFUSED, logged".into(),
            detail: why,
            elapsed: t.elapsed(),
        }),
        Ok(_) => return Err("opening for another purpose was not refused".into()),
        Err(e) => return Err(e.into()),
    }
    runtime.block_on(requester.close());
    Ok(steps)
}
