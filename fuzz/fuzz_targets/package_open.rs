//! The whole EVX1 opener (`PackageReader::new(..)?.open(..)`, `VerifyOnly` staging, one
//! thread) on packages that get past HPKE authentication.
//!
//! Arbitrary bytes almost never authenticate, so the target builds a few real packages once
//! (fixed seeds, 4 KiB chunks) and lets the input pick one and edit it:
//!
//! ```text
//! byte 0   which base package (see `BASES`; 0xff picks the one with two batches of chunks)
//! byte 1   how the reader delivers bytes: low 4 bits = at most that many bytes per read
//!          (0 = all at once), bit 4 = every other read fails with `Interrupted`
//! rest     edit operations, each an opcode byte and its arguments (see `Op`)
//! ```
//!
//! Record-level edits (drop, duplicate, move, retype or resize a record) apply to the parsed
//! record list first, then byte-level edits (xor, insert, delete, truncate, append) to the
//! result. The raw input is also opened as a package on its own.
//!
//! Nothing may panic. Beyond that, an open that succeeds must be of an unforged base and of
//! exactly its bytes: an accepted package that differs from what was sealed would mean the
//! format is malleable, and an accepted forgery that the signature or digests are not checked.

#![no_main]

use std::io::{self, Read};
use std::ops::Range;
use std::sync::LazyLock;

use evx_protocol::crypto::{HpkeSecretKey, SigningKey, VerifyingKey};
use evx_protocol::ids::RequestId;
use evx_protocol::package::{
    Forgery, ItemSpec, MIN_CHUNK_SIZE, PackageReader, Parallelism, Sealer, VerifyOnly,
};
use evx_protocol::purpose::{DeclaredPurpose, Purpose};
use evx_protocol::sample;
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// One sealed package and where its records are.
struct Base {
    bytes: Vec<u8>,
    /// Magic, header length and header.
    prefix: Range<usize>,
    /// Each record (type, length, body).
    records: Vec<Range<usize>>,
    /// Built with a `Forgery`: must never open.
    forged: bool,
}

struct Fixture {
    recipient: HpkeSecretKey,
    sender: VerifyingKey,
    declared: DeclaredPurpose,
    bases: Vec<Base>,
    /// A package of two batches (1025 chunks): slow, so only byte 0 = 0xff picks it.
    large: Base,
}

enum Finish {
    Honest,
    Forged(Forgery),
}

fn records_of(bytes: &[u8]) -> (Range<usize>, Vec<Range<usize>>) {
    let header_len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
    let prefix = 0..6 + header_len;
    let mut records = Vec::new();
    let mut at = prefix.end;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
        records.push(at..at + 5 + len);
        at += 5 + len;
    }
    assert_eq!(at, bytes.len(), "the sealer wrote whole records");
    (prefix, records)
}

fn seal(
    sender: &SigningKey,
    recipient: &HpkeSecretKey,
    items: Vec<ItemSpec>,
    finish: Finish,
    seed: u64,
) -> Base {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let request = sample::production_request(RequestId::random(&mut rng));
    let mut params = sample::package_params(&request);
    params.chunk_size = MIN_CHUNK_SIZE;
    let total: u64 = items.iter().map(|i| i.length).sum();
    let mut sealer = Sealer::new(
        Vec::new(),
        params,
        items,
        sender,
        recipient.public_key(),
        &mut rng,
    )
    .expect("sample parameters seal")
    .with_parallelism(Parallelism::SingleThread);
    sealer
        .write_payload(&sample::payload(seed, total as usize))
        .expect("exactly the announced bytes");
    let forged = matches!(finish, Finish::Forged(_));
    let sealed = match finish {
        Finish::Honest => sealer.finish(),
        Finish::Forged(f) => sealer.finish_forged(f),
    }
    .expect("sealing to memory cannot fail");
    let bytes = sealed.writer;
    let (prefix, records) = records_of(&bytes);
    Base {
        bytes,
        prefix,
        records,
        forged,
    }
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut rng = ChaCha20Rng::seed_from_u64(0x0045_5658_6675_7a7a);
    let sender = SigningKey::generate(&mut rng);
    let recipient = HpkeSecretKey::generate(&mut rng);
    let other = SigningKey::generate(&mut rng);
    let cs = u64::from(MIN_CHUNK_SIZE);
    let three = || {
        vec![
            sample::item("subscribers.jsonl", "application/x-ndjson", 5000),
            sample::item("empty.bin", "application/octet-stream", 0),
            sample::item("traffic.csv", "text/csv", cs + 100),
        ]
    };
    let bases = vec![
        // 3 chunks: two full, a short final one; three items, one empty.
        seal(&sender, &recipient, three(), Finish::Honest, 1),
        // No items: a single empty final chunk.
        seal(&sender, &recipient, Vec::new(), Finish::Honest, 2),
        // Exactly two full chunks: the final chunk is empty.
        seal(
            &sender,
            &recipient,
            vec![sample::item(
                "two-chunks.bin",
                "application/octet-stream",
                2 * cs,
            )],
            Finish::Honest,
            3,
        ),
        // One short chunk.
        seal(
            &sender,
            &recipient,
            vec![sample::item("small.txt", "text/plain", 10)],
            Finish::Honest,
            4,
        ),
        seal(
            &sender,
            &recipient,
            three(),
            Finish::Forged(Forgery::SignWith(other.into())),
            5,
        ),
        seal(
            &sender,
            &recipient,
            three(),
            Finish::Forged(Forgery::CorruptSignature),
            6,
        ),
        seal(
            &sender,
            &recipient,
            three(),
            Finish::Forged(Forgery::WrongItemDigest),
            7,
        ),
    ];
    // 1024 chunks of 4 KiB fill one 4 MiB batch: one byte more spills into a second.
    let large = seal(
        &sender,
        &recipient,
        vec![
            sample::item("a.bin", "application/octet-stream", 1024 * cs - 7),
            sample::item("b.bin", "application/octet-stream", 8),
        ],
        Finish::Honest,
        8,
    );
    Fixture {
        sender: sender.verifying_key(),
        recipient,
        declared: DeclaredPurpose {
            case: sample::case_id(),
            purpose: Purpose::Investigation,
        },
        bases,
        large,
    }
});

/// Reads the input one argument at a time; missing bytes read as zero.
struct Args<'a>(&'a [u8]);

impl Args<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn u24(&mut self) -> usize {
        usize::from(self.u8()) << 16 | usize::from(self.u16())
    }

    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) << 16 | u32::from(self.u16())
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

/// One edit of the package.
enum Op {
    // Record level, on the list of records after the header.
    DropRecord(usize),
    DuplicateRecord { from: usize, to: usize },
    MoveRecord { from: usize, to: usize },
    SetRecordType { record: usize, kind: u8 },
    SetRecordLength { record: usize, len: u32 },
    // Byte level, on the whole package.
    Xor { at: usize, mask: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Truncate(usize),
    Append(Vec<u8>),
}

fn parse_ops(mut args: Args<'_>) -> Vec<Op> {
    let mut ops = Vec::new();
    while !args.0.is_empty() && ops.len() < 64 {
        let op = match args.u8() % 12 {
            0 => Op::DropRecord(args.u8().into()),
            1 => Op::DuplicateRecord {
                from: args.u8().into(),
                to: args.u8().into(),
            },
            2 => Op::MoveRecord {
                from: args.u8().into(),
                to: args.u8().into(),
            },
            3 => Op::SetRecordType {
                record: args.u8().into(),
                kind: args.u8(),
            },
            4 => Op::SetRecordLength {
                record: args.u8().into(),
                len: args.u32(),
            },
            5 | 6 => Op::Xor {
                at: args.u24(),
                mask: args.u8(),
            },
            7 => {
                let at = args.u24();
                let n = args.u8().into();
                Op::Insert {
                    at,
                    bytes: args.bytes(n).to_vec(),
                }
            }
            8 => Op::Delete {
                at: args.u24(),
                len: args.u16().into(),
            },
            9 => Op::Truncate(args.u24()),
            _ => {
                let n = args.u8().into();
                Op::Append(args.bytes(n).to_vec())
            }
        };
        ops.push(op);
    }
    ops
}

fn apply(base: &Base, ops: &[Op]) -> Vec<u8> {
    let mut records: Vec<Vec<u8>> = base
        .records
        .iter()
        .map(|r| base.bytes[r.clone()].to_vec())
        .collect();
    for op in ops {
        let n = records.len();
        match *op {
            Op::DropRecord(i) if n > 0 => {
                records.remove(i % n);
            }
            Op::DuplicateRecord { from, to } if n > 0 => {
                let r = records[from % n].clone();
                records.insert(to % (n + 1), r);
            }
            Op::MoveRecord { from, to } if n > 0 => {
                let r = records.remove(from % n);
                records.insert(to % n, r);
            }
            Op::SetRecordType { record, kind } if n > 0 => records[record % n][0] = kind,
            Op::SetRecordLength { record, len } if n > 0 => {
                records[record % n][1..5].copy_from_slice(&len.to_be_bytes());
            }
            _ => {}
        }
    }
    let mut bytes = base.bytes[base.prefix.clone()].to_vec();
    bytes.extend(records.concat());
    for op in ops {
        let len = bytes.len();
        match op {
            Op::Xor { at, mask } if len > 0 => bytes[at % len] ^= mask,
            Op::Insert { at, bytes: new } => {
                let at = at % (len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Op::Delete { at, len: n } if len > 0 => {
                let at = at % len;
                bytes.drain(at..(at + n).min(len));
            }
            Op::Truncate(at) => bytes.truncate(at % (len + 1)),
            Op::Append(new) => bytes.extend_from_slice(new),
            _ => {}
        }
    }
    bytes
}

/// Delivers at most `max` bytes per read (0 = no limit) and, if `interrupt`, fails every other
/// read with `Interrupted`, as a socket or pipe may.
struct Trickle<'a> {
    data: &'a [u8],
    max: usize,
    interrupt: bool,
    calls: u32,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls = self.calls.wrapping_add(1);
        if self.interrupt && self.calls.is_multiple_of(2) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let mut n = buf.len().min(self.data.len());
        if self.max > 0 {
            n = n.min(self.max);
        }
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// With `EVX_FUZZ_DEBUG` set, every outcome is printed to stderr: replay a corpus with
/// `-runs=0` to see which refusals it reaches.
static DEBUG: LazyLock<bool> = LazyLock::new(|| std::env::var_os("EVX_FUZZ_DEBUG").is_some());

fn open(f: &Fixture, what: &str, reader: impl Read) -> bool {
    let result = PackageReader::new(reader).and_then(|reader| {
        let reader = reader.with_parallelism(Parallelism::SingleThread);
        let _ = (reader.header(), reader.package_id());
        reader.open(&f.recipient, &f.sender, &f.declared, VerifyOnly)
    });
    if *DEBUG {
        match &result {
            Ok(_) => eprintln!("outcome {what}: opened"),
            Err(e) => eprintln!("outcome {what}: {e:?}"),
        }
    }
    result.is_ok()
}

fuzz_target!(|data: &[u8]| {
    let f = &*FIXTURE;

    // The raw input as a package.
    let _ = open(f, "raw", data);

    let mut args = Args(data);
    let which = args.u8();
    let mode = args.u8();
    let base = if which == 0xff {
        &f.large
    } else {
        &f.bases[usize::from(which) % f.bases.len()]
    };
    let ops = parse_ops(args);
    let package = apply(base, &ops);
    let reader = Trickle {
        data: &package,
        max: usize::from(mode & 0x0f),
        interrupt: mode & 0x10 != 0,
        calls: 0,
    };
    if open(f, "edited", reader) {
        assert!(!base.forged, "a forged package opened");
        assert!(
            package == base.bytes,
            "a package that differs from the sealed one opened ({} bytes, sealed {})",
            package.len(),
            base.bytes.len()
        );
    }
});
