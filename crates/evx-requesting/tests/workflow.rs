//! The requested party's case workflow with two nodes in one process: the review queue
//! (approve and refuse end to end, overdue escalation with a test clock, a review that cannot
//! release what a safeguard refused).

mod common;

use common::*;
use evx_protocol::document::{ProtectedStatus, RefusalGround, ReviewVerdict};
use evx_protocol::policy::Verdict;
use evx_requested::review::{ReviewQueue, ReviewQueueError};

fn reviewer(net: &Net) -> SigningKey {
    KeyFile::parse(
        &std::fs::read_to_string(net.dir.join(format!("reviewers/{}-reviewer.key", ie_id())))
            .unwrap(),
    )
    .unwrap()
    .signing_key()
    .unwrap()
}

/// A validated production order about a journalist's account: the engine sends it to review.
async fn send_press_request(net: &Net, de: &Requester, id: u8) -> RequestId {
    let mut r = request(id);
    r.protected_status = vec![ProtectedStatus::Press];
    let prepared = net.validated(de, r);
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(
        matches!(sent.decision.outcome, Outcome::PendingReview { .. }),
        "{:?}",
        sent.decision.outcome
    );
    prepared.request.request_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_approves_and_the_evidence_is_delivered() {
    let net = Net::new("review-approve").await;
    let de = net.requester();
    let id = send_press_request(&net, &de, 1).await;

    let queue = ReviewQueue::open(&net.ie).unwrap();
    let t = UnixTime(now());
    let listed = queue.list(t).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request_id, id);
    assert!(!listed[0].submitted);
    assert!(
        listed[0].proposal.contains("press"),
        "{}",
        listed[0].proposal
    );
    let case = queue.case(&id).unwrap();
    assert!(
        case.trace
            .results
            .iter()
            .any(|r| r.verdict == Verdict::NeedsReview)
    );

    // Nothing to fetch while the review is pending.
    let (record, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    assert!(package.is_none());
    assert!(matches!(
        record.decision.unwrap().outcome,
        Outcome::PendingReview { .. }
    ));

    let (_, will) = queue
        .submit(
            &id,
            ReviewVerdict::Approve,
            Vec::new(),
            "Sources are not at stake: the account is the intruder's, not the journalist's work account.".into(),
            &reviewer(&net),
            t,
        )
        .unwrap();
    assert!(matches!(will.outcome, Outcome::Accept { .. }));
    assert!(queue.list(t).unwrap()[0].submitted);

    // The node's next pass applies it (the test drives the pass with its own clock).
    let report = net.desk().tick(t).unwrap();
    assert_eq!(report.applied.len(), 1, "{report:?}");
    assert!(report.rejected.is_empty());
    assert!(queue.list(t).unwrap().is_empty());
    assert!(!queue.is_pending(&id).unwrap());

    // The requesting party sees the final decision and receives the evidence.
    let (record, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    let decision = record.decision.unwrap();
    assert!(matches!(decision.outcome, Outcome::Accept { .. }));
    assert!(
        decision.review_digest.is_some(),
        "the final decision cites the review"
    );
    assert!(package.is_some());
    let server_kinds = kinds(net.desk().audit(), &id);
    assert_eq!(
        server_kinds,
        [
            "request_received",
            "decision",
            "review_decision",
            "decision",
            "package_sealed",
            "package_delivered",
            "receipt_received"
        ]
    );
    // The requesting node logged both decisions it received.
    assert_eq!(
        kinds(de.audit(), &id)
            .iter()
            .filter(|k| **k == "decision")
            .count(),
        2
    );
    net.desk().audit().verify().unwrap();
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_refuses_with_grounds_and_nothing_is_released() {
    let net = Net::new("review-refuse").await;
    let de = net.requester();
    let id = send_press_request(&net, &de, 2).await;
    let queue = ReviewQueue::open(&net.ie).unwrap();
    let t = UnixTime(now());

    // A refusal needs grounds: none given and none proposed (the engine asked for review, it
    // did not propose a refusal) is refused on the spot, and nothing is left for the node.
    let e = queue
        .submit(
            &id,
            ReviewVerdict::Refuse,
            Vec::new(),
            String::new(),
            &reviewer(&net),
            t,
        )
        .unwrap_err();
    assert!(matches!(e, ReviewQueueError::Rejected(_)), "{e}");
    assert!(!queue.list(t).unwrap()[0].submitted);

    // A key that is not a reviewer's cannot decide.
    let e = queue
        .submit(
            &id,
            ReviewVerdict::Approve,
            Vec::new(),
            String::new(),
            &net.judge,
            t,
        )
        .unwrap_err();
    assert!(matches!(e, ReviewQueueError::NotAReviewer(_)), "{e}");

    let ground = RefusalGround {
        code: "press-freedom".into(),
        legal_source: "Reg. (EU) 2023/1543 Art. 12(1)(a)".into(),
        explanation: "The request would disclose a journalist's sources.".into(),
    };
    queue
        .submit(
            &id,
            ReviewVerdict::Refuse,
            vec![ground.clone()],
            "Refused after hearing the legal unit.".into(),
            &reviewer(&net),
            t,
        )
        .unwrap();
    let report = net.desk().tick(t).unwrap();
    assert_eq!(report.applied.len(), 1);

    let record = de.status(&id, Some(net.addr()), t).await.unwrap();
    match record.decision.unwrap().outcome {
        Outcome::Refuse { grounds } => assert_eq!(grounds, vec![ground]),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(net.desk().package(&id).unwrap().is_none());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    assert!(package.is_none());
    // A second review of a decided request is refused.
    let e = queue
        .submit(
            &id,
            ReviewVerdict::Approve,
            Vec::new(),
            String::new(),
            &reviewer(&net),
            t,
        )
        .unwrap_err();
    assert!(matches!(e, ReviewQueueError::NotPending(_)), "{e}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_review_is_escalated_once_and_releases_nothing() {
    let net = Net::new("review-overdue").await;
    let de = net.requester();
    let late = send_press_request(&net, &de, 3).await;
    let queue = ReviewQueue::open(&net.ie).unwrap();
    let t = UnixTime(now());
    let due = queue.list(t).unwrap()[0]
        .due_at
        .expect("a review has a due date");

    // Before the due date: nothing happens.
    let report = net.desk().tick(UnixTime(due.0 - 1)).unwrap();
    assert!(report.escalated.is_empty());

    // A second request arrives an hour later (taken in by the desk with its own clock); the
    // overdue one is listed first once past its due date.
    let mut r = request(4);
    r.protected_status = vec![ProtectedStatus::Press];
    let prepared = net.validated(&de, r);
    let fresh = prepared.request.request_id;
    net.desk()
        .receive(
            &de_id(),
            &prepared.signed,
            &prepared.validations,
            UnixTime(now() + 3600),
        )
        .unwrap();
    let after = UnixTime(due.0 + 1);
    let report = net.desk().tick(after).unwrap();
    assert_eq!(report.escalated, vec![late]);
    let listed = queue.list(after).unwrap();
    assert_eq!(listed[0].request_id, late);
    assert!(listed[0].overdue(after));
    assert_eq!(listed[0].escalated_at, Some(after));
    assert_eq!(listed[1].request_id, fresh);

    // Logged once, however often the node passes; nothing released.
    assert!(
        net.desk()
            .tick(UnixTime(after.0 + 60))
            .unwrap()
            .escalated
            .is_empty()
    );
    let overdue: Vec<_> = kinds(net.desk().audit(), &late)
        .into_iter()
        .filter(|k| *k == "review_overdue")
        .collect();
    assert_eq!(overdue.len(), 1);
    assert!(net.desk().package(&late).unwrap().is_none());
    let record = de.status(&late, Some(net.addr()), t).await.unwrap();
    assert!(matches!(
        record.decision.unwrap().outcome,
        Outcome::PendingReview { .. }
    ));
    net.desk().audit().verify().unwrap();
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_cannot_release_what_a_safeguard_refused() {
    let net = Net::new("review-mandatory").await;
    let de = net.requester();
    // Traffic data ordered by a prosecutor without a judge's validation: the issuer rule
    // fails, a mandatory safeguard — the engine proposes a refusal.
    let mut r = request(5);
    r.categories = vec![DataCategory::Traffic];
    let prepared = de.prepare(r, Vec::new()).unwrap();
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(matches!(
        sent.decision.outcome,
        Outcome::PendingReview { .. }
    ));
    let id = prepared.request.request_id;
    let queue = ReviewQueue::open(&net.ie).unwrap();
    let t = UnixTime(now());
    assert!(
        queue.list(t).unwrap()[0]
            .proposal
            .starts_with("proposed refusal")
    );
    let e = queue
        .submit(
            &id,
            ReviewVerdict::Approve,
            Vec::new(),
            String::new(),
            &reviewer(&net),
            t,
        )
        .unwrap_err();
    assert!(matches!(e, ReviewQueueError::Rejected(_)), "{e}");
    // Confirming the proposed refusal without grounds of one's own takes the engine's.
    let (_, will) = queue
        .submit(
            &id,
            ReviewVerdict::Refuse,
            Vec::new(),
            String::new(),
            &reviewer(&net),
            t,
        )
        .unwrap();
    match will.outcome {
        Outcome::Refuse { grounds } => assert!(!grounds.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.desk().tick(t).unwrap().applied.len(), 1);
    net.shutdown().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_logs_are_cross_witnessed_on_each_exchange() {
    let net = Net::new("witness").await;
    let de = net.requester();
    let de_keys = RegistryFile::load(&net.de.registry)
        .unwrap()
        .peer_keys(&de_id())
        .unwrap();
    let ie_keys = RegistryFile::load(&net.ie.registry)
        .unwrap()
        .peer_keys(&ie_id())
        .unwrap();

    let (prepared, sent) = send_production(&net, &de, 1).await;
    let report = de.last_witnessing().unwrap().unwrap();
    let ours = report.ours_cosigned.expect("IE cosigned DE's checkpoint");
    let theirs = report.theirs_cosigned.expect("DE cosigned IE's checkpoint");
    // The acknowledgement's checkpoint is covered by what DE cosigned.
    let ack_size = sent.acknowledgement.log_entry.as_ref().unwrap().tree_size;
    assert!(theirs >= ack_size);
    // Each side holds the other's cosignature on its own checkpoint.
    assert_eq!(
        de.audit().cosigned_size(ie_keys.witness.name()).unwrap(),
        ours
    );
    assert_eq!(
        net.desk()
            .audit()
            .cosigned_size(de_keys.witness.name())
            .unwrap(),
        theirs
    );
    let cosigned = net.desk().audit().cosignatures(theirs).unwrap();
    assert_eq!(cosigned.len(), 1, "{cosigned:?}");
    // And each side's log records the cosigning it did.
    assert!(
        events(de.audit())
            .iter()
            .any(|e| e.kind.name() == "checkpoint_cosigned")
    );
    assert!(
        events(net.desk().audit())
            .iter()
            .any(|e| e.kind.name() == "checkpoint_cosigned")
    );

    // The fetch's receipt proves its entry in DE's log; the exchange is witnessed again,
    // from the sizes cosigned before.
    let (_, package) = de
        .fetch(
            &prepared.request.request_id,
            Some(net.addr()),
            UnixTime(now()),
            &mut |_, _| {},
        )
        .await
        .unwrap();
    assert!(package.is_some());
    let again = de.last_witnessing().unwrap().unwrap();
    assert!(again.ours_cosigned.unwrap() > ours);
    assert!(again.theirs_cosigned.unwrap() > theirs);
    de.audit().verify().unwrap();
    net.desk().audit().verify().unwrap();
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_peer_log_is_detected_and_stops_exchanges() {
    let mut net = Net::new("fork").await;
    // A copy of the requested node's (empty) log, to fork from later.
    net.server.take().unwrap().stop().await;
    let audit_dir = net.ie.data_dir.join("audit");
    let snapshot = net.tmp.0.join("audit-snapshot");
    copy_dir(&audit_dir, &snapshot);
    net.server = Some(Server::start(&net.ie));

    let de = net.requester();
    send_production(&net, &de, 1).await;
    assert!(de.last_witnessing().unwrap().is_ok());

    // The provider's node restores its old log and carries on: a different history under the
    // same log key.
    net.server.take().unwrap().stop().await;
    std::fs::remove_dir_all(&audit_dir).unwrap();
    copy_dir(&snapshot, &audit_dir);
    net.server = Some(Server::start(&net.ie));

    let prepared = net.validated(&de, request(2));
    let e = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Conflict(_)), "{e}");
    assert!(e.to_string().contains("CONFLICT"), "{e}");
    let ie_log = RegistryFile::load(&net.de.registry)
        .unwrap()
        .peer_keys(&ie_id())
        .unwrap()
        .log;
    assert!(de.audit().has_conflict(ie_log.name()).unwrap());
    let conflicts = de.audit().conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert!(
        events(de.audit())
            .iter()
            .any(|e| e.kind.name() == "conflict_detected")
    );
    // Exchanges with that party stop.
    let e = de
        .status(
            &prepared.request.request_id,
            Some(net.addr()),
            UnixTime(now()),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Conflict(_)), "{e}");
    de.audit().verify().unwrap();
    net.shutdown().await;
}

/// An emergency request for one account's subscriber data by a police authority: executed at
/// once, to be validated by a judge within the agreement's 48 hours.
async fn send_emergency(net: &Net, de: &Requester, id: u8) -> (RequestId, UnixTime) {
    let (prepared, due) = send_emergency_prepared(net, de, id).await;
    (prepared.request.request_id, due)
}

async fn send_emergency_prepared(net: &Net, de: &Requester, id: u8) -> (Prepared, UnixTime) {
    let mut r = request(id);
    r.request_type = RequestType::EmergencyDisclosure;
    r.categories = vec![DataCategory::Subscriber];
    r.issuer.authority = "Landeskriminalamt Berlin".into();
    r.issuer.authority_type = evx_protocol::document::AuthorityType::LawEnforcement;
    r.emergency = Some(Emergency {
        justification: "The account holder announced an attack on a school for tomorrow morning."
            .into(),
    });
    let prepared = de.prepare(r, Vec::new()).unwrap();
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(
        matches!(sent.decision.outcome, Outcome::Accept { .. }),
        "{:?}",
        sent.decision.outcome
    );
    let due = sent
        .decision
        .due
        .validation_by
        .expect("an unvalidated emergency has a validation deadline");
    (prepared, due)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_whose_validation_is_late_is_withdrawn_and_its_data_unusable() {
    let net = Net::new("emergency-late").await;
    let de = net.requester();
    let (id, due) = send_emergency(&net, &de, 10).await;
    let t = UnixTime(now());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    let package = package.expect("the emergency data are delivered at once");
    let case = de.record(&id).unwrap().request.case_id;
    let declared = DeclaredPurpose {
        case,
        purpose: Purpose::Investigation,
    };
    de.open_package(&package.path, &declared, &net.tmp.0.join("before"), t)
        .unwrap();

    // Nothing happens before the deadline; just after it, the request is withdrawn.
    assert!(
        net.desk()
            .tick(UnixTime(due.0 - 1))
            .unwrap()
            .withdrawn
            .is_empty()
    );
    let report = net.desk().tick(UnixTime(due.0 + 1)).unwrap();
    assert_eq!(report.withdrawn, vec![id]);
    assert!(
        net.desk()
            .tick(UnixTime(due.0 + 2))
            .unwrap()
            .withdrawn
            .is_empty()
    );
    assert!(kinds(net.desk().audit(), &id).contains(&"withdrawn"));
    let register = evx_requested::register::Register::open(&net.ie).unwrap();
    assert!(register.get(&id).unwrap().withdrawal.unwrap().data_unusable);

    // The requesting party learns it on its next status, logs it, and cannot open the data.
    let record = de.status(&id, Some(net.addr()), t).await.unwrap();
    assert!(record.withdrawal.unwrap().data_unusable);
    assert!(kinds(de.audit(), &id).contains(&"withdrawn"));
    let e = de
        .open_package(&package.path, &declared, &net.tmp.0.join("after"), t)
        .unwrap_err();
    assert!(matches!(e, OpenPackageError::Withdrawn(_)), "{e}");
    assert!(events(de.audit()).iter().any(|e| matches!(
        e.kind,
        EventKind::OpenRefused {
            reason: OpenRefusal::Withdrawn,
            ..
        }
    )));
    // And there is nothing more to fetch.
    let (_, again) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    assert!(again.is_none());
    // A validation now comes too late.
    let draft = evx_requesting::request_file::ValidationDraft {
        authority: "Amtsgericht Tiergarten".into(),
        authority_type: evx_protocol::document::AuthorityType::InvestigatingJudge,
        reference: "351 Gs 2000/26".into(),
        statement: "Confirmed.".into(),
    };
    assert!(
        de.validate(&id, &draft, &net.judge, Some(net.addr()), t)
            .await
            .is_err()
    );
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_in_time_keeps_the_emergency_request() {
    let net = Net::new("emergency-validated").await;
    let de = net.requester();
    let (id, due) = send_emergency(&net, &de, 11).await;
    let draft = evx_requesting::request_file::ValidationDraft {
        authority: "Amtsgericht Tiergarten".into(),
        authority_type: evx_protocol::document::AuthorityType::InvestigatingJudge,
        reference: "351 Gs 2001/26".into(),
        statement: "The emergency order was necessary and proportionate.".into(),
    };
    // A key that is not a judge's is refused.
    let e = de
        .validate(
            &id,
            &draft,
            &reviewer(&net),
            Some(net.addr()),
            UnixTime(now()),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Refused { .. }), "{e}");
    de.validate(&id, &draft, &net.judge, Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(kinds(net.desk().audit(), &id).contains(&"validation_received"));
    assert!(
        net.desk()
            .tick(UnixTime(due.0 + 1))
            .unwrap()
            .withdrawn
            .is_empty()
    );
    let register = evx_requested::register::Register::open(&net.ie).unwrap();
    let r = register.get(&id).unwrap();
    assert!(r.validated_later && r.withdrawal.is_none());
    assert!(de.record(&id).unwrap().validation_sent);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_expiry_deletes_the_package_its_key_and_its_copies() {
    let net = Net::new("retention").await;
    let de = net.requester();
    let (prepared, sent) = send_production(&net, &de, 20).await;
    let days = match &sent.decision.outcome {
        Outcome::Accept { conditions } => conditions.retention_days.expect("a retention limit"),
        other => panic!("{other:?}"),
    };
    let id = prepared.request.request_id;
    // A stray copy of the sealed bytes themselves (as a partial download left behind would be).
    let stray = net.tmp.0.join("stray.evx1");
    std::fs::copy(net.desk().package(&id).unwrap().unwrap(), &stray).unwrap();
    let t = UnixTime(now());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    let package = package.unwrap();
    // Stored at rest under its own key: not the sealed package itself.
    let stored = std::fs::read(&package.path).unwrap();
    assert!(stored.starts_with(evx_node::vault::MAGIC));
    let backup = net.tmp.0.join("backup.evxv");
    std::fs::copy(&package.path, &backup).unwrap();

    let declared = DeclaredPurpose {
        case: prepared.request.case_id.clone(),
        purpose: Purpose::Investigation,
    };
    let out = net.tmp.0.join("opened");
    let opened = de.open_package(&package.path, &declared, &out, t).unwrap();
    assert!(!opened.items.is_empty());
    // The backup opens as well while the key exists.
    de.open_package(&backup, &declared, &net.tmp.0.join("from-backup"), t)
        .unwrap();

    let (expires, deleted) = de.retention(&package.package_id).unwrap();
    let expires = expires.unwrap();
    assert_eq!(expires.0, t.0 + u64::from(days) * 86_400);
    assert!(deleted.is_none());
    assert!(
        de.enforce_retention(UnixTime(expires.0 - 1))
            .unwrap()
            .is_empty()
    );

    let gone = de.enforce_retention(expires).unwrap();
    assert_eq!(gone, vec![package.package_id]);
    assert!(!package.path.exists());
    for item in &opened.items {
        assert!(!item.path.exists(), "{} survived", item.path.display());
    }
    assert!(!opened.manifest_path.exists());
    assert!(kinds(de.audit(), &id).contains(&"retention_deletion"));
    // Every copy is unreadable now, the backup included, and opening is refused and logged.
    let e = de
        .open_package(&backup, &declared, &net.tmp.0.join("late"), expires)
        .unwrap_err();
    assert!(matches!(e, OpenPackageError::Expired(_)), "{e}");
    assert!(de.read_package(&backup).is_err());
    // The stray copy of the sealed bytes is still decryptable, but not opened.
    let e = de
        .open_package(&stray, &declared, &net.tmp.0.join("stray"), expires)
        .unwrap_err();
    assert!(matches!(e, OpenPackageError::Expired(_)), "{e}");
    assert!(!net.tmp.0.join("stray").exists());
    assert!(events(de.audit()).iter().any(|e| matches!(
        e.kind,
        EventKind::OpenRefused {
            reason: OpenRefusal::Expired,
            ..
        }
    )));
    // Deleted once.
    assert!(
        de.enforce_retention(UnixTime(expires.0 + 10))
            .unwrap()
            .is_empty()
    );
    de.audit().verify().unwrap();
    net.shutdown().await;
}

async fn send_preservation(net: &Net, de: &Requester, id: u8) -> (RequestId, UnixTime) {
    let mut r = request(id);
    r.request_type = RequestType::Preservation;
    let prepared = de.prepare(r, Vec::new()).unwrap();
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(
        matches!(sent.decision.outcome, Outcome::Accept { .. }),
        "{:?}",
        sent.decision.outcome
    );
    let until = sent.decision.due.preserve_until.expect("a hold's end");
    (prepared.request.request_id, until)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_keeps_what_the_source_rotated_and_the_production_citing_it_releases_it() {
    let net = Net::new("hold-release").await;
    let de = net.requester();
    let (preservation, _) = send_preservation(&net, &de, 30).await;
    assert!(kinds(net.desk().audit(), &preservation).contains(&"preservation_placed"));
    let hold_dir = net.ie.data_dir.join("holds").join(preservation.to_string());
    let preserved = lines(&hold_dir.join("traffic.jsonl"));
    assert!(!preserved.is_empty());
    assert!(
        preserved
            .iter()
            .all(|l| field(l, "account") == account_name(0))
    );

    // The provider rotates its connection records away.
    std::fs::write(net.dataset.join("traffic.jsonl"), "").unwrap();

    let mut production = request(31);
    production.categories = vec![DataCategory::Traffic];
    production.preservation_ref = Some(preservation);
    let prepared = net.validated(&de, production);
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(matches!(sent.decision.outcome, Outcome::Accept { .. }));
    let id = prepared.request.request_id;
    let t = UnixTime(now());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    let opened = de
        .open_package(
            &package.unwrap().path,
            &DeclaredPurpose {
                case: prepared.request.case_id.clone(),
                purpose: Purpose::Investigation,
            },
            &net.tmp.0.join("opened"),
            t,
        )
        .unwrap();
    let traffic = opened
        .items
        .iter()
        .find(|i| i.path.ends_with("traffic.jsonl"))
        .unwrap();
    // Everything preserved in the production's week is there, though the source is empty.
    let delivered = lines(&traffic.path);
    assert!(!delivered.is_empty());
    assert!(delivered.iter().all(|l| preserved.contains(l)));
    assert!(kinds(net.desk().audit(), &preservation).contains(&"preservation_released"));
    assert!(!hold_dir.exists(), "a released hold's copy is deleted");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_is_extended_within_the_agreement_and_ends_when_its_time_is_up() {
    let net = Net::new("hold-extend").await;
    let de = net.requester();
    let (preservation, until) = send_preservation(&net, &de, 32).await;
    let t = UnixTime(now());
    // The EU example: 60 days, extendable once by at most 30.
    let e = de
        .extend(
            &preservation,
            31,
            "the investigation continues",
            Some(net.addr()),
            t,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("30 days"), "{e}");
    let c = de
        .extend(
            &preservation,
            30,
            "the production order is being validated",
            Some(net.addr()),
            t,
        )
        .await
        .unwrap();
    assert_eq!(c.expires_at.0, until.0 + 30 * DAY);
    assert_eq!(c.extensions_remaining, 0);
    assert!(c.records_preserved > 0);
    let e = de
        .extend(&preservation, 10, "once more", Some(net.addr()), t)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("extension"), "{e}");
    assert!(kinds(net.desk().audit(), &preservation).contains(&"preservation_extended"));

    // Nothing ends before the extended end; just after it, the hold and its copy are gone.
    assert!(
        net.desk()
            .tick(UnixTime(c.expires_at.0 - 1))
            .unwrap()
            .holds_ended
            .is_empty()
    );
    let report = net.desk().tick(UnixTime(c.expires_at.0 + 1)).unwrap();
    assert_eq!(report.holds_ended, vec![preservation]);
    assert!(kinds(net.desk().audit(), &preservation).contains(&"preservation_expired"));
    assert!(
        !net.ie
            .data_dir
            .join("holds")
            .join(preservation.to_string())
            .exists()
    );
    // An ended hold cannot be extended.
    let e = de
        .extend(&preservation, 10, "too late", Some(net.addr()), t)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Refused { .. }), "{e}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_cut_at_several_points_resumes_without_receiving_anything_twice() {
    let net = Net::new("resume").await;
    // Two megabytes of the first account's messages, so that the package is worth cutting.
    let t0 = now();
    let mut big = String::new();
    for i in 0..2000u64 {
        big.push_str(&format!(
            "{{\"ts\":{},\"from\":\"{}@{SERVICE}\",\"to\":\"x@{SERVICE}\",\"subject\":\"n{i}\",\"body\":\"{}\"}}\n",
            t0 - 3 * DAY + i,
            account_name(0),
            "b".repeat(1000)
        ));
    }
    let content = net
        .dataset
        .join("content")
        .join(format!("{}.jsonl", account_name(0)));
    std::fs::write(&content, big).unwrap();

    let de = net.requester();
    let mut r = request(40);
    r.categories = vec![DataCategory::Content];
    let prepared = net.validated(&de, r);
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(matches!(sent.decision.outcome, Outcome::Accept { .. }));
    let id = prepared.request.request_id;
    let on_server = net.desk().package(&id).unwrap().unwrap();
    let sealed = std::fs::read(&on_server).unwrap();
    assert!(sealed.len() > 2_000_000);

    // Cut after 300 000 bytes, then after 700 000 more, then after 1: each fetch continues
    // exactly where the last one stopped.
    let mut received = 0u64;
    let mut have = 0u64;
    for limit in [300_000u64, 700_000, 1] {
        let mut last = None;
        let (record, package) = de
            .fetch_part(
                &id,
                Some(net.addr()),
                UnixTime(now()),
                &mut |got, _| last = Some(got),
                limit,
            )
            .await
            .unwrap();
        assert!(package.is_none());
        let d = record.download.expect("a partial download is recorded");
        assert_eq!(d.have, have + limit);
        assert_eq!(d.total, sealed.len() as u64);
        received += last.unwrap() - have;
        have = d.have;
    }
    // The rest in one go.
    let mut last = 0;
    let (record, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |got, _| {
            last = got
        })
        .await
        .unwrap();
    received += last - have;
    assert_eq!(received, sealed.len() as u64, "a byte was received twice");
    assert!(record.download.is_none());
    let package = package.expect("the resumed delivery completes");
    // Byte-identical to the package the requested node sealed.
    let mut stored = Vec::new();
    std::io::Read::read_to_end(&mut de.read_package(&package.path).unwrap(), &mut stored).unwrap();
    assert_eq!(stored, sealed);
    assert!(kinds(net.desk().audit(), &id).contains(&"receipt_received"));
    // With the receipt, the requested node no longer keeps the sealed copy.
    assert!(!on_server.exists(), "the delivered package is still stored");
    // Fetching again sends nothing again: the package's receipt is recorded.
    let mut called = false;
    let (record, again) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {
            called = true
        })
        .await
        .unwrap();
    assert!(again.is_none());
    assert!(!called, "the package was received twice");
    assert_eq!(record.packages.len(), 1);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_cut_by_the_network_resumes_over_a_new_connection() {
    let mut net = Net::new("resume-cut").await;
    let t0 = now();
    let mut big = String::new();
    for i in 0..6000u64 {
        big.push_str(&format!(
            "{{\"ts\":{},\"from\":\"{}@{SERVICE}\",\"to\":\"x@{SERVICE}\",\"subject\":\"n{i}\",\"body\":\"{}\"}}\n",
            t0 - 2 * DAY + i,
            account_name(0),
            "c".repeat(1000)
        ));
    }
    std::fs::write(
        net.dataset
            .join("content")
            .join(format!("{}.jsonl", account_name(0))),
        big,
    )
    .unwrap();
    let de = net.requester();
    let mut r = request(41);
    r.categories = vec![DataCategory::Content];
    let prepared = net.validated(&de, r);
    de.send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    let id = prepared.request.request_id;
    let sealed = std::fs::read(net.desk().package(&id).unwrap().unwrap()).unwrap();

    // The requested node goes away in the middle of the delivery.
    let endpoint = net.server().endpoint.clone();
    let e = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |got, _| {
            if got > 100_000 {
                endpoint.close(0u32.into(), b"cut");
            }
        })
        .await
        .unwrap_err();
    let have = match e {
        ClientError::Interrupted { have, total, .. } => {
            assert!(have > 100_000 && have < total, "{have} of {total}");
            have
        }
        other => panic!("expected an interrupted delivery, got {other}"),
    };
    assert_eq!(de.record(&id).unwrap().download.unwrap().have, have);

    // Back up (a new process on the same data), and the fetch resumes from `have`.
    net.restart().await;
    let mut first = None;
    let (_, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |got, _| {
            first.get_or_insert(got);
        })
        .await
        .unwrap();
    assert!(
        first.unwrap() > have && first.unwrap() <= have + 256 * 1024,
        "the resumed delivery started over"
    );
    let mut stored = Vec::new();
    std::io::Read::read_to_end(
        &mut de.read_package(&package.unwrap().path).unwrap(),
        &mut stored,
    )
    .unwrap();
    assert_eq!(stored, sealed);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_granted_extends_what_can_be_opened_and_a_refusal_does_not() {
    use evx_protocol::document::ConsentScope;
    let net = Net::new("consent").await;
    let de = net.requester();
    let (prepared, _) = send_production(&net, &de, 50).await;
    let id = prepared.request.request_id;
    let t = UnixTime(now());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    let path = package.unwrap().path;
    let case = prepared.request.case_id.clone();
    let prosecution = DeclaredPurpose {
        case: case.clone(),
        purpose: Purpose::Prosecution,
    };
    // Not transferred for prosecution: refused before any consent.
    let e = de
        .open_package(&path, &prosecution, &net.tmp.0.join("p0"), t)
        .unwrap_err();
    assert!(matches!(e, OpenPackageError::PurposeRefused(_)), "{e}");

    let other_case = CaseId::new("DE-StA-Berlin/2026/0999").unwrap();
    let granted = de
        .ask_consent(
            &id,
            ConsentScope::OtherPurpose {
                purpose: Purpose::Prosecution,
            },
            "the suspect is charged",
            Some(net.addr()),
            t,
        )
        .await
        .unwrap();
    let refused = de
        .ask_consent(
            &id,
            ConsentScope::OtherCase {
                case_id: other_case.clone(),
                purpose: Purpose::Investigation,
            },
            "a second intrusion may be the same person's",
            Some(net.addr()),
            t,
        )
        .await
        .unwrap();
    assert_eq!(
        kinds(net.desk().audit(), &id)
            .iter()
            .filter(|k| **k == "consent_requested")
            .count(),
        2
    );

    let queue = ReviewQueue::open(&net.ie).unwrap();
    assert_eq!(queue.consents().unwrap().len(), 2);
    // Only a reviewer decides.
    assert!(
        queue
            .decide_consent(&granted, true, String::new(), &net.judge, t)
            .is_err()
    );
    queue
        .decide_consent(
            &granted,
            true,
            "charged: prosecution follows the investigation".into(),
            &reviewer(&net),
            t,
        )
        .unwrap();
    queue
        .decide_consent(
            &refused,
            false,
            "a new case needs its own request".into(),
            &reviewer(&net),
            t,
        )
        .unwrap();
    let report = net.desk().tick(t).unwrap();
    assert_eq!(report.consents.len(), 2);
    assert!(report.consents.contains(&(granted, true)));
    assert!(report.consents.contains(&(refused, false)));
    assert!(queue.consents().unwrap().is_empty());

    // The requesting side receives both with its next status, and logs them.
    de.status(&id, Some(net.addr()), t).await.unwrap();
    let consents = de.consents(&id).unwrap();
    assert_eq!(consents.len(), 2);
    assert!(consents.iter().all(|(_, d)| d.is_some()));
    assert_eq!(
        kinds(de.audit(), &id)
            .iter()
            .filter(|k| **k == "consent_decided")
            .count(),
        2
    );
    // The granted purpose now opens; the refused case still does not.
    let opened = de
        .open_package(&path, &prosecution, &net.tmp.0.join("p1"), t)
        .unwrap();
    assert!(opened.by_consent);
    assert!(events(de.audit()).iter().any(|e| {
        matches!(e.kind, EventKind::PackageOpened { .. }) && e.purpose == Some(Purpose::Prosecution)
    }));
    let e = de
        .open_package(
            &path,
            &DeclaredPurpose {
                case: other_case,
                purpose: Purpose::Investigation,
            },
            &net.tmp.0.join("p2"),
            t,
        )
        .unwrap_err();
    assert!(matches!(e, OpenPackageError::PurposeRefused(_)), "{e}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_beyond_the_package_limit_comes_as_several_packages() {
    // A node that seals at most 4 KiB of evidence per package.
    let mut net = Net::new("several").await;
    let config = net
        .dir
        .join("nodes")
        .join(ie_id().as_str())
        .join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\n[keys]", "\npackage_max_bytes = 4096\n\n[keys]"),
    )
    .unwrap();
    net.ie = NodeConfig::load(&config).unwrap();
    net.restart().await;

    let de = net.requester();
    // Subscriber, traffic and content of one account over the week: three items.
    let mut r = request(60);
    r.categories = vec![
        DataCategory::Subscriber,
        DataCategory::Traffic,
        DataCategory::Content,
    ];
    let prepared = net.validated(&de, r);
    de.send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    let id = prepared.request.request_id;
    let sealed = kinds(net.desk().audit(), &id)
        .iter()
        .filter(|k| **k == "package_sealed")
        .count();
    assert!(sealed >= 2, "{sealed} package(s) sealed");
    let t = UnixTime(now());
    let (record, first) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    assert!(first.is_some());
    assert_eq!(
        record.packages.len(),
        sealed,
        "every package delivered in one fetch"
    );
    assert_eq!(
        kinds(net.desk().audit(), &id)
            .iter()
            .filter(|k| **k == "receipt_received")
            .count(),
        sealed
    );
    // All the items, across the packages, open for the request's purpose.
    let declared = DeclaredPurpose {
        case: prepared.request.case_id.clone(),
        purpose: Purpose::Investigation,
    };
    let mut names = Vec::new();
    for (i, p) in record.packages.iter().enumerate() {
        let opened = de
            .open_package(&p.path, &declared, &net.tmp.0.join(format!("p{i}")), t)
            .unwrap();
        names.extend(
            opened
                .items
                .iter()
                .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned()),
        );
    }
    names.sort();
    assert!(names.contains(&"subscribers.jsonl".to_owned()));
    assert!(names.contains(&"traffic.jsonl".to_owned()));
    assert!(names.iter().any(|n| n.starts_with("content-")));
    // Nothing more to fetch.
    let (_, again) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    assert!(again.is_none());

    // The receipt of the last package is lost on the way (the requested node never recorded
    // it): the next fetch names that package as held, and only its receipt goes again.
    let server_db = rusqlite::Connection::open(net.ie.data_dir.join("requests.sqlite")).unwrap();
    let order: Vec<Vec<u8>> = server_db
        .prepare("SELECT package_id FROM packages WHERE request_id = ?1 ORDER BY seq")
        .unwrap()
        .query_map([id.0.as_slice()], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let received: Vec<Vec<u8>> = record
        .packages
        .iter()
        .map(|p| p.package_id.0.to_vec())
        .collect();
    assert_eq!(received, order, "packages are listed in the order received");
    server_db
        .execute(
            "UPDATE packages SET receipt = NULL WHERE package_id = ?1",
            [order.last().unwrap().as_slice()],
        )
        .unwrap();
    server_db
        .execute(
            "UPDATE requests SET receipt = NULL WHERE request_id = ?1",
            [id.0.as_slice()],
        )
        .unwrap();
    drop(server_db);
    let mut bytes = 0;
    let (record, _) = de
        .fetch(&id, Some(net.addr()), t, &mut |got, _| bytes = got)
        .await
        .unwrap();
    assert_eq!(bytes, 0, "a package held was sent again");
    assert_eq!(record.packages.len(), sealed);
    assert_eq!(
        kinds(net.desk().audit(), &id)
            .iter()
            .filter(|k| **k == "receipt_received")
            .count(),
        sealed + 1
    );
    net.shutdown().await;
}

/// An order the enforcing authority had to be notified of (the person lives elsewhere) is
/// decided at once, but its evidence stays with the requested node until the authority's
/// period to raise grounds for refusal has passed (Reg. (EU) 2023/1543 Art. 10(2)).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notified_evidence_stays_until_the_enforcing_authority_may_no_longer_object() {
    let net = Net::new("notified").await;
    let de = net.requester();
    let mut r = request(70);
    r.territory.person_resides_in_issuing_state = Some(false);
    r.notification_ref = Some("IE-notification-2026-70".into());
    let prepared = net.validated(&de, r);
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(
        matches!(sent.decision.outcome, Outcome::Accept { .. }),
        "{:?}",
        sent.decision.outcome
    );
    let hold = sent
        .decision
        .due
        .release_not_before
        .expect("a notified order has a release date");
    assert!(hold.0 > now());
    let id = prepared.request.request_id;
    // Sealed, ready, and not delivered.
    assert!(net.desk().package(&id).unwrap().is_some());
    let (record, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
        .await
        .unwrap();
    assert!(package.is_none(), "evidence left before {hold}");
    assert!(record.packages.is_empty());
    assert!(record.decision.is_some());
    assert!(!kinds(net.desk().audit(), &id).contains(&"package_delivered"));
    net.shutdown().await;
}

/// A validation sent later passes the same checks as one sent with the request, and is too
/// late once its time is up even if the node's pass has not withdrawn the request yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_validation_is_checked_like_one_sent_with_the_request() {
    let net = Net::new("emergency-checks").await;
    let de = net.requester();
    let (prepared, due) = send_emergency_prepared(&net, &de, 12).await;
    let v = evx_protocol::sample::validation(&prepared.signed, &prepared.request);
    let sign =
        |v: &evx_protocol::document::JudicialValidation| Signed::sign(v, &net.judge).unwrap();

    // One second after the deadline, before any pass: too late.
    let e = net
        .desk()
        .validate(&de_id(), &sign(&v), UnixTime(due.0 + 1))
        .unwrap_err();
    assert!(e.to_string().contains("too late"), "{e}");
    // Claiming another authority type than the registry lists for the judge's key.
    let mut court = v.clone();
    court.authority_type = evx_protocol::document::AuthorityType::Prosecutor;
    let e = net
        .desk()
        .validate(&de_id(), &sign(&court), UnixTime(due.0 - 1))
        .unwrap_err();
    assert!(e.to_string().contains("registry lists"), "{e}");
    // In time and well-formed: recorded; a second one is refused.
    net.desk()
        .validate(&de_id(), &sign(&v), UnixTime(due.0 - 1))
        .unwrap();
    let e = net
        .desk()
        .validate(&de_id(), &sign(&v), UnixTime(due.0 - 1))
        .unwrap_err();
    assert!(
        e.to_string().contains("awaits no judicial validation"),
        "{e}"
    );
    assert!(
        net.desk()
            .tick(UnixTime(due.0 + 1))
            .unwrap()
            .withdrawn
            .is_empty()
    );
    net.shutdown().await;
}

/// An opening that fails part-way (an item's name is taken in the output directory) removes
/// what it wrote: no plaintext stays behind that retention would not know of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_opening_leaves_no_item_behind() {
    let net = Net::new("open-fails").await;
    let de = net.requester();
    let (prepared, _) = send_production(&net, &de, 21).await;
    let id = prepared.request.request_id;
    let t = UnixTime(now());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), t, &mut |_, _| {})
        .await
        .unwrap();
    let package = package.unwrap();
    let declared = DeclaredPurpose {
        case: prepared.request.case_id.clone(),
        purpose: Purpose::Investigation,
    };
    let out = net.tmp.0.join("taken");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("traffic.jsonl"), b"someone else's file").unwrap();
    let e = de
        .open_package(&package.path, &declared, &out, t)
        .unwrap_err();
    assert!(matches!(e, OpenPackageError::Output(_)), "{e}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, vec!["traffic.jsonl".to_owned()], "{left:?}");
    assert_eq!(
        std::fs::read(out.join("traffic.jsonl")).unwrap(),
        b"someone else's file"
    );
    // Into a free directory it opens.
    de.open_package(&package.path, &declared, &net.tmp.0.join("free"), t)
        .unwrap();
    net.shutdown().await;
}

/// The evidence cannot be collected when the order is accepted (the dataset is unreadable for
/// a while): the decision still reaches the requesting party, the failure is recorded, and the
/// node's pass carries the decision out once the dataset is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_whose_collection_fails_is_carried_out_on_a_later_pass() {
    let net = Net::new("retry").await;
    let de = net.requester();
    let away = net.tmp.0.join("dataset-away");
    std::fs::rename(&net.dataset, &away).unwrap();
    let (prepared, sent) = send_production(&net, &de, 22).await;
    assert!(matches!(sent.decision.outcome, Outcome::Accept { .. }));
    let id = prepared.request.request_id;
    assert!(net.desk().package(&id).unwrap().is_none());
    let register = evx_requested::register::Register::open(&net.ie).unwrap();
    let error = register.get(&id).unwrap().package_error;
    assert!(
        error.as_deref().is_some_and(|e| e.contains("subscribers")),
        "{error:?}"
    );
    // Still failing: tried again at the next due time, the reason kept.
    let t = UnixTime(now());
    let report = net.desk().tick(UnixTime(t.0 + 61)).unwrap();
    assert_eq!(report.execution_failed.len(), 1, "{report:?}");
    assert!(report.executed.is_empty());
    // Not before the next due time, however often the pass runs.
    std::fs::rename(&away, &net.dataset).unwrap();
    let report = net.desk().tick(UnixTime(t.0 + 62)).unwrap();
    assert!(report.executed.is_empty() && report.execution_failed.is_empty());
    let report = net.desk().tick(UnixTime(t.0 + 122)).unwrap();
    assert_eq!(report.executed, vec![id]);
    assert!(register.get(&id).unwrap().package_error.is_none());
    let (_, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
        .await
        .unwrap();
    assert!(package.is_some());
    // Carried out once.
    assert!(
        net.desk()
            .tick(UnixTime(t.0 + 500))
            .unwrap()
            .executed
            .is_empty()
    );
    net.shutdown().await;
}
