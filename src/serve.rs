//! `evx serve --config F`: run the requested party's node until interrupted.

use std::path::PathBuf;
use std::sync::Arc;

use evx_node::pki::{NodeConfig, RegistryFile};
use evx_node::transport::{Limits, TlsFiles, server_config};
use evx_requested::server::Desk;

/// Options of `evx serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The node's configuration file (written by `evx pki init`).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Listen on this address instead of the configuration's (port 0: any free port; the
    /// address taken is printed).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Also stop when standard input closes (for a supervising process, such as `evx demo`).
    #[arg(long, hide = true)]
    until_stdin_closes: bool,
}

pub(crate) fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = NodeConfig::load(&args.config)?;
    let files = TlsFiles::load(
        &config.keys.tls_cert,
        &config.keys.tls_key,
        &config.ca_cert,
        &config.crl,
    )?;
    let desk = Arc::new(Desk::open(&config)?);
    let registry = Arc::new(RegistryFile::load(&config.registry)?);
    let runtime = tokio::runtime::Runtime::new()?;
    let listen = args.listen.unwrap_or(config.listen);
    let until_stdin_closes = args.until_stdin_closes;
    runtime.block_on(async move {
        let endpoint = quinn::Endpoint::server(server_config(&files, Limits::default())?, listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        println!(
            "{} listening on {} (audit log {}); Ctrl-C stops after the exchanges in flight",
            config.party,
            endpoint.local_addr()?,
            desk.audit().dir().display()
        );
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let ticker = tokio::spawn(evx_requested::serve::tick_every(
            desk.clone(),
            // Reviews decided at a reviewer's desk take effect within a quarter second.
            std::time::Duration::from_millis(250),
            stopping.clone(),
            |pass| match pass {
                Ok(r) => {
                    for (id, outcome) in &r.applied {
                        println!("review of {id} applied: {outcome}");
                    }
                    for (id, why) in &r.rejected {
                        println!("review of {id} not applied, the request stays pending: {why}");
                    }
                    for id in &r.escalated {
                        println!("review of {id} is OVERDUE: escalated and logged");
                    }
                    for (id, granted) in &r.consents {
                        println!(
                            "consent {id} {} by a reviewer (recorded; delivered on the next status or fetch)",
                            if *granted { "granted" } else { "refused" }
                        );
                    }
                    for id in &r.holds_ended {
                        println!("preservation hold {id} ended: its copy deleted (logged)");
                    }
                    for id in &r.executed {
                        println!("decision on {id} carried out on a later attempt");
                    }
                    for (id, why) in &r.execution_failed {
                        println!("carrying out the decision on {id} failed again (retried in a minute): {why}");
                    }
                    for id in &r.withdrawn {
                        println!("request {id} WITHDRAWN: its judicial validation did not arrive in time; delivered data declared unusable");
                    }
                }
                Err(e) => eprintln!("review pass: {e}"),
            },
        ));
        let server = tokio::spawn(evx_requested::serve::run(
            endpoint.clone(),
            desk,
            registry,
            stopping,
        ));
        let stdin_closed = async {
            if until_stdin_closes {
                let mut sink = Vec::new();
                let _ =
                    tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            () = stdin_closed => {}
        }
        println!("stopping: no new connections; finishing the exchanges in flight");
        let _ = stop.send(true);
        server.await?;
        ticker.await?;
        endpoint.close(0u32.into(), b"node shutting down");
        endpoint.wait_idle().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
