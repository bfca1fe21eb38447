//! Realistic example documents, for the demo, the tests, the benchmarks and the test vectors.
//!
//! Nothing here is used by a node at run time; it exists so that every example of a request or
//! a package in evx is the same, plausible one rather than a dozen ad-hoc literals.

use std::net::{IpAddr, Ipv4Addr};

use crate::document::{
    AuthorityType, Confidentiality, DataCategory, EvidenceRequest, Instrument, Issuer,
    JudicialValidation, Offence, Proceeding, RequestType, Selector, Signed, Territory, TimeRange,
};
use crate::ids::{CaseId, PartyId, RequestId, UnixTime};
use crate::package::{Collection, DEFAULT_CHUNK_SIZE, ItemSpec, PackageParams};
use crate::purpose::{Conditions, OnwardTransfer, Purpose};

/// 2026-11-20T09:00:00Z, the time every sample is issued at.
pub const SAMPLE_TIME: UnixTime = UnixTime(1_795_165_200);

/// The sample requesting party.
pub fn requesting_party() -> PartyId {
    PartyId::new("DE-BfJ").unwrap_or_else(|_| unreachable!("valid literal"))
}

/// The sample requested party.
pub fn requested_party() -> PartyId {
    PartyId::new("IE-provider-LERT").unwrap_or_else(|_| unreachable!("valid literal"))
}

/// The sample case.
pub fn case_id() -> CaseId {
    CaseId::new("DE-StA-Berlin/2026/0412").unwrap_or_else(|_| unreachable!("valid literal"))
}

/// A European Production Order (Reg. (EU) 2023/1543) for subscriber and traffic data on one
/// account and one connection, issued by a prosecutor; [`validation`] is an investigating judge's
/// validation of it, which traffic data need (Art. 4(2)). It passes every rule of the EU example
/// agreement ([`crate::policy::examples::EU_2023_1543`]) once validated.
pub fn production_request(request_id: RequestId) -> EvidenceRequest {
    EvidenceRequest {
        v: 1,
        request_id,
        requesting_party: requesting_party(),
        requested_party: requested_party(),
        issued_at: SAMPLE_TIME,
        proceeding: Proceeding::Criminal,
        case_id: case_id(),
        instrument: Instrument::EuEEvidence,
        request_type: RequestType::Production,
        issuer: Issuer {
            authority: "Staatsanwaltschaft Berlin".into(),
            authority_type: AuthorityType::Prosecutor,
            file_number: "276 Js 412/26".into(),
            contact: "cybercrime@sta-berlin.example".into(),
        },
        offence: Offence {
            code: "illegal-access".into(),
            statute: "§ 202a StGB".into(),
            max_penalty_months: 36,
            committed_via_ict: true,
        },
        facts: "Intrusion into a hospital network on 2026-10-03; the ransom note names two \
                accounts at the provider, used from the intruder's connections."
            .into(),
        categories: vec![DataCategory::Subscriber, DataCategory::Traffic],
        selectors: vec![
            Selector::Account {
                service: "mail.provider.example".into(),
                account: "k.lenz".into(),
            },
            Selector::IpAddress {
                address: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 77)),
                port: Some(51_234),
                at: UnixTime(SAMPLE_TIME.0 - 4_000_000),
            },
        ],
        time_range: TimeRange {
            from: UnixTime(SAMPLE_TIME.0 - 5_000_000),
            to: SAMPLE_TIME,
        },
        purpose: Purpose::Investigation,
        emergency: None,
        confidentiality: Confidentiality {
            confidential: true,
            no_user_notice_until: None,
        },
        onward_transfer: OnwardTransfer::DenyWithoutAuthorisation,
        preservation_ref: None,
        // Offence in Germany, suspect living there: no notification of the enforcing
        // authority (EU Art. 8(2)), so no waiting window before release.
        notification_ref: None,
        territory: Territory {
            offence_in_issuing_state: true,
            person_resides_in_issuing_state: Some(true),
        },
        protected_status: Vec::new(),
    }
}

/// An investigating judge's validation of `signed`, bound to its digest; sign it with the
/// judge's key.
pub fn validation(
    signed: &Signed<EvidenceRequest>,
    request: &EvidenceRequest,
) -> JudicialValidation {
    JudicialValidation {
        v: 1,
        request_id: request.request_id,
        request_digest: signed.digest(),
        authority: "Amtsgericht Tiergarten".into(),
        authority_type: AuthorityType::InvestigatingJudge,
        reference: "351 Gs 1024/26".into(),
        validated_at: request.issued_at.plus_secs(1800),
        statement: "The traffic data are necessary to identify the intruder; the request is \
                    limited to one account and one connection."
            .into(),
    }
}

/// Package parameters answering `request`.
pub fn package_params(request: &EvidenceRequest) -> PackageParams {
    PackageParams {
        sender_party: request.requested_party.clone(),
        recipient_party: request.requesting_party.clone(),
        case_id: request.case_id.clone(),
        request_id: request.request_id,
        purpose: request.purpose,
        conditions: Conditions {
            retention_days: Some(365),
            ..Conditions::default()
        },
        created_at: SAMPLE_TIME.plus_secs(3600),
        chunk_size: DEFAULT_CHUNK_SIZE,
    }
}

/// An item spec with the given name and length.
pub fn item(name: &str, media_type: &str, length: u64) -> ItemSpec {
    ItemSpec {
        name: name.into(),
        media_type: media_type.into(),
        length,
        collection: Collection {
            source: format!("provider-dataset/{name}"),
            collected_at: SAMPLE_TIME.plus_secs(1800),
            legal_basis: "Budapest Convention Art. 31".into(),
        },
    }
}

/// Deterministic, incompressible-looking payload bytes: `len` bytes derived from `seed` by
/// SHA-256 in counter mode (test data only, not a random number generator).
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut block = 0u64;
    while out.len() < len {
        let d = crate::crypto::sha256_parts(&[&seed.to_be_bytes(), &block.to_be_bytes()]);
        let n = (len - out.len()).min(32);
        out.extend_from_slice(&d[..n]);
        block += 1;
    }
    out
}
