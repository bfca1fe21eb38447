//! Writes the EVX1 test vectors in `tests/vectors/package/`, deterministically.
//!
//! ```text
//! cargo run -p evx-protocol --features forgery --example gen-package-vectors [-- OUT_DIR]
//! ```
//!
//! Each file is self-describing: `name: value` header lines (what to expect, the keys to open
//! with, the declared purpose, the payload digest, a comment), one blank line, then the raw
//! package bytes. There is one file per good case and at least one per refusal case of
//! `docs/package-format.md` §8. The same seeds give the same bytes on every run.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evx_protocol::crypto::{HpkeSecretKey, SigningKey, sha256};
use evx_protocol::ids::{CaseId, RequestId};
use evx_protocol::package::{Forgery, ItemSpec, PackageParams, Sealer};
use evx_protocol::purpose::Purpose;
use evx_protocol::sample;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Keys {
    sender: SigningKey,
    recipient: HpkeSecretKey,
    stranger_sender: SigningKey,
    stranger_recipient: HpkeSecretKey,
}

fn keys() -> Keys {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6576_7831);
    Keys {
        sender: SigningKey::generate(&mut rng),
        recipient: HpkeSecretKey::generate(&mut rng),
        stranger_sender: SigningKey::generate(&mut rng),
        stranger_recipient: HpkeSecretKey::generate(&mut rng),
    }
}

fn params(chunk_size: u32) -> PackageParams {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let request = sample::production_request(RequestId::random(&mut rng));
    PackageParams {
        chunk_size,
        ..sample::package_params(&request)
    }
}

struct Package {
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
}

fn seal(
    params: PackageParams,
    items: Vec<ItemSpec>,
    sender: &SigningKey,
    recipient: &HpkeSecretKey,
    forgery: Option<Forgery>,
) -> Package {
    let total: u64 = items.iter().map(|i| i.length).sum();
    let plaintext = sample::payload(total, total as usize);
    let mut rng = ChaCha20Rng::seed_from_u64(total ^ 0x5eed);
    let mut s = Sealer::new(
        Vec::new(),
        params,
        items,
        sender,
        recipient.public_key(),
        &mut rng,
    )
    .expect("valid parameters");
    s.write_payload(&plaintext).expect("lengths match");
    let sealed = match forgery {
        None => s.finish(),
        Some(f) => s.finish_forged(f),
    }
    .expect("sealing to memory cannot fail");
    Package {
        bytes: sealed.writer,
        plaintext,
    }
}

/// (start, end, type) of every record after the header.
fn records(p: &[u8]) -> Vec<(usize, usize, u8)> {
    let mut at = 6 + usize::from(u16::from_be_bytes([p[4], p[5]]));
    let mut out = Vec::new();
    while at < p.len() {
        let len = u32::from_be_bytes([p[at + 1], p[at + 2], p[at + 3], p[at + 4]]) as usize;
        out.push((at, at + 5 + len, p[at]));
        at += 5 + len;
    }
    out
}

fn chunk(p: &[u8], n: usize) -> (usize, usize) {
    let c: Vec<_> = records(p).into_iter().filter(|r| r.2 == b'C').collect();
    (c[n].0, c[n].1)
}

fn trailer(p: &[u8]) -> (usize, usize) {
    let r = records(p)
        .into_iter()
        .find(|r| r.2 == b'T')
        .expect("a trailer");
    (r.0, r.1)
}

struct Vector<'a> {
    name: &'a str,
    comment: &'a str,
    /// `None` for success, else the refusal code.
    error: Option<&'a str>,
    opener: &'a HpkeSecretKey,
    expected_sender: &'a SigningKey,
    case: CaseId,
    purpose: Purpose,
    plaintext: Option<&'a [u8]>,
    bytes: Vec<u8>,
}

fn write(dir: &std::path::Path, v: Vector<'_>) {
    let mut head = String::new();
    match v.error {
        None => head.push_str("expect: success\n"),
        Some(code) => head.push_str(&format!("expect: error\nerror: {code}\n")),
    }
    head.push_str(&format!("comment: {}\n", v.comment));
    head.push_str(&format!(
        "recipient-key: {}\n",
        STANDARD.encode(*v.opener.to_bytes())
    ));
    head.push_str(&format!(
        "sender-key: {}\n",
        STANDARD.encode(v.expected_sender.verifying_key().to_bytes())
    ));
    head.push_str(&format!("case: {}\npurpose: {}\n", v.case, v.purpose));
    if let Some(p) = v.plaintext {
        head.push_str(&format!(
            "length: {}\npayload: {}\n",
            p.len(),
            hex(&sha256(p))
        ));
    }
    head.push('\n');
    let mut out = head.into_bytes();
    out.extend_from_slice(&v.bytes);
    std::fs::write(dir.join(v.name), out).expect("write vector");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/package"));
    std::fs::create_dir_all(&dir).expect("create the output directory");
    for entry in std::fs::read_dir(&dir).expect("list the output directory") {
        let path = entry.expect("directory entry").path();
        if path.is_file() {
            std::fs::remove_file(path).expect("remove an old vector");
        }
    }
    let k = keys();
    let case = sample::case_id();
    let inv = Purpose::Investigation;
    let item = |name: &str, len: u64| sample::item(name, "application/octet-stream", len);
    let good = |name: &str, comment: &str, cs: u32, items: Vec<ItemSpec>| {
        let p = seal(params(cs), items, &k.sender, &k.recipient, None);
        write(
            &dir,
            Vector {
                name,
                comment,
                error: None,
                opener: &k.recipient,
                expected_sender: &k.sender,
                case: case.clone(),
                purpose: inv,
                plaintext: Some(&p.plaintext),
                bytes: p.bytes,
            },
        );
    };
    let c = 4096u64;
    good(
        "good_empty",
        "empty payload: one empty final chunk",
        4096,
        vec![item("empty.bin", 0)],
    );
    good(
        "good_one_byte",
        "one byte: one short final chunk",
        4096,
        vec![item("one.bin", 1)],
    );
    good(
        "good_chunk_minus_one",
        "chunk size - 1 bytes: one short final chunk",
        4096,
        vec![item("a.bin", c - 1)],
    );
    good(
        "good_chunk_exact",
        "exactly one chunk: a full chunk then an empty final chunk",
        4096,
        vec![item("a.bin", c)],
    );
    good(
        "good_chunk_plus_one",
        "chunk size + 1: a full chunk then a one-byte final chunk",
        4096,
        vec![item("a.bin", c + 1)],
    );
    good(
        "good_multi_item",
        "three items, one empty, crossing chunk boundaries",
        4096,
        vec![
            item("subscribers.jsonl", 700),
            item("empty.txt", 0),
            item("traffic.jsonl", 3 * c + 5),
        ],
    );
    good(
        "good_default_chunk_size",
        "64 KiB chunks, 65537 bytes",
        65_536,
        vec![item("a.bin", 65_537)],
    );

    // Further purposes in the conditions.
    let mut wide = params(4096);
    wide.conditions.further_purposes.push(Purpose::Prosecution);
    let p = seal(
        wide,
        vec![item("a.bin", 100)],
        &k.sender,
        &k.recipient,
        None,
    );
    write(
        &dir,
        Vector {
            name: "good_further_purpose",
            comment: "conditions also allow prosecution; opened for prosecution",
            error: None,
            opener: &k.recipient,
            expected_sender: &k.sender,
            case: case.clone(),
            purpose: Purpose::Prosecution,
            plaintext: Some(&p.plaintext),
            bytes: p.bytes,
        },
    );

    // The base package every mutation starts from: 3 full chunks and a short final one.
    let base = seal(
        params(4096),
        vec![item("a.bin", 2 * c), item("b.bin", c + 100)],
        &k.sender,
        &k.recipient,
        None,
    );
    let bad = |name: &str, comment: &str, code: &str, bytes: Vec<u8>| {
        write(
            &dir,
            Vector {
                name,
                comment,
                error: Some(code),
                opener: &k.recipient,
                expected_sender: &k.sender,
                case: case.clone(),
                purpose: inv,
                plaintext: None,
                bytes,
            },
        );
    };
    let b = &base.bytes;
    write(
        &dir,
        Vector {
            name: "purpose_other_purpose",
            comment: "tagged for investigation only; opened for prosecution",
            error: Some("purpose-refused"),
            opener: &k.recipient,
            expected_sender: &k.sender,
            case: case.clone(),
            purpose: Purpose::Prosecution,
            plaintext: None,
            bytes: b.clone(),
        },
    );
    write(
        &dir,
        Vector {
            name: "purpose_other_case",
            comment: "bound to one case; opened for another",
            error: Some("purpose-refused"),
            opener: &k.recipient,
            expected_sender: &k.sender,
            case: CaseId::new("FR-PNC/2026/77").expect("valid"),
            purpose: inv,
            plaintext: None,
            bytes: b.clone(),
        },
    );

    let p = seal(
        params(4096),
        vec![item("a.bin", 100)],
        &k.sender,
        &k.stranger_recipient,
        None,
    );
    bad(
        "wrong_recipient",
        "sealed to another party's HPKE key",
        "wrong-recipient",
        p.bytes,
    );
    let p = seal(
        params(4096),
        vec![item("a.bin", 100)],
        &k.stranger_sender,
        &k.recipient,
        None,
    );
    bad(
        "sender_unexpected",
        "sealed and signed by a sender other than the expected one",
        "unexpected-sender",
        p.bytes,
    );

    let mut m = b.clone();
    m[..4].copy_from_slice(b"EVX2");
    bad("bad_magic", "magic bytes are not EVX1", "bad-magic", m);

    // Header alterations that still decode: the request id and the encapsulated key.
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let rid = RequestId::random(&mut rng);
    let at = b
        .windows(16)
        .position(|w| w == rid.as_bytes())
        .expect("request id in header");
    let mut m = b.clone();
    m[at] ^= 0x01;
    bad(
        "header_request_id_altered",
        "one bit of the header's request id flipped",
        "header-altered",
        m,
    );
    let hlen = 6 + usize::from(u16::from_be_bytes([b[4], b[5]]));
    let mut m = b.clone();
    m[hlen - 1] ^= 0x01;
    bad(
        "header_enc_altered",
        "last byte of the HPKE encapsulated key flipped",
        "header-altered",
        m,
    );

    let mut m = b.clone();
    m[6] = 2;
    bad(
        "unsupported_version",
        "header version byte set to 2",
        "unsupported-version",
        m,
    );
    let (i0, _, _) = records(b)[0];
    let mut m = b.clone();
    m[i0] = b'X';
    bad(
        "malformed_record_type",
        "the index record's type byte replaced by 'X'",
        "malformed",
        m,
    );

    let (c0s, c0e) = chunk(b, 0);
    let mut m = b.clone();
    m[c0s + 1..c0s + 5].copy_from_slice(&(4096u32 + 17).to_be_bytes());
    bad(
        "malformed_chunk_too_long",
        "chunk 0's record length one byte over chunk size + tag",
        "malformed",
        m,
    );
    let (c1s, c1e) = chunk(b, 1);
    let (c3s, c3e) = chunk(b, 3);
    let (ts, te) = trailer(b);

    let mut m = b.clone();
    m[c1s + 10] ^= 0x80;
    bad(
        "chunk_altered",
        "one ciphertext byte of chunk 1 flipped",
        "chunk-rejected",
        m,
    );
    let mut m = b[..c0s].to_vec();
    m.extend_from_slice(&b[c1s..c1e]);
    m.extend_from_slice(&b[c0s..c0e]);
    m.extend_from_slice(&b[c1e..]);
    bad(
        "chunks_reordered",
        "chunks 0 and 1 swapped",
        "chunk-rejected",
        m,
    );
    let mut m = b[..c1s].to_vec();
    m.extend_from_slice(&b[c1e..]);
    bad("chunk_dropped", "chunk 1 removed", "chunk-rejected", m);
    let mut m = b[..c1s].to_vec();
    m.extend_from_slice(&b[c0s..c0e]);
    m.extend_from_slice(&b[c1s..]);
    bad(
        "chunk_duplicated",
        "chunk 0 repeated in position 1",
        "chunk-rejected",
        m,
    );

    bad(
        "truncated_no_final_chunk",
        "cut after the third full chunk: no final chunk, no trailer",
        "truncated",
        b[..c3s].to_vec(),
    );
    let mut m = b[..c3s].to_vec();
    m.extend_from_slice(&b[ts..te]);
    bad(
        "truncated_final_chunk_dropped",
        "the final chunk removed, the trailer kept",
        "truncated",
        m,
    );
    bad(
        "truncated_mid_chunk",
        "cut in the middle of chunk 1",
        "truncated",
        b[..c1s + 100].to_vec(),
    );
    bad(
        "truncated_mid_trailer",
        "cut in the middle of the trailer",
        "truncated",
        b[..ts + 20].to_vec(),
    );

    let mut m = b[..c3e].to_vec();
    m.extend_from_slice(&b[c0s..c0e]);
    m.extend_from_slice(&b[ts..te]);
    bad(
        "extended_chunk_after_final",
        "a copy of chunk 0 appended after the final chunk",
        "extended",
        m,
    );
    let mut m = b.clone();
    m.extend_from_slice(b"appended");
    bad(
        "extended_bytes_after_trailer",
        "eight bytes appended after the trailer",
        "extended",
        m,
    );

    bad(
        "signature_missing",
        "the signed trailer removed",
        "missing-signature",
        b[..ts].to_vec(),
    );
    let mut m = b.clone();
    m[te - 1] ^= 0x01;
    bad(
        "trailer_altered",
        "last byte of the sealed trailer flipped",
        "trailer-altered",
        m,
    );

    let forged = |f| {
        seal(
            params(4096),
            vec![item("a.bin", c + 1)],
            &k.sender,
            &k.recipient,
            Some(f),
        )
        .bytes
    };
    bad(
        "signature_bad",
        "the manifest signature corrupted before sealing",
        "bad-signature",
        forged(Forgery::CorruptSignature),
    );
    bad(
        "signature_foreign",
        "header names the expected sender, but the manifest is signed by another key",
        "foreign-signature",
        forged(Forgery::SignWith(Box::new(k.stranger_sender.clone()))),
    );
    bad(
        "manifest_item_digest_wrong",
        "the signed manifest states a wrong item digest",
        "manifest-mismatch",
        forged(Forgery::WrongItemDigest),
    );
    println!(
        "wrote {} vectors to {}",
        std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0),
        dir.display()
    );
}
