//! The policy engine: evaluating the sample European Production Order against the EU example
//! agreement (every rule, one judicial validation verified, the trace digest), and loading the
//! agreement from TOML.
//!
//! ```text
//! cargo bench -p evx-protocol --bench policy
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{AuthorityType, Selector, Signed};
use evx_protocol::ids::RequestId;
use evx_protocol::policy::{
    self, Agreement, Channel, Intake, KeyRole, PrivilegedList, Registry, TrustedKey,
};
use evx_protocol::sample;

fn bench(c: &mut Criterion) {
    let agreement = Agreement::from_toml(policy::examples::EU_2023_1543, "eu").unwrap();
    let police = SigningKey::from_seed(&[1; 32]);
    let judge = SigningKey::from_seed(&[2; 32]);
    let mut registry = Registry::new();
    registry
        .add(TrustedKey {
            key: police.verifying_key(),
            party: sample::requesting_party(),
            role: KeyRole::Documents,
        })
        .add(TrustedKey {
            key: judge.verifying_key(),
            party: sample::requesting_party(),
            role: KeyRole::JudicialAuthority {
                authority: "Amtsgericht Tiergarten".into(),
                authority_type: AuthorityType::InvestigatingJudge,
            },
        });
    let request = sample::production_request(RequestId([1; 16]));
    let signed = Signed::sign(&request, &police).unwrap();
    let validation = [Signed::sign(&sample::validation(&signed, &request), &judge).unwrap()];
    let received = sample::SAMPLE_TIME.plus_secs(60);
    let intake = Intake::new(&signed, &request, received, Channel::MUTUAL_TLS).with_log_index(1);
    let validated = intake.clone().with_validations(&validation);
    assert_eq!(
        policy::evaluate(&agreement, &registry, &validated).proposal,
        policy::Proposal::Accept
    );

    let mut g = c.benchmark_group("policy");
    g.bench_function("evaluate, no validation attached", |b| {
        b.iter(|| black_box(policy::evaluate(&agreement, &registry, black_box(&intake))))
    });
    g.bench_function("evaluate with one judicial validation", |b| {
        b.iter(|| {
            black_box(policy::evaluate(
                &agreement,
                &registry,
                black_box(&validated),
            ))
        })
    });
    // A newsroom-sized privileged list: 100 000 mailboxes, normalised once.
    let entries: Vec<Selector> = (0..100_000)
        .map(|i| Selector::Email(format!("reporter{i}@news{}.example", i % 500)))
        .collect();
    let list = PrivilegedList::new(&entries);
    let with_list = intake.clone().with_privileged(&list);
    g.bench_function("evaluate with a 100 000-entry privileged list", |b| {
        b.iter(|| {
            black_box(policy::evaluate(
                &agreement,
                &registry,
                black_box(&with_list),
            ))
        })
    });
    g.bench_function("normalise a 100 000-entry privileged list", |b| {
        b.iter(|| black_box(PrivilegedList::new(black_box(&entries))))
    });
    let trace = policy::evaluate(&agreement, &registry, &validated);
    g.bench_function("trace digest", |b| b.iter(|| black_box(trace.digest())));
    g.bench_function("load agreement from TOML", |b| {
        b.iter(|| {
            black_box(
                Agreement::from_toml(black_box(policy::examples::EU_2023_1543), "eu").unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
