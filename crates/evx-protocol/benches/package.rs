//! Seal and open throughput of EVX1 packages, next to the floor for this construction: one
//! SHA-256 pass plus AES-256-GCM over the same bytes, with ring alone, on one thread.
//!
//! ```text
//! cargo bench -p evx-protocol --bench package
//! ```

use std::hint::black_box;
use std::io;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evx_protocol::crypto::{HpkePublicKey, HpkeSecretKey, SigningKey};
use evx_protocol::ids::RequestId;
use evx_protocol::package::{
    ItemSpec, PackageParams, PackageReader, Parallelism, Sealer, VerifyOnly,
};
use evx_protocol::purpose::{DeclaredPurpose, Purpose};
use evx_protocol::sample;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

const SIZE: usize = 64 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn floor(data: &mut [u8]) -> [u8; 32] {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
    for (i, chunk) in data.chunks_mut(CHUNK).enumerate() {
        sha.update(chunk);
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(n),
                Aad::from(&[0u8; 32]),
                chunk,
            )
            .unwrap();
        let _ = black_box(tag);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(sha.finish().as_ref());
    out
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let sender = SigningKey::generate(&mut rng);
    let recipient = HpkeSecretKey::generate(&mut rng);
    let request = sample::production_request(RequestId::random(&mut rng));
    let params = sample::package_params(&request);
    let items = vec![sample::item(
        "traffic.jsonl",
        "application/x-ndjson",
        SIZE as u64,
    )];
    let data = sample::payload(9, SIZE);
    let declared = DeclaredPurpose {
        case: sample::case_id(),
        purpose: Purpose::Investigation,
    };

    fn seal<W: io::Write>(
        out: W,
        par: Parallelism,
        params: &PackageParams,
        items: &[ItemSpec],
        sender: &SigningKey,
        recipient: &HpkePublicKey,
        data: &[u8],
    ) -> W {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut s = Sealer::new(
            out,
            params.clone(),
            items.to_vec(),
            sender,
            recipient,
            &mut rng,
        )
        .unwrap()
        .with_parallelism(par);
        for piece in data.chunks(1 << 20) {
            s.write_payload(piece).unwrap();
        }
        s.finish().unwrap().writer
    }
    let hpke = recipient.public_key();
    let package = seal(
        Vec::with_capacity(SIZE + SIZE / 1000),
        Parallelism::TwoThreads,
        &params,
        &items,
        &sender,
        hpke,
        &data,
    );

    let mut g = c.benchmark_group("package-64MiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(10);
    let mut scratch = data.clone();
    g.bench_function("floor: sha256 + aes-256-gcm (ring, 1 thread)", |b| {
        b.iter(|| black_box(floor(&mut scratch)))
    });
    for (name, par) in [
        ("two threads", Parallelism::TwoThreads),
        ("one thread", Parallelism::SingleThread),
    ] {
        g.bench_function(format!("seal ({name})"), |b| {
            b.iter(|| seal(io::sink(), par, &params, &items, &sender, hpke, &data))
        });
        g.bench_function(format!("open ({name})"), |b| {
            b.iter(|| {
                let r = PackageReader::new(&package[..])
                    .unwrap()
                    .with_parallelism(par);
                black_box(
                    r.open(&recipient, &sender.verifying_key(), &declared, VerifyOnly)
                        .unwrap()
                        .package_id,
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
