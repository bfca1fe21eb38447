//! `evx agreement`: the shipped examples check, a broken file is refused with the key named,
//! and `docs/policy.md` carries the engine's own rule table.

use std::path::Path;
use std::process::Command;

fn evx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_evx"))
        .args(args)
        .output()
        .expect("the evx binary runs")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn shipped_examples_check() {
    let dir = root().join("crates/evx-protocol/agreements");
    let files: Vec<String> = ["eu-2023-1543.toml", "budapest.toml"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let args: Vec<&str> = ["agreement", "check"]
        .into_iter()
        .chain(files.iter().map(String::as_str))
        .collect();
    let out = evx(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("agreement eu-2023-1543/DE-IE"), "{stdout}");
    assert!(stdout.contains("agreement budapest/NO-CA"), "{stdout}");
}

#[test]
fn a_broken_agreement_is_refused_naming_file_and_key() {
    let dir = std::env::temp_dir().join(format!("evx-agreement-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = evx(&["agreement", "example", "eu"]);
    assert!(good.status.success());
    let text = String::from_utf8(good.stdout).unwrap();

    // A misspelt key, and a semantic error.
    let cases = [
        (
            "misspelt.toml",
            text.replace("max_extensions = 1", "max_extentions = 1"),
            "max_extentions",
        ),
        (
            "zero.toml",
            text.replace("initial_days = 60", "initial_days = 0"),
            "preservation.initial_days",
        ),
    ];
    for (name, body, key) in cases {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        let out = evx(&["agreement", "check", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(stderr.contains(name), "{stderr}");
        assert!(stderr.contains(key), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn docs_policy_md_carries_the_rule_table() {
    let doc = std::fs::read_to_string(root().join("docs/policy.md")).expect("docs/policy.md");
    let start = "<!-- rules-table:start -->\n";
    let end = "<!-- rules-table:end -->";
    let table = doc
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(t, _)| t.trim())
        .expect("docs/policy.md has the rules-table markers");
    let out = evx(&["agreement", "rules"]);
    assert!(out.status.success());
    assert_eq!(
        table,
        String::from_utf8_lossy(&out.stdout).trim(),
        "docs/policy.md is out of date: replace its table with `evx agreement rules`"
    );
}
