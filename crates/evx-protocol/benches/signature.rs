//! Signing and verifying documents: an evidence request, end to end (encode + Ed25519 sign;
//! Ed25519 `verify_strict` + canonical decode + re-encode).
//!
//! ```text
//! cargo bench -p evx-protocol --bench signature
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::Signed;
use evx_protocol::frame::Message;
use evx_protocol::ids::RequestId;
use evx_protocol::sample;

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_seed(&[1; 32]);
    let vk = key.verifying_key();
    let request = sample::production_request(RequestId([1; 16]));
    let signed = Signed::sign(&request, &key).unwrap();
    let frame = Message::Request(signed.clone()).encode();
    let mut g = c.benchmark_group("request");
    g.bench_function("sign", |b| {
        b.iter(|| black_box(Signed::sign(black_box(&request), &key).unwrap()))
    });
    g.bench_function("verify", |b| {
        b.iter(|| black_box(signed.verify(&vk).unwrap()))
    });
    g.bench_function("decode frame + verify", |b| {
        b.iter(|| {
            let Message::Request(s) = Message::decode(black_box(&frame)).unwrap() else {
                unreachable!()
            };
            black_box(s.verify(&vk).unwrap())
        })
    });
    g.bench_function("raw ed25519 sign, same bytes", |b| {
        b.iter(|| black_box(key.sign(b"evx/v1 request\0", signed.document_bytes())))
    });
    let sig = key.sign(b"evx/v1 request\0", signed.document_bytes());
    g.bench_function("raw ed25519 verify_strict, same bytes", |b| {
        b.iter(|| {
            vk.verify(
                b"evx/v1 request\0",
                black_box(signed.document_bytes()),
                &sig,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
