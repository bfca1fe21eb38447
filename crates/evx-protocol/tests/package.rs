//! Seal → open round trips, every refusal case, and single-byte tampering anywhere.

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use evx_protocol::crypto::{HpkeSecretKey, SigningKey};
use evx_protocol::ids::{CaseId, RequestId};
use evx_protocol::package::{
    ItemSpec, Manifest, MemoryStaging, OpenError, PackageParams, PackageReader, Parallelism,
    SealError, Sealer, Staging,
};
use evx_protocol::purpose::{DeclaredPurpose, Purpose};
use evx_protocol::sample;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Fixture {
    sender: SigningKey,
    recipient: HpkeSecretKey,
    params: PackageParams,
}

fn fixture(chunk_size: u32) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let sender = SigningKey::generate(&mut rng);
    let recipient = HpkeSecretKey::generate(&mut rng);
    let request = sample::production_request(RequestId::random(&mut rng));
    let mut params = sample::package_params(&request);
    params.chunk_size = chunk_size;
    Fixture {
        sender,
        recipient,
        params,
    }
}

impl Fixture {
    /// A sealer from the fixture's sender to its recipient, with its own seeded randomness.
    fn sealer<W: io::Write>(
        &self,
        out: W,
        items: Vec<ItemSpec>,
        seed: u64,
    ) -> Result<Sealer<W>, SealError> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        Sealer::new(
            out,
            self.params.clone(),
            items,
            &self.sender,
            self.recipient.public_key(),
            &mut rng,
        )
    }
}

fn investigation() -> DeclaredPurpose {
    DeclaredPurpose {
        case: sample::case_id(),
        purpose: Purpose::Investigation,
    }
}

fn split_items(total: usize, parts: usize) -> Vec<ItemSpec> {
    // Uneven sizes, including empty items, summing to `total`.
    let mut left = total;
    (0..parts)
        .map(|i| {
            let len = if i + 1 == parts {
                left
            } else {
                (total / (parts + i)).min(left)
            };
            left -= len;
            sample::item(
                &format!("item-{i}.bin"),
                "application/octet-stream",
                len as u64,
            )
        })
        .collect()
}

fn seal(f: &Fixture, items: Vec<ItemSpec>, data: &[u8], par: Parallelism) -> Vec<u8> {
    let mut s = f
        .sealer(Vec::new(), items, 99)
        .unwrap()
        .with_parallelism(par);
    // Feed in uneven pieces so batch boundaries fall mid-write.
    for piece in data.chunks(77_777) {
        s.write_payload(piece).unwrap();
    }
    let sealed = s.finish().unwrap();
    assert_eq!(sealed.package_len, sealed.writer.len() as u64);
    sealed.writer
}

fn open(f: &Fixture, package: &[u8]) -> Result<(Manifest, Vec<u8>), OpenError> {
    let reader = PackageReader::new(package)?;
    let opened = reader.open(
        &f.recipient,
        &f.sender.verifying_key(),
        &investigation(),
        MemoryStaging::with_limit(1 << 30),
    )?;
    Ok((opened.manifest, opened.committed))
}

#[test]
fn round_trips_at_chunk_boundaries() {
    for cs in [4096u32, 65_536, 1 << 20] {
        let f = fixture(cs);
        let c = cs as usize;
        for len in [
            0,
            1,
            c - 1,
            c,
            c + 1,
            2 * c,
            3 * c - 1,
            5 * 1024 * 1024 + 17,
        ] {
            let data = sample::payload(len as u64, len);
            for parts in [1, 3] {
                for par in [Parallelism::TwoThreads, Parallelism::SingleThread] {
                    let package = seal(&f, split_items(len, parts), &data, par);
                    let (manifest, plain) =
                        open(&f, &package).unwrap_or_else(|e| panic!("cs {cs} len {len}: {e}"));
                    assert_eq!(plain, data, "cs {cs} len {len}");
                    assert_eq!(manifest.length, len as u64);
                    // The final chunk is always shorter than a full one: len / cs + 1 chunks.
                    assert_eq!(manifest.chunk_count, (len / c + 1) as u64);
                    for (item, range) in manifest.items.iter().zip(manifest.item_ranges()) {
                        let bytes = &data[range.start as usize..range.end as usize];
                        assert_eq!(item.sha256, evx_protocol::crypto::sha256(bytes));
                    }
                }
            }
        }
    }
}

#[test]
fn the_helper_thread_changes_no_byte() {
    // Several 4 MiB batches, items crossing batch boundaries, an empty final chunk: the
    // two-thread sealer must write exactly what the one-thread sealer writes.
    let mib = 1024 * 1024;
    for (cs, len) in [
        (4096, 9 * mib),
        (4096, 4 * mib),
        (4096, 8 * mib + 1),
        (1 << 20, 9 * mib + 5),
    ] {
        let f = fixture(cs);
        let data = sample::payload(11, len);
        let a = seal(&f, split_items(len, 4), &data, Parallelism::TwoThreads);
        let b = seal(&f, split_items(len, 4), &data, Parallelism::SingleThread);
        assert!(
            a == b,
            "the two sealers disagree (chunk size {cs}, {len} bytes)"
        );
        let (_, plain) = open(&f, &a).unwrap();
        assert!(plain == data);
    }
}

#[test]
fn dropping_a_sealer_mid_package_neither_hangs_nor_panics() {
    let f = fixture(4096);
    let len = 12 << 20;
    let mut s = f.sealer(Vec::new(), split_items(len, 1), 6).unwrap();
    // Two batches handed to the helper, the second still in flight when the sealer goes.
    s.write_payload(&sample::payload(1, 9 << 20)).unwrap();
    drop(s);
}

#[test]
fn sealing_is_deterministic_given_the_rng() {
    let f = fixture(4096);
    let data = sample::payload(1, 10_000);
    let a = seal(&f, split_items(10_000, 2), &data, Parallelism::TwoThreads);
    let b = seal(&f, split_items(10_000, 2), &data, Parallelism::SingleThread);
    assert_eq!(a, b);
}

#[test]
fn sealer_checks_what_it_is_given() {
    let f = fixture(4096);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let new = |items, cs, rng: &mut ChaCha20Rng| {
        let mut p = f.params.clone();
        p.chunk_size = cs;
        Sealer::new(
            Vec::new(),
            p,
            items,
            &f.sender,
            f.recipient.public_key(),
            rng,
        )
    };
    assert!(matches!(
        new(vec![], 5000, &mut rng),
        Err(SealError::BadChunkSize(5000))
    ));
    let bad = vec![sample::item("../etc/passwd", "text/plain", 1)];
    assert!(matches!(
        new(bad, 4096, &mut rng),
        Err(SealError::BadItem { .. })
    ));
    let mut s = new(vec![sample::item("a", "text/plain", 3)], 4096, &mut rng).unwrap();
    assert!(matches!(
        s.write_payload(b"abcd"),
        Err(SealError::TooMuchData {
            written: 4,
            announced: 3
        })
    ));
    let mut s = new(vec![sample::item("a", "text/plain", 3)], 4096, &mut rng).unwrap();
    s.write_payload(b"ab").unwrap();
    assert!(matches!(
        s.finish(),
        Err(SealError::TooLittleData {
            written: 2,
            announced: 3
        })
    ));
}

/// Records whether opened plaintext was committed or discarded.
struct Spy {
    committed: Rc<Cell<bool>>,
    discarded: Rc<Cell<bool>>,
}

impl Staging for Spy {
    type Committed = ();
    fn write(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn commit(self, _: &Manifest) -> io::Result<()> {
        self.committed.set(true);
        Ok(())
    }
    fn discard(self) {
        self.discarded.set(true);
    }
}

#[test]
fn unverified_plaintext_is_discarded_never_committed() {
    let f = fixture(4096);
    let data = sample::payload(3, 20_000);
    let mut package = seal(&f, split_items(20_000, 1), &data, Parallelism::SingleThread);
    let cut = package.len() - 10;
    package.truncate(cut);
    let (committed, discarded) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let spy = Spy {
        committed: committed.clone(),
        discarded: discarded.clone(),
    };
    let r = PackageReader::new(&package[..]).unwrap().open(
        &f.recipient,
        &f.sender.verifying_key(),
        &investigation(),
        spy,
    );
    assert!(r.is_err());
    assert!(!committed.get());
    assert!(discarded.get());
}

#[test]
fn purpose_and_parties_are_checked_before_decryption() {
    let f = fixture(4096);
    let package = seal(
        &f,
        split_items(100, 1),
        &sample::payload(4, 100),
        Parallelism::SingleThread,
    );
    let spy = || Spy {
        committed: Rc::new(Cell::new(false)),
        discarded: Rc::new(Cell::new(false)),
    };
    let reader = || PackageReader::new(&package[..]).unwrap();
    let prosecution = DeclaredPurpose {
        case: sample::case_id(),
        purpose: Purpose::Prosecution,
    };
    assert!(matches!(
        reader().open(&f.recipient, &f.sender.verifying_key(), &prosecution, spy()),
        Err(OpenError::PurposeRefused(_))
    ));
    let other_case = DeclaredPurpose {
        case: CaseId::new("other").unwrap(),
        purpose: Purpose::Investigation,
    };
    assert!(matches!(
        reader().open(&f.recipient, &f.sender.verifying_key(), &other_case, spy()),
        Err(OpenError::PurposeRefused(_))
    ));
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let stranger = HpkeSecretKey::generate(&mut rng);
    assert!(matches!(
        reader().open(
            &stranger,
            &f.sender.verifying_key(),
            &investigation(),
            spy()
        ),
        Err(OpenError::WrongRecipient { .. })
    ));
    let impostor = SigningKey::generate(&mut rng);
    assert!(matches!(
        reader().open(
            &f.recipient,
            &impostor.verifying_key(),
            &investigation(),
            spy()
        ),
        Err(OpenError::UnexpectedSender { .. })
    ));
}

#[test]
fn every_single_byte_flip_is_detected() {
    // A small package with a 4 KiB chunk size: three chunks, two items. Every byte of it, from
    // the magic to the last byte of the trailer, is flipped in turn.
    let f = fixture(4096);
    let data = sample::payload(5, 9000);
    let package = seal(&f, split_items(9000, 2), &data, Parallelism::SingleThread);
    assert!(open(&f, &package).is_ok());
    let mut bad = package.clone();
    for i in 0..package.len() {
        bad[i] ^= 0x01;
        assert!(
            open(&f, &bad).is_err(),
            "flipping bit 0 of byte {i} went unnoticed"
        );
        bad[i] ^= 0x81;
        assert!(
            open(&f, &bad).is_err(),
            "flipping bit 7 of byte {i} went unnoticed"
        );
        bad[i] ^= 0x80;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_byte_change_in_a_larger_package_is_detected(pos in any::<prop::sample::Index>(), mask in 1u8..) {
        let f = fixture(4096);
        let data = sample::payload(6, 50_000);
        let mut package = seal(&f, split_items(50_000, 4), &data, Parallelism::SingleThread);
        let i = pos.index(package.len());
        package[i] ^= mask;
        prop_assert!(open(&f, &package).is_err());
    }

    #[test]
    fn random_bytes_never_panic_the_opener(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let f = fixture(4096);
        let _ = open(&f, &bytes);
        let mut with_magic = b"EVX1".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = open(&f, &with_magic);
    }

    #[test]
    fn round_trip_any_length(len in 0usize..40_000, parts in 1usize..6) {
        let f = fixture(4096);
        let data = sample::payload(len as u64, len);
        let package = seal(&f, split_items(len, parts), &data, Parallelism::SingleThread);
        let (_, plain) = open(&f, &package).unwrap();
        prop_assert_eq!(plain, data);
    }
}

#[test]
fn sealer_is_an_io_write_and_staging_limits_hold() {
    let f = fixture(4096);
    let data = sample::payload(8, 100_000);
    let mut s = f.sealer(Vec::new(), split_items(data.len(), 2), 3).unwrap();
    io::copy(&mut &data[..], &mut s).unwrap();
    let package = s.finish().unwrap().writer;
    let small = MemoryStaging::with_limit(50_000);
    let r = PackageReader::new(&package[..]).unwrap().open(
        &f.recipient,
        &f.sender.verifying_key(),
        &investigation(),
        small,
    );
    assert!(matches!(r, Err(OpenError::Io(_))));
    // Too much data through `Write` is an InvalidInput error, not a panic.
    let mut s = f.sealer(Vec::new(), split_items(10, 1), 7).unwrap();
    let err = io::Write::write_all(&mut s, &[0; 11]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn the_sealer_refuses_up_front_a_manifest_the_opener_would_refuse() {
    // A manifest just over the opener's limit, with an index still under the record limit.
    let f = fixture(4096);
    let mut item = sample::item("big-metadata.bin", "x", 0);
    item.media_type = "x".repeat(4_193_100);
    let s = f.sealer(Vec::new(), vec![item], 4);
    // Refused up front, before any payload is written.
    assert!(matches!(s, Err(SealError::MetadataTooLarge("manifest"))));
}

/// A writer that fails once, after `ok` bytes.
struct FailingWriter {
    ok: usize,
}

impl io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.ok);
        self.ok -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_write_poisons_the_sealer() {
    let f = fixture(4096);
    let len = 9 << 20;
    let mut s = f
        .sealer(FailingWriter { ok: 100_000 }, split_items(len, 1), 5)
        .unwrap();
    let data = sample::payload(1, len);
    assert!(matches!(s.write_payload(&data), Err(SealError::Io(_))));
    // No retry can produce a package with skipped or re-encrypted batches.
    assert!(matches!(
        s.write_payload(&data[..10]),
        Err(SealError::Poisoned)
    ));
    assert!(matches!(s.finish(), Err(SealError::Poisoned)));
}
