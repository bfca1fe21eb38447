//! `evx received list|show`: the requested party's register of requests received, with their
//! deadlines and whether each was met.

use std::path::PathBuf;

use evx_node::pki::NodeConfig;
use evx_protocol::document::{Outcome, RequestType};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_requested::register::{Received, Register};

use crate::request::{describe, now};

type Error = Box<dyn std::error::Error>;

/// Options of `evx received`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Every request received, newest first, with what is overdue.
    List {
        /// The requested node's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// One request received: its decision and every deadline, met, due or overdue.
    Show {
        /// The request id (32 hex digits).
        id: RequestId,
        /// The requested node's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Each deadline of a request: (what, due, met how, if met).
fn deadlines(r: &Received) -> Vec<(&'static str, UnixTime, Option<String>)> {
    let mut out = Vec::new();
    let Some(d) = &r.decision else {
        return out;
    };
    if let Some(at) = d.due.decide_by {
        let met = (!r.pending_review).then(|| format!("decided {}", d.decided_at));
        out.push(("decision", at, met));
    }
    if let Some(at) = d.due.deliver_by
        && matches!(d.outcome, Outcome::Accept { .. } | Outcome::Partial { .. })
        && r.request.request_type != RequestType::Preservation
        && r.withdrawal.is_none()
    {
        out.push((
            "delivery",
            at,
            r.delivered.then(|| "receipt received".into()),
        ));
    }
    if let Some(at) = d.due.validation_by {
        let met = if r.validated_later {
            Some("validation received".into())
        } else {
            r.withdrawal
                .as_ref()
                .map(|w| format!("not validated: withdrawn {}", w.withdrawn_at))
        };
        out.push(("judicial validation", at, met));
    }
    out
}

fn overdue(r: &Received, now: UnixTime) -> Vec<&'static str> {
    deadlines(r)
        .into_iter()
        .filter(|(_, at, met)| met.is_none() && *at < now)
        .map(|(what, ..)| what)
        .collect()
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    let t = now();
    match &args.command {
        Command::List { config } => {
            let register = Register::open(&NodeConfig::load(config)?)?;
            let all = register.list()?;
            if all.is_empty() {
                println!("no request received");
            }
            for r in &all {
                let late = overdue(r, t);
                println!(
                    "{}  {:<12} from {:<16} {:<40}{}",
                    r.request.request_id,
                    format!("{:?}", r.request.request_type).to_lowercase(),
                    r.party,
                    match (&r.withdrawal, &r.decision) {
                        (Some(_), _) => "WITHDRAWN".to_owned(),
                        (None, Some(d)) => describe(&d.outcome).chars().take(40).collect(),
                        (None, None) => "not decided".to_owned(),
                    },
                    if late.is_empty() {
                        String::new()
                    } else {
                        format!("  OVERDUE: {}", late.join(", "))
                    }
                );
            }
            Ok(())
        }
        Command::Show { id, config } => {
            let register = Register::open(&NodeConfig::load(config)?)?;
            let r = register.get(id)?;
            println!("request {id} from {}", r.party);
            println!(
                "  {:?} under {:?}, case {}, for {}; received {}",
                r.request.request_type,
                r.request.instrument,
                r.request.case_id,
                r.request.purpose,
                r.received_at
            );
            match &r.decision {
                Some(d) => println!("  decision ({}): {}", d.decided_at, describe(&d.outcome)),
                None => println!("  not decided"),
            }
            for (what, at, met) in deadlines(&r) {
                match met {
                    Some(how) => println!("  {what}: met ({how}); was due {at}"),
                    None if at < t => println!("  {what}: OVERDUE since {at}"),
                    None => println!("  {what}: due {at}"),
                }
            }
            if let Some(at) = r.decision.as_ref().and_then(|d| d.due.release_not_before) {
                if at > t {
                    println!(
                        "  release: no evidence leaves before {at} (the enforcing authority may still object)"
                    );
                } else {
                    println!("  release: allowed since {at}");
                }
            }
            if r.package_ready {
                println!("  a sealed package is ready for delivery");
            }
            if let Some(e) = &r.package_error {
                println!(
                    "  carrying out the decision failed; the node tries again every minute: {e}"
                );
            }
            if r.delivered {
                println!("  delivered: the requesting party's receipt is recorded");
            }
            if let Some(w) = &r.withdrawal {
                println!(
                    "  WITHDRAWN {} ({:?}); delivered data declared unusable: {}",
                    w.withdrawn_at, w.reason, w.data_unusable
                );
            }
            Ok(())
        }
    }
}
