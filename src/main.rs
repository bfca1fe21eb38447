//! `evx`: the command-line front end of evx, a secure channel for cross-border requests for
//! electronic evidence. One file per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agreement;
mod audit;
mod bench;
mod child;
mod dataset;
mod demo;
mod pki;
mod received;
mod request;
mod review;
mod serve;
mod status;

/// evx — a secure channel for cross-border requests for electronic evidence.
///
/// A requesting authority files signed requests under a treaty; the requested party decides
/// under its safeguards and delivers signed, encrypted evidence packages bound to a case and a
/// purpose.
#[derive(Debug, Parser)]
#[command(name = "evx", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Walk through one request on this machine: sign and frame a request, seal evidence to the
    /// requesting party, open it for a declared purpose, and show what evx refuses.
    Demo(demo::Args),
    /// Check agreement files, print an example agreement, or list the policy engine's rules.
    Agreement(agreement::Args),
    /// Verify a node's audit log, show its events, export or verify proofs.
    Audit(audit::Args),
    /// Create a deployment's PKI, keys and configuration; add or revoke a node.
    Pki(pki::Args),
    /// Generate a synthetic provider dataset to collect evidence from.
    Dataset(dataset::Args),
    /// Run the requested party's node: take in requests over QUIC, acknowledge, decide and
    /// deliver them.
    Serve(serve::Args),
    /// The requesting party: write, check, send and follow requests.
    Request(request::Args),
    /// Download a request's evidence package, verify it, store it sealed and send a receipt.
    Fetch(request::FetchArgs),
    /// Open a received package for a declared purpose (refused and logged if not allowed).
    Open(request::OpenArgs),
    /// The requested party's review queue: list, show and decide what the engine may not.
    Review(review::Args),
    /// A node's health: its audit log, cross-witnessing with its peers, and any conflict.
    Status(status::Args),
    /// The requested party's register of requests received, with their deadlines.
    Received(received::Args),
    /// Measure the channel against plain QUIC on this machine: round trip, concurrency,
    /// connection setup, bulk throughput and memory.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Agreement(args) => agreement::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Pki(args) => pki::run(&args),
        Command::Dataset(args) => dataset::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Request(args) => request::run(&args),
        Command::Fetch(args) => request::fetch(&args),
        Command::Open(args) => request::open(&args),
        Command::Review(args) => review::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Received(args) => received::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
