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
    runtime.block_on(async move {
        let endpoint =
            quinn::Endpoint::server(server_config(&files, Limits::default())?, config.listen)
                .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        println!(
            "{} serving on {} (audit log {}); Ctrl-C stops after the requests in flight",
            config.party,
            endpoint.local_addr()?,
            desk.audit().dir().display()
        );
        let server = tokio::spawn(evx_requested::serve::run(endpoint.clone(), desk, registry));
        tokio::signal::ctrl_c().await?;
        println!("stopping: no new connections; finishing the requests in flight");
        endpoint.close(0u32.into(), b"node shutting down");
        server.await?;
        endpoint.wait_idle().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
