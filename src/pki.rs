//! `evx pki`: create a deployment (CA, two nodes, keys, registry, agreement, configs), add a
//! node, revoke a node's certificate.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use evx_node::pki;
use evx_protocol::ids::PartyId;

/// Options of `evx pki`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a deployment in DIR: a CA, a requesting and a requested node with their keys and
    /// configuration, a judge's and a reviewer's key, the peer registry and the agreement.
    Init {
        /// Where (it must not hold a deployment yet); `certs/` in a clone is git-ignored.
        dir: PathBuf,
        /// The requesting party's id.
        #[arg(long, default_value = "DE-BfJ")]
        requesting: PartyId,
        /// Its name.
        #[arg(long, default_value = "Bundesamt für Justiz (development)")]
        requesting_name: String,
        /// The requested party's id.
        #[arg(long, default_value = "IE-provider-LERT")]
        requested: PartyId,
        /// Its name.
        #[arg(long, default_value = "Provider Ireland LERT (development)")]
        requested_name: String,
        /// The provider dataset the requested node collects evidence from (`evx dataset
        /// generate` writes one).
        #[arg(long, value_name = "DIR")]
        dataset: Option<PathBuf>,
    },
    /// Add a node to the deployment in DIR and to its registry.
    Issue {
        /// The deployment.
        dir: PathBuf,
        /// The new party's id.
        #[arg(long)]
        party: PartyId,
        /// Its name.
        #[arg(long)]
        name: String,
        /// The loopback port it listens on.
        #[arg(long, default_value_t = 4432)]
        port: u16,
    },
    /// Revoke a party's certificate: it is listed in a new signed CRL.
    Revoke {
        /// The deployment.
        dir: PathBuf,
        /// The party.
        #[arg(long)]
        party: PartyId,
    },
}

type Error = Box<dyn std::error::Error>;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    match &args.command {
        Command::Init {
            dir,
            requesting,
            requesting_name,
            requested,
            requested_name,
            dataset,
        } => {
            let d = pki::init(
                dir,
                (requesting, requesting_name),
                (requested, requested_name),
                now(),
            )?;
            if let Some(ds) = dataset {
                pki::set_dataset(&d.requested_config, ds)?;
            }
            println!("deployment created in {}", d.dir.display());
            println!("  requesting node: {}", d.requesting_config.display());
            println!("  requested node:  {}", d.requested_config.display());
            println!("  private keys are mode 0600; keep them out of version control");
        }
        Command::Issue {
            dir,
            party,
            name,
            port,
        } => {
            let config = pki::issue(dir, party, name, *port, now())?;
            println!("{party} issued; its configuration: {}", config.display());
        }
        Command::Revoke { dir, party } => {
            pki::revoke(dir, party, now())?;
            println!(
                "{party}'s certificate revoked; {} updated",
                dir.join("ca/crl.pem").display()
            );
        }
    }
    Ok(())
}
