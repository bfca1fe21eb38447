//! `evx review list|show|decide`: the requested party's reviewers at work.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use evx_node::pki::NodeConfig;
use evx_protocol::document::{ConsentScope, DataCategory, RefusalGround, ReviewVerdict, Selector};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::policy::{RuleId, Verdict};
use evx_requested::review::{Pending, ReviewQueue};

use crate::request::{describe, load_signing_key, now};

type Error = Box<dyn std::error::Error>;

/// Options of `evx review`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Node {
    /// The requested node's configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct VerdictArg {
    /// Execute the request in full, under the conditions the engine computed.
    #[arg(long)]
    approve: bool,
    /// Refuse it (on the engine's proposed grounds unless --ground is given).
    #[arg(long)]
    refuse: bool,
    /// Execute it for these categories only, e.g. `subscriber,traffic`.
    #[arg(long, value_name = "CATEGORIES", value_delimiter = ',')]
    partial: Option<Vec<String>>,
    /// Postpone it until this time (RFC 3339, e.g. 2027-01-15T00:00:00Z, or Unix seconds).
    #[arg(long, value_name = "TIME")]
    postpone: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The requests waiting for a reviewer: overdue ones first, then by due date.
    List {
        #[command(flatten)]
        node: Node,
    },
    /// One waiting request: the request, the rule trace with legal sources, the parties'
    /// data-protection profiles, the deadlines.
    Show {
        /// The request id (32 hex digits).
        id: RequestId,
        #[command(flatten)]
        node: Node,
    },
    /// Decide a consent request (use of delivered evidence for another purpose or case, or an
    /// onward transfer) with a reviewer's key.
    Consent {
        /// The consent request's id (32 hex digits), as `evx review list` shows it.
        id: RequestId,
        #[command(flatten)]
        node: Node,
        /// Grant it.
        #[arg(long, conflicts_with = "refuse", required_unless_present = "refuse")]
        grant: bool,
        /// Refuse it.
        #[arg(long)]
        refuse: bool,
        /// The reasons given to the requesting party.
        #[arg(long, value_name = "TEXT", default_value = "")]
        because: String,
        /// The reviewer's key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// How long to wait for the node to record the decision (seconds).
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        wait: u64,
    },
    /// Decide a waiting request with a reviewer's key: a signed review decision, checked now
    /// and applied by the running node (or when it next starts).
    Decide {
        /// The request id (32 hex digits).
        id: RequestId,
        #[command(flatten)]
        node: Node,
        #[command(flatten)]
        verdict: VerdictArg,
        /// A refusal ground's code (repeatable), e.g. `press-freedom`; a rule's ground code
        /// brings its legal source.
        #[arg(long = "ground", value_name = "CODE")]
        grounds: Vec<String>,
        /// The explanation given with the grounds to the requesting party.
        #[arg(long, value_name = "TEXT", default_value = "")]
        because: String,
        /// The reviewer's reasoning, kept with the decision.
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
        /// The reviewer's key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// How long to wait for the node to apply the decision (seconds).
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        wait: u64,
    },
}

fn queue(node: &Node) -> Result<ReviewQueue, Error> {
    Ok(ReviewQueue::open(&NodeConfig::load(&node.config)?)?)
}

fn line(p: &Pending, now: UnixTime) -> String {
    let due = match p.due_at {
        Some(d) if p.overdue(now) => format!("OVERDUE since {d}"),
        Some(d) => format!("due {d}"),
        None => "no due date".into(),
    };
    let submitted = if p.submitted {
        " [decided, waiting for the node]"
    } else {
        ""
    };
    format!(
        "{}  from {:<18} {due:<38} {}{submitted}",
        p.request_id, p.party, p.proposal
    )
}

fn parse_time(s: &str) -> Result<UnixTime, Error> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(UnixTime(n));
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s}: not a time (RFC 3339, e.g. 2027-01-15T00:00:00Z): {e}"))?;
    Ok(UnixTime(
        u64::try_from(t.unix_timestamp()).map_err(|_| format!("{s}: before 1970"))?,
    ))
}

fn category(s: &str) -> Result<DataCategory, Error> {
    [
        DataCategory::Subscriber,
        DataCategory::Identification,
        DataCategory::Traffic,
        DataCategory::Content,
    ]
    .into_iter()
    .find(|c| c.as_str() == s.trim())
    .ok_or_else(|| {
        format!("{s}: not a data category (subscriber, identification, traffic, content)").into()
    })
}

fn selector(s: &Selector) -> String {
    match s {
        Selector::Account { service, account } => format!("account {account} at {service}"),
        other => format!("{other:?}"),
    }
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    match &args.command {
        Command::List { node } => {
            let t = now();
            let q = queue(node)?;
            let pending = q.list(t)?;
            let consents = q.consents()?;
            if pending.is_empty() && consents.is_empty() {
                println!("no request waits for review");
            }
            for p in &pending {
                println!("{}", line(p, t));
            }
            for c in &consents {
                let what = match &c.consent.scope {
                    ConsentScope::OtherPurpose { purpose } => format!("use for {purpose}"),
                    ConsentScope::OtherCase { case_id, purpose } => {
                        format!("use in case {case_id} for {purpose}")
                    }
                    ConsentScope::OnwardTransfer { recipient } => {
                        format!("pass on to {recipient}")
                    }
                };
                println!(
                    "{}  consent from {} about request {}: {what} — {}{}",
                    c.consent.consent_id,
                    c.party,
                    c.consent.request_id,
                    c.consent.reason,
                    if c.submitted {
                        " [decided, waiting for the node]"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        Command::Show { id, node } => {
            let q = queue(node)?;
            let case = q.case(id)?;
            let (r, t) = (&case.request, now());
            println!("{}", line(&case.pending, t));
            println!("\nrequest");
            println!(
                "  {:?} under {:?}, case {}, for {}",
                r.request_type, r.instrument, r.case_id, r.purpose
            );
            println!(
                "  issued by {} ({}), file {}",
                r.issuer.authority,
                r.issuer.authority_type.as_str(),
                r.issuer.file_number
            );
            println!(
                "  offence {} ({}; up to {} months{})",
                r.offence.code,
                r.offence.statute,
                r.offence.max_penalty_months,
                if r.offence.committed_via_ict {
                    "; by means of an information system"
                } else {
                    ""
                }
            );
            println!(
                "  categories: {}",
                r.categories
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for s in &r.selectors {
                println!("  selector: {}", selector(s));
            }
            println!("  period: {} to {}", r.time_range.from, r.time_range.to);
            if !r.protected_status.is_empty() {
                println!(
                    "  protected status: {}",
                    r.protected_status
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(e) = &r.emergency {
                println!("  EMERGENCY: {}", e.justification);
            }
            println!("  facts: {}", r.facts);
            println!("\nrule trace (agreement {})", case.trace.agreement_id);
            let mut results: Vec<_> = case.trace.results.iter().collect();
            // What needs the reviewer's attention first.
            results.sort_by_key(|res| match res.verdict {
                Verdict::Fail => 0,
                Verdict::NeedsReview => 1,
                Verdict::Pass => 2,
                _ => 3,
            });
            for res in results {
                let mark = match res.verdict {
                    Verdict::Fail => "FAIL  ",
                    Verdict::NeedsReview => "REVIEW",
                    Verdict::Pass => "pass  ",
                    _ => "n/a   ",
                };
                let rule: RuleId = res.rule;
                println!(
                    "  {mark} {:<28} {} [{}]",
                    rule.id(),
                    res.explanation,
                    rule.source()
                );
            }
            println!("\nproposal: {}", case.pending.proposal);
            println!(
                "decision as it stands: {}",
                describe(&case.decision.outcome)
            );
            let d = &case.trace.due;
            for (what, at) in [
                ("decision", d.decide_by),
                ("delivery", d.deliver_by),
                ("judicial validation", d.validation_by),
            ] {
                if let Some(at) = at {
                    let state = if at < t { "OVERDUE" } else { "due" };
                    println!("{what} {state} {at}");
                }
            }
            println!("\ndata-protection profiles");
            for p in &q.agreement().parties {
                let dp = &p.data_protection;
                println!(
                    "  {} ({}): retention {}, onward transfer {:?}, breach notification {}, oversight {:?}, remedies {:?}",
                    p.id,
                    p.state,
                    dp.retention_days
                        .map_or("not limited".into(), |d| format!("{d} days")),
                    dp.onward_transfer,
                    dp.breach_notification_hours
                        .map_or("none".into(), |h| format!("within {h} h")),
                    dp.oversight,
                    dp.remedies
                );
            }
            println!(
                "\ndecide with: evx review decide {id} --config {} --approve|--refuse|--partial CATS|--postpone TIME --key REVIEWER_KEY",
                node.config.display()
            );
            Ok(())
        }
        Command::Consent {
            id,
            node,
            grant,
            refuse: _,
            because,
            key,
            wait,
        } => {
            let q = queue(node)?;
            let key = load_signing_key(key)?;
            let d = q.decide_consent(id, *grant, because.clone(), &key, now())?;
            println!(
                "consent {id} {} and signed by {}",
                if d.granted { "granted" } else { "refused" },
                d.reviewer
            );
            let deadline = Instant::now() + Duration::from_secs(*wait);
            while Instant::now() < deadline {
                if !q.consent_pending(id)? {
                    println!(
                        "the node has recorded it; the requesting party receives it on its next status or fetch"
                    );
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            println!("the node has not recorded it yet (is it running?); it does on its next pass");
            Ok(())
        }
        Command::Decide {
            id,
            node,
            verdict,
            grounds,
            because,
            note,
            key,
            wait,
        } => {
            let q = queue(node)?;
            let key = load_signing_key(key)?;
            let v = if verdict.approve {
                ReviewVerdict::Approve
            } else if verdict.refuse {
                ReviewVerdict::Refuse
            } else if let Some(cats) = &verdict.partial {
                ReviewVerdict::Partial {
                    categories: cats.iter().map(|c| category(c)).collect::<Result<_, _>>()?,
                }
            } else if let Some(until) = &verdict.postpone {
                ReviewVerdict::Postpone {
                    until: parse_time(until)?,
                }
            } else {
                return Err("give --approve, --refuse, --partial or --postpone".into());
            };
            let grounds = grounds
                .iter()
                .map(|code| RefusalGround {
                    code: code.clone(),
                    legal_source: RuleId::ALL
                        .iter()
                        .find(|r| r.ground() == Some(code.as_str()))
                        .map_or("the reviewer's decision".into(), |r| r.source().to_owned()),
                    explanation: because.clone(),
                })
                .collect();
            let (signed, decision) = q.submit(id, v, grounds, note.clone(), &key, now())?;
            println!(
                "review of {id} signed (key {}) and checked; the final decision will be: {}",
                signed.signer(),
                describe(&decision.outcome)
            );
            let deadline = Instant::now() + Duration::from_secs(*wait);
            while Instant::now() < deadline {
                if !q.is_pending(id)? {
                    println!(
                        "the node has applied it; the requesting party receives it on its next status or fetch"
                    );
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            println!(
                "the node has not applied it yet (is it running?); it applies it on its next pass"
            );
            Ok(())
        }
    }
}
