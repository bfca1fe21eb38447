//! `evx demo`: one request's life on this machine, with every check made for real. The package
//! is sealed to a temporary file and opened from it, so memory stays flat whatever its size.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use evx_protocol::crypto::{HpkeSecretKey, SigningKey};
use evx_protocol::document::{
    Acknowledgement, AuthorityType, EvidenceRequest, Outcome, Proceeding, Selector, Signed,
};
use evx_protocol::frame::Message;
use evx_protocol::ids::{CaseId, RequestId, UnixTime};
use evx_protocol::package::{PackageReader, Sealer, VerifyOnly};
use evx_protocol::policy::{
    self, Agreement, Channel, Intake, KeyRole, Registry, Trace, TrustedKey, Verdict,
};
use evx_protocol::purpose::{DeclaredPurpose, Purpose};
use evx_protocol::sample;

/// Options of `evx demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Size of the evidence package to seal and open, in MiB (at most 1 TiB).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    mib: u64,
}

type Error = Box<dyn std::error::Error>;

fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

fn mib_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs.max(1e-9)
}

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    // The operating system's random source; a failure there is fatal, hence UnwrapErr.
    let rng = &mut evx_protocol::rand_core::UnwrapErr(getrandom::SysRng);

    println!("evx demo: one request between two parties, on this machine\n");
    let requesting_doc = SigningKey::generate(rng);
    let requesting_hpke = HpkeSecretKey::generate(rng);
    let requested_doc = SigningKey::generate(rng);
    println!(
        "  requesting party {}: document key {}",
        sample::requesting_party(),
        requesting_doc.id()
    );
    println!(
        "  requested party  {}: document key {}\n",
        sample::requested_party(),
        requested_doc.id()
    );

    // 1. The requesting party signs and frames a request.
    let mut request = sample::production_request(RequestId::random(rng));
    request.issued_at = now();
    let frame = Message::Request(Signed::sign(&request, &requesting_doc)?).encode();
    println!(
        "1. request {} signed and framed: {} bytes",
        request.request_id,
        frame.len()
    );

    // 2. The requested party decodes, verifies and acknowledges it.
    let Message::Request(signed) = Message::decode(&frame)? else {
        return Err("the frame did not hold a request".into());
    };
    let received = signed.verify(&requesting_doc.verifying_key())?;
    let ack = Acknowledgement {
        v: 1,
        request_id: received.request_id,
        request_digest: signed.digest(),
        received_at: now(),
        log_entry: None,
    };
    let ack_frame = Message::Acknowledgement(Signed::sign(&ack, &requested_doc)?).encode();
    println!(
        "2. request verified ({} for case {}); acknowledgement: {} bytes",
        received.offence.statute,
        received.case_id,
        ack_frame.len()
    );

    // 2b. It evaluates the request against the agreement, with the judge's validation.
    let judge = SigningKey::generate(rng);
    let agreement = Agreement::from_toml(policy::examples::EU_2023_1543, "eu-2023-1543.toml")?;
    let mut registry = Registry::new();
    registry
        .add(TrustedKey {
            key: requesting_doc.verifying_key(),
            party: received.requesting_party.clone(),
            role: KeyRole::Documents,
        })
        .add(TrustedKey {
            key: judge.verifying_key(),
            party: received.requesting_party.clone(),
            role: KeyRole::JudicialAuthority {
                authority: "Amtsgericht Tiergarten".into(),
                authority_type: AuthorityType::InvestigatingJudge,
            },
        });
    // Signing is deterministic: the request signed again is the very request received, so the
    // judge's validation of it is bound to the same digest.
    let evaluate = |request: &EvidenceRequest, validated: bool| {
        let signed = Signed::sign(request, &requesting_doc)?;
        let validations = if validated {
            vec![Signed::sign(&sample::validation(&signed, request), &judge)?]
        } else {
            Vec::new()
        };
        let intake = Intake::new(&signed, request, ack.received_at, Channel::MUTUAL_TLS)
            .with_log_index(0)
            .with_validations(&validations);
        Ok::<Trace, Error>(policy::evaluate(&agreement, &registry, &intake))
    };
    let trace = evaluate(&received, true)?;
    let count = |v: Verdict| trace.results.iter().filter(|r| r.verdict == v).count();
    println!(
        "   policy under agreement {}: {} rules pass, {} fail, {} need review, {} do not apply → {}",
        agreement.id,
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::NeedsReview),
        count(Verdict::NotApplicable),
        policy::summary(&trace),
    );
    let decision = trace
        .decision(ack.received_at)
        .ok_or("the engine could not decide the sample request")?;
    let Outcome::Accept { conditions } = &decision.outcome else {
        return Err(format!(
            "the sample request was not accepted ({}); nothing is sealed",
            policy::summary(&trace)
        )
        .into());
    };
    for note in &conditions.notes {
        println!("     condition: {note}");
    }
    if let Some(release) = decision.due.release_not_before {
        return Err(format!(
            "release is held until {release} (the enforcing authority's window); nothing is \
             sealed before then"
        )
        .into());
    }
    if let Some(deliver) = decision.due.deliver_by {
        println!("     deliver by {deliver}");
    }

    // 3. It seals evidence to the requesting party.
    let len = args
        .mib
        .checked_mul(1024 * 1024)
        .ok_or("--mib is too large")?;
    let subscriber =
        b"{\"account\":\"k.lenz\",\"name\":\"K. Lenz\",\"since\":\"2024-02-11\"}\n".to_vec();
    let items = vec![
        sample::item(
            "subscribers.jsonl",
            "application/x-ndjson",
            subscriber.len() as u64,
        ),
        sample::item("traffic.jsonl", "application/x-ndjson", len),
    ];
    let traffic = sample::payload(42, 1024 * 1024);
    let mut params = sample::package_params(&received);
    params.created_at = now();
    let started = Instant::now();
    let dir = TempDir::new()?;
    let path = dir.0.join("package.evx1");
    let out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    let mut sealer = Sealer::new(
        out,
        params,
        items,
        &requested_doc,
        requesting_hpke.public_key(),
        rng,
    )?;
    sealer.write_payload(&subscriber)?;
    let mut left = len;
    while left > 0 {
        let n = left.min(traffic.len() as u64) as usize;
        sealer.write_payload(&traffic[..n])?;
        left -= n as u64;
    }
    let sealed = sealer.finish()?;
    sealed
        .writer
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    let seal_time = started.elapsed().as_secs_f64();
    let package_len = std::fs::metadata(&path)?.len();
    println!(
        "3. package {} sealed: {} items, {} bytes, {:.0} MiB/s",
        sealed.package_id,
        sealed.manifest.items.len(),
        package_len,
        mib_per_s(sealed.manifest.length, seal_time)
    );

    // 4. The requesting party opens it for its declared purpose.
    let investigation = DeclaredPurpose {
        case: received.case_id.clone(),
        purpose: Purpose::Investigation,
    };
    let started = Instant::now();
    let opened = PackageReader::new(open_file(&path)?)?.open(
        &requesting_hpke,
        &requested_doc.verifying_key(),
        &investigation,
        VerifyOnly,
    )?;
    let open_time = started.elapsed().as_secs_f64();
    println!(
        "4. opened for {} of case {}: signature, Merkle root {} and {} item digests verified, {:.0} MiB/s",
        investigation.purpose,
        investigation.case,
        &opened
            .manifest
            .root
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..16],
        opened.manifest.items.len(),
        mib_per_s(opened.manifest.length, open_time)
    );

    // 5. What evx refuses.
    println!("5. refusals:");
    let refuse = |what: &str, package: Box<dyn Read>, declared: &DeclaredPurpose| {
        let outcome = PackageReader::new(package).and_then(|r| {
            r.open(
                &requesting_hpke,
                &requested_doc.verifying_key(),
                declared,
                VerifyOnly,
            )
        });
        match outcome {
            Ok(_) => println!("   {what}: ACCEPTED (unexpected)"),
            Err(e) => println!("   {what}: refused — {e}"),
        }
    };
    let prosecution = DeclaredPurpose {
        case: received.case_id.clone(),
        purpose: Purpose::Prosecution,
    };
    refuse("opening for prosecution", open_file(&path)?, &prosecution);
    let other = DeclaredPurpose {
        case: CaseId::new("FR-PNC/2026/77")?,
        purpose: Purpose::Investigation,
    };
    refuse("opening for another case", open_file(&path)?, &other);
    let flipped = FlipByte {
        inner: open_file(&path)?,
        at: package_len / 2,
        pos: 0,
    };
    refuse(
        "one bit flipped mid-payload",
        Box::new(flipped),
        &investigation,
    );
    let cut = open_file(&path)?.take(package_len - 100);
    refuse("last 100 bytes cut off", Box::new(cut), &investigation);
    let mut tampered = frame.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    match Message::decode(&tampered) {
        Ok(Message::Request(s)) => match s.verify(&requesting_doc.verifying_key()) {
            Ok(_) => println!("   altered request: ACCEPTED (unexpected)"),
            Err(e) => println!("   altered request: refused — {e}"),
        },
        Ok(_) => println!("   altered request: decoded as another kind (unexpected)"),
        Err(e) => println!("   altered request: refused — {e}"),
    }
    println!("6. what the policy engine does not let through:");
    let show = |what: &str, request: &EvidenceRequest, validated: bool| {
        let trace = evaluate(request, validated)?;
        let first = trace
            .results
            .iter()
            .find(|r| matches!(r.verdict, Verdict::Fail | Verdict::NeedsReview));
        let Some(decision) = trace.decision(ack.received_at) else {
            println!("   {what}: not decided — {}", policy::summary(&trace));
            return Ok(());
        };
        let outcome = match &decision.outcome {
            Outcome::PendingReview { due_at, .. } => format!(
                "{}; a reviewer decides by {due_at}",
                policy::summary(&trace)
            ),
            Outcome::Incomplete { missing } => {
                format!("returned incomplete ({} field(s))", missing.len())
            }
            Outcome::Refuse { .. } => "refused".to_owned(),
            other => format!("{other:?}"),
        };
        match first {
            Some(r) => println!("   {what}: {} — {}: {}", outcome, r.rule, r.explanation),
            None => println!("   {what}: {outcome} (unexpected)"),
        }
        Ok::<(), Error>(())
    };
    show(
        "traffic data without the judge's validation",
        &received,
        false,
    )?;
    let mut bulk = received.clone();
    bulk.selectors.push(Selector::Keyword("ransomware".into()));
    show("a keyword selector", &bulk, true)?;
    let mut civil = received.clone();
    civil.proceeding = Proceeding::Civil;
    show("a civil case", &civil, true)?;
    let mut vague = received.clone();
    vague.offence.statute.clear();
    show("no criminal provision named", &vague, true)?;
    println!("\nThe two-node demo over QUIC, with the audit log and review queue, builds on this.");
    Ok(())
}

fn open_file(path: &Path) -> std::io::Result<Box<dyn Read>> {
    Ok(Box::new(BufReader::with_capacity(
        1 << 20,
        File::open(path)?,
    )))
}

/// A reader that flips the lowest bit of one byte in transit: a line-noise stand-in.
struct FlipByte {
    inner: Box<dyn Read>,
    at: u64,
    pos: u64,
}

impl Read for FlipByte {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if (self.pos..self.pos + n as u64).contains(&self.at) {
            buf[(self.at - self.pos) as usize] ^= 1;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("evx-demo-{}-{nonce}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
