//! `evx dataset generate`: a realistic synthetic provider dataset to collect evidence from.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use evx_protocol::ids::UnixTime;
use evx_requested::dataset;

/// Options of `evx dataset`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a synthetic provider dataset: subscribers, their connections and their messages.
    Generate {
        /// Where (created if needed).
        dir: PathBuf,
        /// How many accounts.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        accounts: u32,
        /// How many days of connections and messages, up to now.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// The random seed: the same seed gives the same dataset.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub(crate) fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    match &args.command {
        Command::Generate {
            dir,
            accounts,
            days,
            seed,
        } => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let g = dataset::generate(dir, *accounts, *days, UnixTime(now), *seed)?;
            println!(
                "{}: {} subscribers, {} connections, {} messages over {days} days (first account: {})",
                dir.display(),
                g.subscribers,
                g.connections,
                g.messages,
                dataset::account_name(0)
            );
        }
    }
    Ok(())
}
