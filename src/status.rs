//! `evx status --config F`: a node's health — its audit log, what its peers have cosigned of
//! it, what it has cosigned of theirs, and, loudly, any conflict that stopped exchanges.

use std::path::PathBuf;

use evx_node::audit::AuditLog;
use evx_node::pki::{NodeConfig, RegistryFile};
use evx_protocol::ids::UnixTime;
use evx_protocol::note::NoteVerifier;
use evx_protocol::note::checkpoint::Checkpoint;

type Error = Box<dyn std::error::Error>;

/// Options of `evx status`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The node's configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

fn hex8(b: &[u8]) -> String {
    b[..8].iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    let config = NodeConfig::load(&args.config)?;
    let registry = RegistryFile::load(&config.registry)?;
    let me = registry.party(&config.party).ok_or_else(|| {
        format!(
            "{}: {} is not in the registry",
            config.registry.display(),
            config.party
        )
    })?;
    let log = AuditLog::open_read_only(
        &config.data_dir.join("audit"),
        NoteVerifier::parse(&me.log).map_err(|e| e.to_string())?,
    )?;
    let note = log.checkpoint()?;
    let cp = Checkpoint::from_text(note.text()).map_err(|e| e.to_string())?;
    println!("{} ({})", config.party, me.name);
    println!(
        "audit log {}: {} entries, latest checkpoint of size {} (root {}…)",
        log.origin(),
        log.size()?,
        cp.size,
        hex8(&cp.root)
    );
    let conflicts = log.conflicts()?;
    for peer in registry.parties.iter().filter(|p| p.id != config.party) {
        let Some(keys) = registry.peer_keys(&peer.id) else {
            println!("  {}: no usable log keys in the registry", peer.id);
            continue;
        };
        let ours = log.cosigned_size(keys.witness.name())?;
        let theirs = log.peer_checkpoint(keys.log.name())?;
        println!("peer {} ({})", peer.id, peer.name);
        if ours == 0 {
            println!("  has not cosigned this node's log yet");
        } else {
            println!("  has cosigned this node's log up to size {ours}");
        }
        match theirs {
            Some(w) => println!(
                "  its log cosigned by this node up to size {} (root {}…) at {}",
                w.checkpoint.size,
                hex8(&w.checkpoint.root),
                UnixTime(w.cosigned_at)
            ),
            None => println!("  its log not cosigned by this node yet"),
        }
        for (origin, at, cosigned, offered) in
            conflicts.iter().filter(|(o, ..)| o == keys.log.name())
        {
            let size = |n: &str| {
                Checkpoint::from_text(n.split("\n\n").next().unwrap_or_default())
                    .map(|c| c.size.to_string())
                    .unwrap_or_else(|_| "?".into())
            };
            println!(
                "  !!! CONFLICT detected {}: the log {origin} showed a checkpoint of size {} that contradicts the one of size {} this node cosigned.",
                UnixTime(*at),
                size(offered),
                size(cosigned)
            );
            println!(
                "  !!! Exchanges with {} are STOPPED. Both signed checkpoints are kept as proof (`evx audit show --config … --kind conflict_detected`).",
                peer.id
            );
        }
    }
    if conflicts.is_empty() {
        println!("no conflicts");
        Ok(())
    } else {
        Err(format!(
            "{} conflict(s) recorded: exchanges with the parties above are stopped",
            conflicts.len()
        )
        .into())
    }
}
