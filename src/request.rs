//! `evx request new|check|send|status|list`, `evx fetch` and `evx open`: the requesting
//! party's commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use evx_node::pki::NodeConfig;
use evx_protocol::crypto::{KeyFile, SigningKey};
use evx_protocol::document::{Decision, Outcome, Signed};
use evx_protocol::ids::{CaseId, PartyId, RequestId, UnixTime};
use evx_protocol::policy::{self, Trace, Verdict};
use evx_protocol::purpose::{DeclaredPurpose, Purpose};
use evx_requesting::client::{Prepared, RequestRecord, Requester};
use evx_requesting::request_file;

type Error = Box<dyn std::error::Error>;

pub(crate) fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// Options of `evx request`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Node {
    /// The requesting node's configuration file (written by `evx pki init`).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a commented request template (a production request for one account's traffic
    /// data over the last week) to edit.
    New {
        #[command(flatten)]
        node: Node,
        /// The party the request is for (default: the registry's other party).
        #[arg(long, value_name = "PARTY")]
        to: Option<PartyId>,
        /// Where to write it (default: standard output). An existing file is not overwritten.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run the policy engine's rules on a request file locally, as the requested party will.
    Check {
        /// The request file.
        file: PathBuf,
        #[command(flatten)]
        node: Node,
        /// A judicial authority's key, to sign the file's `[validation]` with.
        #[arg(long, value_name = "FILE")]
        judge_key: Option<PathBuf>,
    },
    /// Sign a request file, record it in the audit log, send it and print the answer.
    Send {
        /// The request file.
        file: PathBuf,
        #[command(flatten)]
        node: Node,
        /// The requested party (default: the file's `requested_party`).
        #[arg(long, value_name = "PARTY")]
        to: Option<PartyId>,
        /// Its node's address (default: the registry's).
        #[arg(long, value_name = "ADDR")]
        address: Option<SocketAddr>,
        /// A judicial authority's key, to sign the file's `[validation]` with.
        #[arg(long, value_name = "FILE")]
        judge_key: Option<PathBuf>,
    },
    /// Show a request: its decision (asked afresh from the requested party unless --offline),
    /// deadlines and packages.
    Status {
        /// The request id (32 hex digits).
        id: RequestId,
        #[command(flatten)]
        node: Node,
        /// The requested party's node's address (default: the registry's).
        #[arg(long, value_name = "ADDR")]
        address: Option<SocketAddr>,
        /// Only what this node has recorded; do not connect.
        #[arg(long)]
        offline: bool,
    },
    /// Send the judicial validation of a request already sent (an emergency request executed
    /// before it): the file's `[validation]`, signed with the judicial authority's key.
    Validate {
        /// The request file, with a `[validation]` table.
        file: PathBuf,
        #[command(flatten)]
        node: Node,
        /// The judicial authority's key.
        #[arg(long, value_name = "FILE")]
        judge_key: PathBuf,
        /// The requested party's node's address (default: the registry's).
        #[arg(long, value_name = "ADDR")]
        address: Option<SocketAddr>,
    },
    /// Ask the requested party's consent to use a request's evidence for another purpose or
    /// case, or to pass it on to a third party; a reviewer there decides.
    Consent {
        /// The request whose evidence it concerns (32 hex digits).
        id: RequestId,
        #[command(flatten)]
        node: Node,
        /// The purpose the evidence would be used for (with --case: in that case).
        #[arg(
            long,
            conflicts_with = "transfer_to",
            required_unless_present = "transfer_to"
        )]
        purpose: Option<Purpose>,
        /// Another case to use it in.
        #[arg(long, requires = "purpose")]
        case: Option<CaseId>,
        /// A third party to pass it on to.
        #[arg(long, value_name = "PARTY")]
        transfer_to: Option<PartyId>,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The requested party's node's address (default: the registry's).
        #[arg(long, value_name = "ADDR")]
        address: Option<SocketAddr>,
    },
    /// Ask the requested party to extend a preservation hold (as the agreement allows).
    Extend {
        /// The preservation request's id (32 hex digits).
        id: RequestId,
        #[command(flatten)]
        node: Node,
        /// By how many days.
        #[arg(long)]
        days: u32,
        /// Why the data must be kept longer.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The requested party's node's address (default: the registry's).
        #[arg(long, value_name = "ADDR")]
        address: Option<SocketAddr>,
    },
    /// List this node's requests, newest first.
    List {
        #[command(flatten)]
        node: Node,
    },
}

/// Opens the requesting node and runs its retention pass first: evidence whose retention has
/// ended is deleted before anything else is done.
fn open_node(node: &Node) -> Result<Requester, Error> {
    let requester = Requester::open(&NodeConfig::load(&node.config)?)?;
    for id in requester.enforce_retention(now())? {
        println!(
            "package {id}: retention ended; deleted with its data key and every opened copy (logged)"
        );
    }
    Ok(requester)
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    match &args.command {
        Command::New { node, to, out } => {
            let node = open_node(node)?;
            let to = match to {
                Some(t) => t.clone(),
                None => node
                    .registry()
                    .parties
                    .iter()
                    .map(|p| p.id.clone())
                    .find(|p| p != node.party())
                    .ok_or("the registry lists no other party; name one with --to")?,
            };
            let rng = &mut evx_protocol::rand_core::UnwrapErr(getrandom::SysRng);
            let text = request_file::template(RequestId::random(rng), &to, now());
            match out {
                None => print!("{text}"),
                Some(path) => {
                    use std::io::Write as _;
                    std::fs::File::options()
                        .write(true)
                        .create_new(true)
                        .open(path)
                        .and_then(|mut f| f.write_all(text.as_bytes()))
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    println!(
                        "wrote {}; edit it, then `evx request check` it",
                        path.display()
                    );
                }
            }
            Ok(())
        }
        Command::Check {
            file,
            node,
            judge_key,
        } => {
            let node = open_node(node)?;
            let prepared = prepare(&node, file, judge_key.as_deref(), now())?;
            let trace = node.check(&prepared, now());
            print_trace(&trace);
            println!(
                "\nproposal: {} (the requested party decides with its own copy of the agreement)",
                policy::summary(&trace)
            );
            Ok(())
        }
        Command::Send {
            file,
            node,
            to,
            address,
            judge_key,
        } => {
            let node = open_node(node)?;
            let t = now();
            let prepared = prepare(&node, file, judge_key.as_deref(), t)?;
            let to = to
                .clone()
                .unwrap_or_else(|| prepared.request.requested_party.clone());
            let sent = runtime()?.block_on(async {
                let sent = node.send(&prepared, &to, *address, t).await;
                node.close().await;
                sent
            });
            let sent = match sent {
                Err(evx_requesting::client::ClientError::Refused { code, .. })
                    if code == evx_protocol::frame::ErrorReport::REPLAY =>
                {
                    return Err(format!(
                        "{to} holds request {} already (refused as a replay): `evx request status {}` \
                         shows its decision; for a new request, change request_id in {}",
                        prepared.request.request_id,
                        prepared.request.request_id,
                        file.display()
                    )
                    .into());
                }
                other => other?,
            };
            println!("request {} sent to {to}", prepared.request.request_id);
            if let Some(e) = &sent.acknowledgement.log_entry {
                println!(
                    "acknowledged at {}: entry {} of {to}'s audit log (tree size {})",
                    sent.acknowledgement.received_at, e.index, e.tree_size
                );
            }
            println!("decision: {}", describe(&sent.decision.outcome));
            Ok(())
        }
        Command::Status {
            id,
            node,
            address,
            offline,
        } => {
            let node = open_node(node)?;
            let record = if *offline {
                node.record(id)?
            } else {
                runtime()?.block_on(async {
                    let record = node.status(id, *address, now()).await;
                    node.close().await;
                    record
                })?
            };
            print_record(&node, &record, now());
            Ok(())
        }
        Command::Validate {
            file,
            node,
            judge_key,
            address,
        } => {
            let node = open_node(node)?;
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let parsed =
                request_file::parse(&text, &file.display().to_string(), node.party(), now())?;
            let draft = parsed.validation.ok_or_else(|| {
                format!(
                    "{} has no [validation] table: write the judicial authority's validation there",
                    file.display()
                )
            })?;
            let judge = load_signing_key(judge_key)?;
            let id = parsed.request.request_id;
            runtime()?.block_on(async {
                let sent = node.validate(&id, &draft, &judge, *address, now()).await;
                node.close().await;
                sent
            })?;
            println!("validation of request {id} sent and recorded by the requested party");
            Ok(())
        }
        Command::Consent {
            id,
            node,
            purpose,
            case,
            transfer_to,
            reason,
            address,
        } => {
            use evx_protocol::document::ConsentScope;
            let node = open_node(node)?;
            let scope = match (transfer_to, case, purpose) {
                (Some(recipient), _, _) => ConsentScope::OnwardTransfer {
                    recipient: recipient.clone(),
                },
                (None, Some(case_id), Some(purpose)) => ConsentScope::OtherCase {
                    case_id: case_id.clone(),
                    purpose: *purpose,
                },
                (None, None, Some(purpose)) => ConsentScope::OtherPurpose { purpose: *purpose },
                _ => return Err("give --purpose [--case], or --transfer-to".into()),
            };
            let consent = runtime()?.block_on(async {
                let c = node.ask_consent(id, scope, reason, *address, now()).await;
                node.close().await;
                c
            })?;
            println!(
                "consent {consent} asked and logged; its decision comes with `evx request status {id}`"
            );
            Ok(())
        }
        Command::Extend {
            id,
            node,
            days,
            reason,
            address,
        } => {
            let node = open_node(node)?;
            let c = runtime()?.block_on(async {
                let c = node.extend(id, *days, reason, *address, now()).await;
                node.close().await;
                c
            })?;
            println!(
                "hold {id} extended: {} records preserved until {}; {} extension(s) left",
                c.records_preserved, c.expires_at, c.extensions_remaining
            );
            Ok(())
        }
        Command::List { node } => {
            let node = open_node(node)?;
            for id in node.list()? {
                let r = node.record(&id)?;
                println!(
                    "{id}  {:<12} to {:<20} {}",
                    format!("{:?}", r.request.request_type).to_lowercase(),
                    r.to,
                    r.decision
                        .as_ref()
                        .map_or("not decided".into(), |d| describe(&d.outcome))
                );
            }
            Ok(())
        }
    }
}

/// Reads a request file and signs it (and its validation, if a judge's key is given).
pub(crate) fn prepare(
    node: &Requester,
    file: &Path,
    judge_key: Option<&Path>,
    at: UnixTime,
) -> Result<Prepared, Error> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parsed = request_file::parse(&text, &file.display().to_string(), node.party(), at)?;
    let signed = node.sign(&parsed.request)?;
    let mut validations = Vec::new();
    match (&parsed.validation, judge_key) {
        (Some(draft), Some(key)) => {
            let judge = load_signing_key(key)?;
            validations.push(Signed::sign(
                &draft.validation(&signed, &parsed.request, at),
                &judge,
            )?);
        }
        (Some(_), None) => {
            return Err(format!(
                "{} has a [validation]; give the judicial authority's key with --judge-key",
                file.display()
            )
            .into());
        }
        (None, Some(_)) => {
            return Err(format!(
                "--judge-key given, but {} has no [validation] table to sign",
                file.display()
            )
            .into());
        }
        (None, None) => {}
    }
    Ok(Prepared {
        signed,
        request: parsed.request,
        validations,
    })
}

pub(crate) fn load_signing_key(path: &Path) -> Result<SigningKey, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(KeyFile::parse(&text)
        .and_then(|k| k.signing_key())
        .map_err(|e| format!("{}: {e}", path.display()))?)
}

/// One line for a decision's outcome.
pub(crate) fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Accept { conditions } => {
            let mut s = "accepted".to_owned();
            if let Some(r) = conditions.retention_days {
                s.push_str(&format!("; keep at most {r} days"));
            }
            s
        }
        Outcome::Partial {
            categories, reason, ..
        } => format!("partially accepted ({categories:?}): {reason}"),
        Outcome::Incomplete { missing } => format!(
            "incomplete: {}",
            missing
                .iter()
                .map(|m| format!("{} ({})", m.field, m.explanation))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Outcome::Refuse { grounds } => format!(
            "refused: {}",
            grounds
                .iter()
                .map(|g| format!("{} [{}]: {}", g.code, g.legal_source, g.explanation))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Outcome::PendingReview { reason, due_at } => {
            format!("pending human review (due {due_at}): {reason}")
        }
        Outcome::Postponed { until, reason } => format!("postponed until {until}: {reason}"),
    }
}

fn print_trace(trace: &Trace) {
    for r in &trace.results {
        let mark = match r.verdict {
            Verdict::Pass => "pass  ",
            Verdict::Fail => "FAIL  ",
            Verdict::NeedsReview => "REVIEW",
            _ => "n/a   ",
        };
        println!(
            "{mark} {:<28} {} — {}",
            r.rule.id(),
            r.explanation,
            r.rule.source()
        );
    }
}

fn print_record(node: &Requester, r: &RequestRecord, now: UnixTime) {
    println!("request {}", r.request.request_id);
    println!(
        "  {:?} request to {}, case {}, for {}",
        r.request.request_type, r.to, r.request.case_id, r.request.purpose
    );
    match r.sent_at {
        Some(t) => println!("  sent at {t}"),
        None => println!("  not sent"),
    }
    if let Some(a) = &r.acknowledgement {
        match &a.log_entry {
            Some(e) => println!(
                "  acknowledged at {} (entry {} of the requested party's log)",
                a.received_at, e.index
            ),
            None => println!("  acknowledged at {}", a.received_at),
        }
    }
    match &r.decision {
        Some(d) => print_decision(r, d, now),
        None => println!("  no decision yet"),
    }
    if let Some(w) = &r.withdrawal {
        println!(
            "  WITHDRAWN at {} ({:?}){}",
            w.withdrawn_at,
            w.reason,
            if w.data_unusable {
                "; the data delivered are unusable and can no longer be opened"
            } else {
                ""
            }
        );
    }
    for (asked, decided) in node.consents(&r.request.request_id).unwrap_or_default() {
        let what = match &asked.scope {
            evx_protocol::document::ConsentScope::OtherPurpose { purpose } => {
                format!("use for {purpose}")
            }
            evx_protocol::document::ConsentScope::OtherCase { case_id, purpose } => {
                format!("use in case {case_id} for {purpose}")
            }
            evx_protocol::document::ConsentScope::OnwardTransfer { recipient } => {
                format!("pass on to {recipient}")
            }
        };
        match decided {
            Some(d) if d.granted => println!(
                "  consent {} ({what}): GRANTED by {} at {}",
                asked.consent_id, d.reviewer, d.decided_at
            ),
            Some(d) => println!(
                "  consent {} ({what}): refused by {}: {}",
                asked.consent_id, d.reviewer, d.explanation
            ),
            None => println!(
                "  consent {} ({what}): asked, not decided yet",
                asked.consent_id
            ),
        }
    }
    if let Some(d) = &r.download {
        println!(
            "  package {} partly received: {} of {} bytes; `evx fetch` continues",
            d.package_id, d.have, d.total
        );
    }
    for p in &r.packages {
        println!(
            "  package {}: {} items, {} bytes, received at {} — {}",
            p.package_id,
            p.items,
            p.length,
            p.received_at,
            p.path.display()
        );
    }
}

/// The decision and its deadlines: each one met, pending, or OVERDUE.
fn print_decision(r: &RequestRecord, d: &Decision, now: UnixTime) {
    println!("  decided at {}: {}", d.decided_at, describe(&d.outcome));
    let state = |at: UnixTime, met: Option<String>| match met {
        Some(how) => format!("met ({how})"),
        None if at < now => format!("OVERDUE since {at}"),
        None => format!("due {at}"),
    };
    let pending = matches!(d.outcome, Outcome::PendingReview { .. });
    if let Some(at) = d.due.decide_by {
        let met = (!pending).then(|| format!("decided {}", d.decided_at));
        println!("  decision: {}", state(at, met));
    }
    if let Some(at) = d.due.deliver_by
        && matches!(d.outcome, Outcome::Accept { .. } | Outcome::Partial { .. })
        && r.request.request_type != evx_protocol::document::RequestType::Preservation
    {
        let met = r
            .packages
            .first()
            .map(|p| format!("delivered {}", p.received_at));
        println!("  delivery: {}", state(at, met));
    }
    if let Some(at) = d.due.validation_by {
        let met = r.validation_sent.then(|| "validation sent".to_owned());
        println!(
            "  judicial validation: {} (without it the request is withdrawn and its data unusable)",
            state(at, met)
        );
    }
    if let Some(at) = d.due.release_not_before {
        if at > now {
            println!(
                "  release: held by the requested party until {at} (the enforcing authority may still object; Reg. (EU) 2023/1543 Art. 10(2))"
            );
        } else {
            println!("  release: allowed since {at}");
        }
    }
    if let Some(at) = d.due.preserve_until {
        println!("  preserved until {at}");
    }
}

/// Options of `evx fetch`.
#[derive(Debug, clap::Args)]
pub(crate) struct FetchArgs {
    /// The request id (32 hex digits).
    id: RequestId,
    #[command(flatten)]
    node: Node,
    /// The requested party's node's address (default: the registry's).
    #[arg(long, value_name = "ADDR")]
    address: Option<SocketAddr>,
    /// Take at most this many more bytes of the package now (a constrained link); the next
    /// `evx fetch` continues from there.
    #[arg(long, value_name = "BYTES")]
    max_bytes: Option<u64>,
}

/// `evx fetch ID`: download, verify and store the request's package, and send the receipt.
pub(crate) fn fetch(args: &FetchArgs) -> Result<(), Error> {
    let node = open_node(&args.node)?;
    // Several packages may arrive on one fetch: each new one is reported.
    let held: Vec<_> = node
        .record(&args.id)?
        .packages
        .iter()
        .map(|p| p.package_id)
        .collect();
    let bar = indicatif::ProgressBar::hidden();
    let mut shown = false;
    let mut progress = |got: u64, total: u64| {
        // A bar only for packages worth waiting for.
        if !shown && total >= 16 << 20 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            shown = true;
        }
        bar.set_position(got);
    };
    let (record, package) = runtime()?.block_on(async {
        let fetched = node
            .fetch_part(
                &args.id,
                args.address,
                now(),
                &mut progress,
                args.max_bytes.unwrap_or(u64::MAX),
            )
            .await;
        node.close().await;
        fetched
    })?;
    bar.finish_and_clear();
    let new: Vec<_> = record
        .packages
        .iter()
        .filter(|p| !held.contains(&p.package_id))
        .collect();
    for p in &new {
        println!(
            "package {} received and verified: {} items, {} bytes of evidence, stored sealed at {}; receipt sent",
            p.package_id,
            p.items,
            p.length,
            p.path.display()
        );
    }
    match package {
        Some(_) if record.download.is_some() => {
            let d = record
                .download
                .as_ref()
                .map_or((0, 0), |d| (d.have, d.total));
            println!(
                "{} of {} bytes of the next package held; `evx fetch` again continues from there",
                d.0, d.1
            );
        }
        Some(_) => {}
        None if record.download.is_some() => {
            let d = record
                .download
                .as_ref()
                .map_or((0, 0), |d| (d.have, d.total));
            println!(
                "{} of {} bytes of the package held; `evx fetch` again continues from there",
                d.0, d.1
            );
        }
        None => match record
            .decision
            .as_ref()
            .and_then(|d| d.due.release_not_before)
            .filter(|&t| t > now())
        {
            Some(t) if new.is_empty() => println!(
                "no package yet: the requested party holds the evidence until {t}, while the enforcing authority may still object; fetch again then"
            ),
            _ if !new.is_empty() => {}
            _ => println!(
                "no package to fetch; decision: {}",
                record
                    .decision
                    .as_ref()
                    .map_or("none yet".into(), |d| describe(&d.outcome))
            ),
        },
    }
    Ok(())
}

/// Options of `evx open`.
#[derive(Debug, clap::Args)]
pub(crate) struct OpenArgs {
    /// The sealed package: its file, or its id (64 hex digits) in this node's store.
    package: String,
    #[command(flatten)]
    node: Node,
    /// The purpose the evidence is used for: investigation, prosecution, sentence_enforcement
    /// or asset_recovery.
    #[arg(long)]
    purpose: Purpose,
    /// The case it is used in (default: the case of the request it answers).
    #[arg(long)]
    case: Option<CaseId>,
    /// Where to write the items (created if needed; files are never overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// `evx open PACKAGE --purpose P --out DIR`.
pub(crate) fn open(args: &OpenArgs) -> Result<(), Error> {
    let node = open_node(&args.node)?;
    let path = PathBuf::from(&args.package);
    let path = if path.is_file() {
        path
    } else {
        let id: evx_protocol::ids::PackageId = args.package.parse().map_err(|_| {
            format!(
                "{} is neither a file nor a package id (64 hex digits)",
                args.package
            )
        })?;
        node.package_path(&id)?
    };
    let case = match &args.case {
        Some(c) => c.clone(),
        None => node.case_of_package(&path)?,
    };
    let declared = DeclaredPurpose {
        case,
        purpose: args.purpose,
    };
    let opened = node.open_package(&path, &declared, &args.out, now())?;
    println!(
        "package {} opened for {} in case {}; the opening is logged",
        opened.package_id, declared.purpose, declared.case
    );
    for i in &opened.items {
        println!(
            "  {} ({} bytes, {}, from {})",
            i.path.display(),
            i.length,
            i.media_type,
            i.source
        );
    }
    Ok(())
}
