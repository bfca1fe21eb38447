//! A node's configuration file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use evx_protocol::ids::PartyId;
use serde::Deserialize;

use super::ConfigError;

/// A node's configuration: who it is, where it listens and keeps its data, where its keys and
/// the deployment's files are. Relative paths are relative to the configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Format (1).
    pub format: u8,
    /// This node's party.
    pub party: PartyId,
    /// The address it listens on (a requested party) or connects from.
    pub listen: SocketAddr,
    /// Its data directory (audit log, packages, state).
    pub data_dir: PathBuf,
    /// The deployment CA's certificate.
    pub ca_cert: PathBuf,
    /// The CA's revocation list.
    pub crl: PathBuf,
    /// The peer registry.
    pub registry: PathBuf,
    /// The agreement in force.
    pub agreement: PathBuf,
    /// The provider dataset evidence is collected from (a requested node); absent if none.
    #[serde(default)]
    pub dataset: Option<PathBuf>,
    /// The largest evidence package a requested node seals (bytes of evidence): more evidence
    /// is delivered as several packages, whole items each. Default 1 GiB.
    #[serde(default)]
    pub package_max_bytes: Option<u64>,
    /// Requests, fetches and other exchanges a requested node takes from one party per second,
    /// sustained (default 20): a misbehaving peer cannot flood the intake.
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// How many of them a party may make at once above that rate (default 100).
    #[serde(default)]
    pub request_burst: Option<u32>,
    /// This node's keys.
    pub keys: KeyPaths,
}

/// Where a node's private keys are (files written with mode 0600).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPaths {
    /// TLS certificate (PEM).
    pub tls_cert: PathBuf,
    /// TLS private key (PEM).
    pub tls_key: PathBuf,
    /// Ed25519 document key (evx key file).
    pub documents: PathBuf,
    /// X25519 HPKE key (evx key file).
    pub hpke: PathBuf,
    /// Audit-log note key (`PRIVATE+KEY+…`).
    pub log: PathBuf,
    /// Witness cosignature key (`PRIVATE+KEY+…`).
    pub witness: PathBuf,
}

impl NodeConfig {
    /// Reads a configuration file; paths in it are resolved against its directory. Every error
    /// names the file, the key and what is expected.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let mut c: Self = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            file: file.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        if c.format != 1 {
            return Err(ConfigError::invalid(&file, "format", "1"));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(d) = c.dataset.as_mut()
            && d.is_relative()
        {
            *d = base.join(&*d);
        }
        for p in [
            &mut c.data_dir,
            &mut c.ca_cert,
            &mut c.crl,
            &mut c.registry,
            &mut c.agreement,
            &mut c.keys.tls_cert,
            &mut c.keys.tls_key,
            &mut c.keys.documents,
            &mut c.keys.hpke,
            &mut c.keys.log,
            &mut c.keys.witness,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for (key, p) in [
            ("ca_cert", &c.ca_cert),
            ("crl", &c.crl),
            ("registry", &c.registry),
            ("agreement", &c.agreement),
            ("keys.tls_cert", &c.keys.tls_cert),
            ("keys.tls_key", &c.keys.tls_key),
            ("keys.documents", &c.keys.documents),
            ("keys.hpke", &c.keys.hpke),
            ("keys.log", &c.keys.log),
            ("keys.witness", &c.keys.witness),
        ] {
            if !p.is_file() {
                return Err(ConfigError::invalid(
                    &file,
                    key,
                    &format!("an existing file; {} does not exist", p.display()),
                ));
            }
        }
        Ok(c)
    }
}

/// Points a node's configuration at a provider dataset (`dataset = "…"`, written before the
/// `[keys]` table). The path is written absolute, so it holds wherever the node is started.
pub fn set_dataset(config: &Path, dataset: &Path) -> Result<(), ConfigError> {
    let file = config.display().to_string();
    let read_error = |e: std::io::Error| ConfigError::Read {
        file: file.clone(),
        reason: e.to_string(),
    };
    let text = std::fs::read_to_string(config).map_err(read_error)?;
    let parsed: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        file: file.clone(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    if parsed.contains_key("dataset") {
        return Err(ConfigError::invalid(
            &file,
            "dataset",
            "no dataset set yet (edit the file to change it)",
        ));
    }
    let dataset = std::path::absolute(dataset).map_err(read_error)?;
    let value = dataset.display().to_string();
    if value.contains(['"', '\\']) || value.chars().any(char::is_control) {
        return Err(ConfigError::invalid(
            &file,
            "dataset",
            "a path without quotes, backslashes or control characters",
        ));
    }
    let Some(at) = text.find("\n[keys]") else {
        return Err(ConfigError::invalid(&file, "keys", "a [keys] table"));
    };
    let mut out = text.clone();
    out.insert_str(
        at + 1,
        &format!("# The provider dataset evidence is collected from.\ndataset = \"{value}\"\n\n"),
    );
    std::fs::write(config, out).map_err(read_error)
}

impl NodeConfig {
    /// Creates the node's data directory if it is missing, readable by its owner only: it
    /// holds case data (requests, decisions, sealed and collected evidence).
    pub fn create_data_dir(&self) -> Result<(), ConfigError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder
            .create(&self.data_dir)
            .map_err(|e| ConfigError::Read {
                file: self.data_dir.display().to_string(),
                reason: format!("cannot create the data directory: {e}"),
            })
    }
}
