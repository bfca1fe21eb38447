//! `evx audit`: verify a node's audit log, show its events, print its checkpoint, export a
//! proof of one entry, and verify an exported proof offline.

use std::path::{Path, PathBuf};

use evx_node::audit::AuditLog;
use evx_protocol::audit::Event;
use evx_protocol::note::NoteVerifier;
use evx_protocol::note::proof::LogProof;

/// Options of `evx audit`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Log {
    /// A node's configuration file: its log, checked with the log key the peer registry lists
    /// for its party. Or give --data-dir and --log-key (e.g. for a log copied elsewhere).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data_dir", "log_key"])]
    config: Option<PathBuf>,
    /// The log's directory (it holds `audit.sqlite`; a node keeps it in `DATA_DIR/audit`).
    #[arg(
        long,
        value_name = "DIR",
        requires = "log_key",
        required_unless_present = "config"
    )]
    data_dir: Option<PathBuf>,
    /// The log's public key (`<name>+<id>+<key>`), or a file holding it.
    #[arg(long, value_name = "VKEY|FILE", requires = "data_dir")]
    log_key: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Recompute every hash and root and check every checkpoint signature; name the first bad
    /// entry or checkpoint and exit non-zero if anything is wrong.
    Verify {
        #[command(flatten)]
        log: Log,
    },
    /// List the events, optionally only one kind, one case (checked against the entries'
    /// salted commitments) or a time window.
    Show {
        #[command(flatten)]
        log: Log,
        /// Only this kind, e.g. `request_received`.
        #[arg(long)]
        kind: Option<String>,
        /// Only entries whose case commitment opens to this case id.
        #[arg(long)]
        case: Option<String>,
        /// Only events at or after this POSIX time.
        #[arg(long)]
        from: Option<u64>,
        /// Only events at or before this POSIX time.
        #[arg(long)]
        to: Option<u64>,
    },
    /// Print the latest signed checkpoint with its recorded cosignatures.
    Checkpoint {
        #[command(flatten)]
        log: Log,
    },
    /// Print a proof (C2SP tlog-proof) that entry N is in the log.
    Proof {
        /// The entry's index.
        index: u64,
        #[command(flatten)]
        log: Log,
    },
    /// Verify an exported proof offline, with only the log's public key (and witness keys).
    VerifyProof {
        /// The proof file.
        file: PathBuf,
        /// The log's public key, or a file holding it.
        #[arg(long, value_name = "VKEY|FILE")]
        key: String,
        /// A witness's cosignature key; repeat for several.
        #[arg(long, value_name = "VKEY|FILE")]
        witness: Vec<String>,
        /// How many of the witnesses must have cosigned.
        #[arg(long, default_value_t = 0)]
        min_cosignatures: usize,
    },
}

type Error = Box<dyn std::error::Error>;

fn key(arg: &str) -> Result<NoteVerifier, Error> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).map_err(|e| format!("{arg}: {e}"))?
    } else {
        arg.to_owned()
    };
    NoteVerifier::parse(text.trim()).map_err(|e| format!("{arg}: {e}").into())
}

/// Text from the log as it may be shown on a terminal: control characters become `?`.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn open(log: &Log) -> Result<AuditLog, Error> {
    if let Some(config) = &log.config {
        let config = evx_node::pki::NodeConfig::load(config)?;
        let registry = evx_node::pki::RegistryFile::load(&config.registry)?;
        let entry = registry.party(&config.party).ok_or_else(|| {
            format!(
                "{}: {} is not in the registry, which holds its log key",
                config.registry.display(),
                config.party
            )
        })?;
        return Ok(AuditLog::open_read_only(
            &config.data_dir.join("audit"),
            key(&entry.log)?,
        )?);
    }
    match (&log.data_dir, &log.log_key) {
        (Some(dir), Some(k)) => Ok(AuditLog::open_read_only(dir, key(k)?)?),
        _ => Err("give --config, or --data-dir and --log-key".into()),
    }
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    match &args.command {
        Command::Verify { log } => {
            let audit = open(log)?;
            let r = audit.verify()?;
            let root: String = r.root[..8].iter().map(|b| format!("{b:02x}")).collect();
            println!(
                "{}: ok — {} entries, {} checkpoints verified; root {root}…",
                audit.origin(),
                r.entries,
                r.checkpoints
            );
        }
        Command::Show {
            log,
            kind,
            case,
            from,
            to,
        } => {
            let audit = open(log)?;
            let size = audit.size()?;
            for index in 0..size {
                let data = audit.entry(index)?;
                let event = Event::decode(&data).map_err(|e| format!("entry {index}: {e}"))?;
                if kind.as_deref().is_some_and(|k| k != event.kind.name())
                    || from.is_some_and(|f| event.at.0 < f)
                    || to.is_some_and(|t| event.at.0 > t)
                {
                    continue;
                }
                if let Some(case) = case {
                    let salts = audit.salts(index)?;
                    let salt = salts.iter().find(|(f, _)| f == "case").map(|(_, s)| s);
                    let opens = match (event.case, salt) {
                        (Some(c), Some(s)) => c.opens_to(case.as_bytes(), s),
                        _ => false,
                    };
                    if !opens {
                        continue;
                    }
                }
                println!(
                    "{index:>8}  {}  {:<24}  {}/{}{}",
                    event.at,
                    event.kind.name(),
                    event.actor.party,
                    shown(&event.actor.by),
                    event
                        .request
                        .map(|r| format!("  request {r}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Checkpoint { log } => {
            let audit = open(log)?;
            let note = audit.checkpoint()?;
            let size = evx_protocol::note::checkpoint::Checkpoint::from_text(note.text())?.size;
            print!("{}", note.encode());
            for line in audit.cosignatures(size)? {
                println!("{line}");
            }
        }
        Command::Proof { index, log } => {
            let audit = open(log)?;
            print!("{}", audit.proof(*index)?.encode());
        }
        Command::VerifyProof {
            file,
            key: log_key,
            witness,
            min_cosignatures,
        } => {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let proof = LogProof::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
            let witnesses = witness
                .iter()
                .map(|w| key(w))
                .collect::<Result<Vec<_>, _>>()?;
            let v = proof.verify(&key(log_key)?, &witnesses, *min_cosignatures)?;
            let event = Event::decode(&v.entry).map_err(|e| format!("the entry: {e}"))?;
            println!(
                "ok: entry {} ({} at {}) is in {} at size {}; cosigned by {}",
                v.index,
                event.kind.name(),
                event.at,
                v.checkpoint.origin,
                v.checkpoint.size,
                if v.cosigned_by.is_empty() {
                    "no witness given".to_owned()
                } else {
                    v.cosigned_by
                        .iter()
                        .map(|(n, t)| format!("{n} (at {t})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
    }
    Ok(())
}
