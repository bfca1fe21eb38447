//! `evx pki`: a deployment's files, their permissions, the registry and configurations they
//! load as, revocation, and configuration errors that name file and key.

mod common;

use common::TempDir;
use evx_node::pki::{self, ConfigError, NodeConfig, RegistryFile};
use evx_protocol::crypto::KeyFile;
use evx_protocol::ids::PartyId;
use evx_protocol::note::NoteSigner;
use evx_protocol::policy::{Agreement, KeyRole};

fn party(s: &str) -> PartyId {
    PartyId::new(s).unwrap()
}

const NOW: u64 = 1_795_165_200;

#[test]
fn init_creates_a_deployment_that_loads() {
    let dir = TempDir::new("init");
    let (a, b) = (party("DE-BfJ"), party("IE-provider-LERT"));
    let d = pki::init(&dir.0, (&a, "Germany"), (&b, "Provider"), NOW).unwrap();

    // Both configurations load, with every path resolved and present.
    let ca = NodeConfig::load(&d.requesting_config).unwrap();
    let cb = NodeConfig::load(&d.requested_config).unwrap();
    assert_eq!(ca.party, a);
    assert_eq!(cb.party, b);
    assert_ne!(ca.listen, cb.listen);

    // The registry lists both parties, the judge and the reviewer, with the node's own keys.
    let reg = RegistryFile::load(&ca.registry).unwrap();
    assert_eq!(reg.parties.len(), 2);
    let docs = KeyFile::parse(&std::fs::read_to_string(&ca.keys.documents).unwrap())
        .unwrap()
        .signing_key()
        .unwrap();
    let policy = reg.policy_registry();
    let entry = policy
        .get(&docs.id())
        .expect("the node's document key is registered");
    assert_eq!(entry.party, a);
    assert_eq!(entry.role, KeyRole::Documents);
    assert!(
        policy
            .keys()
            .iter()
            .any(|k| matches!(k.role, KeyRole::JudicialAuthority { .. }) && k.party == a)
    );
    assert!(
        policy
            .keys()
            .iter()
            .any(|k| matches!(k.role, KeyRole::Reviewer { .. }) && k.party == b)
    );
    let log = NoteSigner::parse(std::fs::read_to_string(&cb.keys.log).unwrap().trim()).unwrap();
    assert_eq!(reg.party(&b).unwrap().log, log.verifier().to_vkey());

    // The agreement names the two parties.
    let agreement = Agreement::from_toml(
        &std::fs::read_to_string(&ca.agreement).unwrap(),
        "agreement.toml",
    )
    .unwrap();
    assert!(agreement.party(&a).is_some() && agreement.party(&b).is_some());

    // Private keys are readable by their owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for p in [
            dir.0.join("ca/ca.key"),
            ca.keys.tls_key.clone(),
            ca.keys.documents.clone(),
            ca.keys.hpke.clone(),
            ca.keys.log.clone(),
            ca.keys.witness.clone(),
        ] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
    // The certificates are PEM and the CRL is signed PEM.
    assert!(
        std::fs::read_to_string(&ca.keys.tls_cert)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        std::fs::read_to_string(&ca.crl)
            .unwrap()
            .starts_with("-----BEGIN X509 CRL-----")
    );

    // A second init in the same place is refused.
    assert!(matches!(
        pki::init(&dir.0, (&a, "Germany"), (&b, "Provider"), NOW),
        Err(ConfigError::Pki(_))
    ));
}

#[test]
fn issue_adds_a_node_and_revoke_updates_the_crl() {
    let dir = TempDir::new("issue");
    let (a, b, c) = (party("DE-BfJ"), party("IE-provider-LERT"), party("FR-PNC"));
    pki::init(&dir.0, (&a, "Germany"), (&b, "Provider"), NOW).unwrap();
    let config = pki::issue(&dir.0, &c, "France", 4440, NOW).unwrap();
    assert_eq!(NodeConfig::load(&config).unwrap().party, c);
    let reg = RegistryFile::load(&dir.0.join("registry.toml")).unwrap();
    assert_eq!(reg.parties.len(), 3);
    assert!(
        pki::issue(&dir.0, &c, "France", 4440, NOW).is_err(),
        "issued twice"
    );

    let before = std::fs::read_to_string(dir.0.join("ca/crl.pem")).unwrap();
    pki::revoke(&dir.0, &c, NOW + 60).unwrap();
    let after = std::fs::read_to_string(dir.0.join("ca/crl.pem")).unwrap();
    assert_ne!(before, after);
    let issued = std::fs::read_to_string(dir.0.join("ca/issued.toml")).unwrap();
    assert!(
        issued.contains(&format!("revoked_at = {}", NOW + 60)),
        "{issued}"
    );
    assert!(pki::revoke(&dir.0, &c, NOW + 120).is_err(), "revoked twice");
    assert!(pki::revoke(&dir.0, &party("XX-unknown"), NOW).is_err());
}

#[test]
fn configuration_errors_name_the_file_and_the_key() {
    let dir = TempDir::new("errors");
    let (a, b) = (party("DE-BfJ"), party("IE-provider-LERT"));
    let d = pki::init(&dir.0, (&a, "Germany"), (&b, "Provider"), NOW).unwrap();
    let text = std::fs::read_to_string(&d.requesting_config).unwrap();
    let bad = dir.0.join("nodes/DE-BfJ/bad.toml");
    for (edit, key) in [
        (
            text.replace("listen = \"127.0.0.1:4430\"", "listen = \"somewhere\""),
            "listen",
        ),
        (
            text.replace("hpke = \"hpke.key\"", "hpke = \"missing.key\""),
            "keys.hpke",
        ),
        (text.replace("format = 1", "format = 2"), "format"),
        (text.replace("party = ", "partie = "), "partie"),
    ] {
        std::fs::write(&bad, edit).unwrap();
        let e = NodeConfig::load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.toml"), "{e}");
        assert!(e.contains(key), "{key}: {e}");
    }
    let reg = std::fs::read_to_string(dir.0.join("registry.toml")).unwrap();
    let bad = dir.0.join("bad-registry.toml");
    std::fs::write(
        &bad,
        reg.replacen("documents = \"", "documents = \"AAAA", 1),
    )
    .unwrap();
    let e = RegistryFile::load(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad-registry.toml") && e.contains("parties[0].documents"),
        "{e}"
    );
}
