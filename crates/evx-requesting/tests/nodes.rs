//! Two nodes in one process, on 127.0.0.1 with port 0: a requesting node (DE-BfJ, through
//! [`Requester`]) and a requested node (IE-provider-LERT, a [`Desk`] behind
//! `evx_requested::serve::run`), over QUIC with mutual TLS. Each test has its own deployment
//! (CA, registry, agreement, both nodes' keys and data directories) and provider dataset in a
//! temporary directory.

mod common;

use common::*;

/// The five request types, each sent, acknowledged with a log entry the requested node's log
/// proves, and decided: under the EU example agreement preservation, production (following the
/// preservation) and emergency disclosure are accepted; Reg. 2023/1543 provides neither
/// disclosure of preserved traffic data nor real-time collection, and that refusal is only
/// proposed, for a reviewer. A status query afterwards gives the same decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_type_is_acknowledged_and_decided() {
    let net = Net::new("types").await;
    let de = net.requester();
    let t = now();

    let mut preservation = request(1);
    preservation.request_type = RequestType::Preservation;
    let preserved = preservation.request_id;
    let mut disclosure = request(2);
    disclosure.request_type = RequestType::PreservedTrafficDisclosure;
    disclosure.categories = vec![DataCategory::Traffic];
    disclosure.preservation_ref = Some(preserved);
    let mut production = request(3);
    production.preservation_ref = Some(preserved);
    let mut emergency = request(4);
    emergency.request_type = RequestType::EmergencyDisclosure;
    emergency.categories = vec![DataCategory::Subscriber];
    emergency.emergency = Some(Emergency {
        justification: "The account holder announced an attack on a school for tomorrow morning."
            .into(),
    });
    let mut real_time = request(5);
    real_time.request_type = RequestType::RealTimeCollection;
    real_time.categories = vec![DataCategory::Traffic];
    real_time.time_range = TimeRange {
        from: UnixTime(t),
        to: UnixTime(t + 5 * DAY),
    };

    let cases = [
        (de.prepare(preservation, Vec::new()).unwrap(), "accept"),
        (net.validated(&de, disclosure), "pending_review"),
        (net.validated(&de, production), "accept"),
        (de.prepare(emergency, Vec::new()).unwrap(), "accept"),
        (net.validated(&de, real_time), "pending_review"),
    ];
    for t in [
        RequestType::Preservation,
        RequestType::PreservedTrafficDisclosure,
        RequestType::Production,
        RequestType::EmergencyDisclosure,
        RequestType::RealTimeCollection,
    ] {
        let n = cases
            .iter()
            .filter(|c| c.0.request.request_type == t)
            .count();
        assert_eq!(n, 1, "{t:?}: every request type once");
    }

    for (prepared, expected) in &cases {
        let id = prepared.request.request_id;
        let what = format!("{:?}", prepared.request.request_type);
        let sent = de
            .send(prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(sent.acknowledgement.request_id, id, "{what}");
        check_ack_entry(net.desk(), &sent.acknowledgement, &prepared.signed);
        assert_eq!(sent.decision.request_id, id, "{what}");
        assert_eq!(
            outcome_name(&sent.decision.outcome),
            *expected,
            "{what}: {:?}",
            sent.decision.outcome
        );
        match (&prepared.request.request_type, &sent.decision.outcome) {
            (RequestType::Preservation, Outcome::Accept { .. }) => {
                assert!(sent.decision.due.preserve_until.is_some(), "{what}");
            }
            (
                RequestType::PreservedTrafficDisclosure | RequestType::RealTimeCollection,
                Outcome::PendingReview { reason, .. },
            ) => assert!(
                reason.contains("unsupported-instrument"),
                "{what}: {reason}"
            ),
            _ => {}
        }

        let record = de
            .status(&id, Some(net.addr()), UnixTime(now()))
            .await
            .unwrap();
        assert_eq!(record.decision.as_ref(), Some(&sent.decision), "{what}");
        assert_eq!(
            record.acknowledgement.as_ref(),
            Some(&sent.acknowledgement),
            "{what}"
        );
        assert!(record.sent_at.is_some(), "{what}");
        // The status query gave the same decision: it is not logged a second time.
        assert_eq!(
            kinds(de.audit(), &id),
            [
                "request_created",
                "request_sent",
                "acknowledgement_received",
                "decision"
            ],
            "{what}"
        );
        // Evidence is sealed for an accepted request that is not a preservation, only.
        let sealed =
            *expected == "accept" && prepared.request.request_type != RequestType::Preservation;
        let mut on_server = vec!["request_received", "decision"];
        if sealed {
            on_server.push("package_sealed");
        }
        // An accepted preservation places its hold.
        if *expected == "accept" && prepared.request.request_type == RequestType::Preservation {
            on_server.push("preservation_placed");
        }
        assert_eq!(kinds(net.desk().audit(), &id), on_server, "{what}");
        assert_eq!(net.desk().package(&id).unwrap().is_some(), sealed, "{what}");
    }
    net.desk().audit().verify().unwrap();
    de.audit().verify().unwrap();
    net.shutdown().await;
}

/// An accepted production is fetched, verified and answered with a receipt, both logs record
/// it, and the package opens for the request's case and purpose — into the selected account's
/// records only — and for nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_production_is_delivered_verified_and_opened() {
    let net = Net::new("deliver").await;
    let de = net.requester();
    let (prepared, sent) = send_production(&net, &de, 1).await;
    let request = &prepared.request;
    let id = request.request_id;

    let mut progress = (0u64, 0u64);
    let (record, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |got, total| {
            progress = (got, total)
        })
        .await
        .unwrap();
    let package = package.expect("an accepted production delivers a package");
    assert_eq!(record.decision.as_ref(), Some(&sent.decision));
    assert_eq!(record.packages.len(), 1);
    assert_eq!(record.packages[0].package_id, package.package_id);
    assert!(package.path.starts_with(net.de.data_dir.join("packages")));
    // Stored at rest in the vault, under the package's own data key: a little larger than
    // the sealed package (a header and a tag per 64 KiB).
    let stored = std::fs::metadata(&package.path).unwrap().len();
    assert!(stored > package.sealed_length && stored < package.sealed_length + 4096);
    assert_eq!(progress, (package.sealed_length, package.sealed_length));
    assert_eq!(package.items, 2, "subscriber and traffic data");

    // The requested node logged the delivery and the receipt, the requesting node the
    // package and the receipt; the receipt is the same on both sides.
    assert_eq!(
        kinds(net.desk().audit(), &id),
        [
            "request_received",
            "decision",
            "package_sealed",
            "package_delivered",
            "receipt_received"
        ]
    );
    let server_events = events(net.desk().audit());
    let client_events = events(de.audit());
    let delivered = server_events.iter().find_map(|e| match e.kind {
        EventKind::PackageDelivered { package_id } => Some(package_id),
        _ => None,
    });
    assert_eq!(delivered, Some(package.package_id));
    let received = client_events.iter().find_map(|e| match e.kind {
        EventKind::PackageReceived { package_id } => Some(package_id),
        _ => None,
    });
    assert_eq!(received, Some(package.package_id));
    let receipt_received = server_events.iter().find_map(|e| match e.kind {
        EventKind::ReceiptReceived { receipt_digest } => Some(receipt_digest),
        _ => None,
    });
    let receipt_sent = client_events.iter().find_map(|e| match e.kind {
        EventKind::ReceiptSent { receipt_digest } => Some(receipt_digest),
        _ => None,
    });
    assert!(receipt_sent.is_some());
    assert_eq!(receipt_received, receipt_sent);
    assert_eq!(
        kinds(de.audit(), &id),
        [
            "request_created",
            "request_sent",
            "acknowledgement_received",
            "decision",
            "package_received",
            "receipt_sent"
        ]
    );

    // Opened for the request's own case and purpose: the items, only the selected account's.
    let declared = DeclaredPurpose {
        case: request.case_id.clone(),
        purpose: request.purpose,
    };
    let out = net.tmp.0.join("opened");
    let opened = de
        .open_package(&package.path, &declared, &out, UnixTime(now()))
        .unwrap();
    assert_eq!(opened.package_id, package.package_id);
    let names: Vec<&str> = opened
        .items
        .iter()
        .map(|i| i.path.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["subscribers.jsonl", "traffic.jsonl"]);
    for item in &opened.items {
        assert_eq!(std::fs::metadata(&item.path).unwrap().len(), item.length);
    }
    let account = account_name(0);
    let subscribers = lines(&out.join("subscribers.jsonl"));
    assert_eq!(subscribers.len(), 1);
    assert_eq!(field(&subscribers[0], "account"), account);
    let in_range = |l: &String| {
        let ts: u64 = field(l, "ts").parse().unwrap();
        request.time_range.contains(UnixTime(ts))
    };
    let traffic = lines(&out.join("traffic.jsonl"));
    let source: Vec<String> = lines(&net.dataset.join("traffic.jsonl"))
        .into_iter()
        .filter(in_range)
        .collect();
    let (theirs, others): (Vec<&String>, Vec<&String>) =
        source.iter().partition(|l| field(l, "account") == account);
    assert!(
        !others.is_empty(),
        "the dataset holds other accounts' traffic"
    );
    assert!(!theirs.is_empty());
    assert!(traffic.iter().all(|l| field(l, "account") == account));
    assert!(traffic.iter().all(in_range));
    let mut got = traffic.clone();
    let mut want: Vec<String> = theirs.into_iter().cloned().collect();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "every connection of the account in range, and nothing else"
    );
    assert!(events(de.audit()).iter().any(|e| matches!(
        e.kind,
        EventKind::PackageOpened { package_id } if package_id == package.package_id
    ) && e.purpose == Some(request.purpose)));

    // Opened for another purpose, or another case: refused before anything is written, and
    // logged with the purpose declared.
    let other_purpose = DeclaredPurpose {
        case: request.case_id.clone(),
        purpose: Purpose::Prosecution,
    };
    let other_case = DeclaredPurpose {
        case: CaseId::new("FR-PNC/2026/77").unwrap(),
        purpose: request.purpose,
    };
    for (k, declared) in [other_purpose, other_case].iter().enumerate() {
        let out = net.tmp.0.join(format!("refused-{k}"));
        match de.open_package(&package.path, declared, &out, UnixTime(now())) {
            Err(OpenPackageError::PurposeRefused(_)) => {}
            other => panic!("{declared:?}: expected a purpose refusal, got {other:?}"),
        }
        assert!(
            files_in(&out).is_empty(),
            "{declared:?}: {:?}",
            files_in(&out)
        );
    }
    let refusals: Vec<Event> = events(de.audit())
        .into_iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::OpenRefused { package_id, reason: OpenRefusal::Purpose }
                    if package_id == package.package_id
            )
        })
        .collect();
    assert_eq!(refusals.len(), 2);
    assert_eq!(refusals[0].purpose, Some(Purpose::Prosecution));

    let (server_log, client_log) = (
        net.desk().audit().verify().unwrap(),
        de.audit().verify().unwrap(),
    );
    assert_eq!(server_log.entries, net.desk().audit().size().unwrap());
    assert_eq!(client_log.entries, de.audit().size().unwrap());
    net.shutdown().await;
}

/// A wildcard account is bulk collection. Under the example agreement the engine only proposes
/// the refusal (no solely automated adverse decision): the request waits for a reviewer. With
/// `bulk-selector` among the agreement's automatic refusals, the engine refuses it alone.
/// Either way nothing is sealed and a fetch gets no package.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_selector_is_refused() {
    let mut net = Net::new("bulk").await;
    let de = net.requester();
    let bulk = |id: u8| {
        let mut r = request(id);
        r.selectors = vec![Selector::Account {
            service: SERVICE.into(),
            account: "*".into(),
        }];
        r
    };

    let prepared = net.validated(&de, bulk(1));
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    match &sent.decision.outcome {
        Outcome::PendingReview { reason, .. } => {
            assert!(reason.contains("bulk-selector"), "{reason}");
        }
        other => panic!("expected a proposed refusal, got {other:?}"),
    }

    let agreement = net.dir.join("agreement.toml");
    let text = std::fs::read_to_string(&agreement).unwrap();
    let from = "automatic_refusals = [\"transfers-suspended\"]";
    assert!(text.contains(from));
    std::fs::write(
        &agreement,
        text.replace(
            from,
            "automatic_refusals = [\"transfers-suspended\", \"bulk-selector\"]",
        ),
    )
    .unwrap();
    net.restart().await;

    let prepared = net.validated(&de, bulk(2));
    let id = prepared.request.request_id;
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    match &sent.decision.outcome {
        Outcome::Refuse { grounds } => {
            assert!(
                grounds
                    .iter()
                    .any(|g| g.code == "bulk-selector" && g.explanation.contains("bulk")),
                "{grounds:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    for id in [RequestId([1; 16]), id] {
        let (record, package) = de
            .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
            .await
            .unwrap();
        assert!(package.is_none());
        assert!(record.packages.is_empty());
        assert!(net.desk().package(&id).unwrap().is_none());
        assert!(!kinds(net.desk().audit(), &id).contains(&"package_sealed"));
    }
    assert_eq!(
        de.record(&id).unwrap().decision.as_ref(),
        Some(&sent.decision)
    );
    assert!(files_in(&net.de.data_dir.join("packages")).is_empty());
    net.shutdown().await;
}

/// Traffic data for a person not known to live in the issuing state, without the reference of
/// the notification to the enforcing authority: returned incomplete, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_without_notification_is_incomplete() {
    let net = Net::new("incomplete").await;
    let de = net.requester();
    let mut r = request(1);
    r.territory.person_resides_in_issuing_state = None;
    assert!(r.notification_ref.is_none());
    let prepared = net.validated(&de, r);
    let id = prepared.request.request_id;
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    check_ack_entry(net.desk(), &sent.acknowledgement, &prepared.signed);
    match &sent.decision.outcome {
        Outcome::Incomplete { missing } => {
            let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
            assert_eq!(fields, ["notification_ref"]);
        }
        other => panic!("expected incomplete, got {other:?}"),
    }
    let (record, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
        .await
        .unwrap();
    assert!(package.is_none());
    assert_eq!(record.decision.as_ref(), Some(&sent.decision));
    assert_eq!(
        kinds(net.desk().audit(), &id),
        ["request_received", "decision"]
    );
    net.shutdown().await;
}

/// A node the deployment's CA issued after the server started: the registry file lists it now,
/// but the running server loaded its registry before, so its connection is turned away before
/// any request is read, and the server logs nothing. DE-BfJ is still served afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_issued_after_the_server_started_is_turned_away() {
    let net = Net::new("unknown").await;
    let fr = PartyId::new("FR-PNC").unwrap();
    let fr_config =
        NodeConfig::load(&pki::issue(&net.dir, &fr, "France", 4440, now()).unwrap()).unwrap();
    let fr_node = Requester::open(&fr_config).unwrap();
    assert!(fr_node.registry().party(&fr).is_some());
    assert!(fr_node.registry().party(&ie_id()).is_some());

    let mut r = request(1);
    r.requesting_party = fr.clone();
    let prepared = fr_node.prepare(r, Vec::new()).unwrap();
    let err = fr_node
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap_err();
    match &err {
        ClientError::Connect(e) => {
            assert!(e.to_string().contains("not in the registry"), "{e}")
        }
        other => panic!("expected the connection to be refused, got {other:?}"),
    }
    // The same over a raw connection: the server closes it with the UNKNOWN_PARTY code.
    let (_client, conn) = raw_connect(&tls_files(&fr_config), net.addr()).await;
    let reason = match conn {
        Err(e) => e,
        Ok(conn) => {
            let reply = exchange(&conn, &Message::Request(prepared.signed.clone()).encode()).await;
            assert!(reply.is_err(), "the server answered: {reply:?}");
            conn.closed().await
        }
    };
    match reason {
        quinn::ConnectionError::ApplicationClosed(c) => {
            assert_eq!(c.error_code, u32::from(ErrorReport::UNKNOWN_PARTY).into());
        }
        other => panic!("expected the server to close the connection, got {other:?}"),
    }
    assert_eq!(net.desk().audit().size().unwrap(), 0);
    assert!(
        net.desk()
            .decision(&prepared.request.request_id)
            .unwrap()
            .is_none()
    );

    let de = net.requester();
    send_production(&net, &de, 2).await;
    // request_received, decision, package_sealed, and DE's checkpoint cosigned.
    assert_eq!(net.desk().audit().size().unwrap(), 4);
    net.shutdown().await;
}

/// A node of another deployment (another CA) is refused on TLS: the requesting node refuses
/// the server's certificate, and the server refuses the foreign client certificate even when
/// the client trusts the server. Nothing reaches the server's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_from_another_ca_is_refused() {
    let net = Net::new("foreign").await;
    let other_tmp = TempDir::new("foreign-other");
    let other = pki::init(
        &other_tmp.0,
        (&de_id(), "Germany"),
        (&ie_id(), "Provider"),
        now(),
    )
    .unwrap();
    let other_de = NodeConfig::load(&other.requesting_config).unwrap();

    // Through the requesting node: it does not take the server for a node of its deployment.
    let stranger = Requester::open(&other_de).unwrap();
    let prepared = stranger.prepare(request(1), Vec::new()).unwrap();
    let err = stranger
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Connect(ConnectError::Authentication(_))),
        "{err:?}"
    );
    drop(stranger);

    // The server's side: the foreign certificate and key, with this deployment's CA trusted so
    // that the client accepts the server. The server refuses the client certificate.
    let mut files = tls_files(&other_de);
    let home = tls_files(&net.de);
    files.roots = home.roots.clone();
    files.crls = home.crls.clone();
    let signed = Message::Request(prepared.signed.clone()).encode();
    let (_client, conn) = raw_connect(&files, net.addr()).await;
    let reason = match conn {
        Err(e) => e,
        Ok(conn) => {
            let reply = exchange(&conn, &signed).await;
            assert!(reply.is_err(), "the server answered: {reply:?}");
            conn.closed().await
        }
    };
    // Closed by the server (a TLS alert), not by this end.
    assert!(
        matches!(reason, quinn::ConnectionError::ConnectionClosed(_)),
        "expected the server to refuse, got {reason:?}"
    );
    let err = ConnectError::from_connection(&reason);
    assert!(matches!(err, ConnectError::Authentication(_)), "{err:?}");

    // The control: this deployment's own certificate gets through TLS the same way, and the
    // stranger's request is then refused only for its signature.
    let (_client, conn) = raw_connect(&home, net.addr()).await;
    let reply = exchange(&conn.unwrap(), &signed).await.unwrap();
    assert!(
        matches!(&reply[..], [Message::Error(r)] if r.code() == ErrorReport::BAD_SIGNATURE),
        "{reply:?}"
    );
    assert_eq!(net.desk().audit().size().unwrap(), 0);
    net.shutdown().await;
}

/// DE-BfJ's certificate revoked and the server restarted (it reads the CRL when it starts):
/// the requesting node's connection is refused on authentication, and nothing is logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_certificate_is_refused() {
    let mut net = Net::new("revoked").await;
    let de = net.requester();
    let (first, _) = send_production(&net, &de, 1).await;

    pki::revoke(&net.dir, &de_id(), now()).unwrap();
    net.restart().await;
    let logged = net.desk().audit().size().unwrap();

    let prepared = net.validated(&de, request(2));
    let err = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Connect(ConnectError::Authentication(m))
            if m.to_lowercase().contains("revoked")),
        "{err:?}"
    );
    let err = de
        .fetch(
            &first.request.request_id,
            Some(net.addr()),
            UnixTime(now()),
            &mut |_, _| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Connect(ConnectError::Authentication(_))),
        "{err:?}"
    );
    assert_eq!(net.desk().audit().size().unwrap(), logged);
    assert!(
        net.desk()
            .decision(&prepared.request.request_id)
            .unwrap()
            .is_none()
    );
    net.shutdown().await;
}

/// The same prepared request sent twice: the second is refused as a replay, the server logged
/// the request once, and the requesting node keeps the first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_request_is_refused() {
    let net = Net::new("replay").await;
    let de = net.requester();
    let (prepared, sent) = send_production(&net, &de, 1).await;
    let id = prepared.request.request_id;
    let err = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap_err();
    match &err {
        ClientError::Refused { party, code, .. } => {
            assert_eq!(*code, ErrorReport::REPLAY, "{err}");
            assert_eq!(party, &ie_id());
        }
        other => panic!("expected a replay refusal, got {other:?}"),
    }
    let received = kinds(net.desk().audit(), &id)
        .into_iter()
        .filter(|k| *k == "request_received")
        .count();
    assert_eq!(received, 1);
    let record = de.record(&id).unwrap();
    assert_eq!(record.decision.as_ref(), Some(&sent.decision));
    assert_eq!(record.acknowledgement.as_ref(), Some(&sent.acknowledgement));
    net.shutdown().await;
}

/// One byte of the sealed package altered on the requested node before the fetch: the
/// requesting node rejects the package, stores nothing, sends no receipt, and the requested
/// node records none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_package_is_rejected() {
    let mut net = Net::new("altered").await;
    let de = net.requester();
    let (prepared, _) = send_production(&net, &de, 1).await;
    let id = prepared.request.request_id;

    let path = net
        .desk()
        .package(&id)
        .unwrap()
        .expect("the accepted production was sealed");
    assert!(path.starts_with(net.ie.data_dir.join("packages")));
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("evx1"));
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let err = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::PackageRejected { party, .. } if party == &ie_id()),
        "{err:?}"
    );
    assert!(de.record(&id).unwrap().packages.is_empty());
    assert!(
        files_in(&net.de.data_dir.join("packages")).is_empty(),
        "{:?}",
        files_in(&net.de.data_dir.join("packages"))
    );
    let client = kinds(de.audit(), &id);
    assert!(!client.contains(&"package_received"), "{client:?}");
    assert!(!client.contains(&"receipt_sent"), "{client:?}");
    // Stopping the server waits for its streams in flight: whatever it would record of this
    // delivery is recorded by then.
    net.restart().await;
    let server = kinds(net.desk().audit(), &id);
    assert!(!server.contains(&"receipt_received"), "{server:?}");
    net.desk().audit().verify().unwrap();
    de.audit().verify().unwrap();
    net.shutdown().await;
}

/// Garbage from a node with a valid certificate: every malformed stream gets its error report
/// with the right code, nothing is logged, and the same connection — and then the requesting
/// node — still gets a legitimate request decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_frames_get_error_reports() {
    let net = Net::new("garbage").await;
    let de = net.requester();
    let prepared = net.validated(&de, request(1));
    let whole = Message::Request(prepared.signed.clone()).encode();
    let (_client, conn) = raw_connect(&tls_files(&net.de), net.addr()).await;
    let conn = conn.unwrap();

    // Pseudo-random bytes (fixed, so the expected code is known): not this version's frame.
    let noise = sample::payload(11, 4096);
    assert_ne!(noise[4], VERSION);
    let reply = exchange(&conn, &noise).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::UNSUPPORTED_VERSION);
    // A request frame whose body is noise too short for a signature envelope.
    let frame = Frame::new(MessageKind::Request, sample::payload(12, 40)).unwrap();
    let reply = exchange(&conn, &frame.encode()).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::MALFORMED_DOCUMENT);
    // A request frame whose body is noise long enough to pass for an envelope: the signer it
    // names is not DE-BfJ's registered document key.
    let frame = Frame::new(MessageKind::Request, sample::payload(12, 600)).unwrap();
    let reply = exchange(&conn, &frame.encode()).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::BAD_SIGNATURE);
    // A header announcing a 4 GiB request body: refused from the header alone.
    let mut huge = u32::MAX.to_be_bytes().to_vec();
    huge.extend([VERSION, MessageKind::Request as u8]);
    huge.extend(sample::payload(13, 1024));
    let reply = exchange(&conn, &huge).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::TOO_LARGE);
    // The signed request cut off in its body, and in its header.
    let reply = exchange(&conn, &whole[..whole.len() / 2]).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::MALFORMED_FRAME);
    let reply = exchange(&conn, &whole[..3]).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::MALFORMED_FRAME);
    // An unknown kind.
    let mut unknown = whole.clone();
    unknown[5] = 0x42;
    let reply = exchange(&conn, &unknown).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::UNKNOWN_KIND);
    // A validation on its own is a late validation: of a request never received, not found.
    let validation = Message::Validation(prepared.validations[0].clone()).encode();
    let reply = exchange(&conn, &validation).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::NOT_FOUND);
    // A witness's answer where a request should be.
    let stray = Message::Cosigned(evx_protocol::witnessing::Cosigned {
        v: 1,
        note: None,
        cosigned_size: 0,
    })
    .encode();
    let reply = exchange(&conn, &stray).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::UNEXPECTED_MESSAGE);
    // An error report is never answered with another.
    let stray = Message::Error(ErrorReport::new(1, "stray")).encode();
    assert!(exchange(&conn, &stray).await.unwrap().is_empty());
    // The whole request, then its validation cut short.
    let mut cut = whole.clone();
    cut.extend(&validation[..validation.len() - 10]);
    let reply = exchange(&conn, &cut).await.unwrap();
    assert_eq!(report_code(&reply), ErrorReport::MALFORMED_FRAME);
    assert_eq!(
        net.desk().audit().size().unwrap(),
        0,
        "garbage is not logged"
    );
    assert!(
        net.desk()
            .decision(&prepared.request.request_id)
            .unwrap()
            .is_none()
    );

    // The same connection: the request whole, with its validation, is acknowledged and
    // accepted (the truncated copies were not taken in: no replay).
    let mut bytes = whole.clone();
    for v in &prepared.validations {
        bytes.extend(Message::Validation(v.clone()).encode());
    }
    let provider =
        evx_node::pki::registry_documents_key(de.registry().party(&ie_id()).unwrap()).unwrap();
    match &exchange(&conn, &bytes).await.unwrap()[..] {
        [Message::Acknowledgement(ack), Message::Decision(decision)] => {
            let ack = ack.verify(&provider).unwrap();
            check_ack_entry(net.desk(), &ack, &prepared.signed);
            let decision = decision.verify(&provider).unwrap();
            assert!(
                matches!(decision.outcome, Outcome::Accept { .. }),
                "{:?}",
                decision.outcome
            );
        }
        other => panic!("expected an acknowledgement and a decision, got {other:?}"),
    }
    conn.close(0u32.into(), b"done");

    // And through the requesting node.
    send_production(&net, &de, 2).await;
    net.desk().audit().verify().unwrap();
    net.shutdown().await;
}

/// The server restarted between the request and the fetch (a new desk on the same data
/// directory): the fetch gets the package, and the server's log still holds every entry from
/// before the restart and verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_after_server_restart() {
    let mut net = Net::new("restart").await;
    let de = net.requester();
    let (prepared, sent) = send_production(&net, &de, 1).await;
    let id = prepared.request.request_id;
    let log = net.desk().audit();
    let before: Vec<Vec<u8>> = (0..log.size().unwrap())
        .map(|i| log.entry(i).unwrap())
        .collect();
    // request_received, decision, package_sealed, and DE's checkpoint cosigned.
    assert_eq!(before.len(), 4);
    let old = net.addr();

    net.restart().await;
    assert_ne!(net.addr(), old);
    let record = de
        .status(&id, Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert_eq!(record.decision.as_ref(), Some(&sent.decision));
    let (record, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
        .await
        .unwrap();
    let package = package.expect("the package sealed before the restart is delivered");
    assert_eq!(record.packages.len(), 1);
    assert!(package.path.is_file());

    let log = net.desk().audit();
    let report = log.verify().unwrap();
    assert_eq!(report.entries, log.size().unwrap());
    for (i, entry) in before.iter().enumerate() {
        assert_eq!(&log.entry(i as u64).unwrap(), entry, "entry {i}");
    }
    assert_eq!(
        kinds(log, &id),
        [
            "request_received",
            "decision",
            "package_sealed",
            "package_delivered",
            "receipt_received"
        ]
    );
    de.audit().verify().unwrap();
    net.shutdown().await;
}

/// A request the requested node took in, whose answer never reached the requesting node (a
/// dropped connection; simulated here by delivering the same signed bytes on a raw connection
/// and discarding the answer), sent again: the retry is refused as a replay — rightly — but the
/// requesting node must still know the request, so that it can ask for the decision and fetch
/// the evidence the requested node holds for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_a_lost_answer_keeps_the_request() {
    let net = Net::new("lost-answer").await;
    let de = net.requester();
    let prepared = net.validated(&de, request(1));
    let id = prepared.request.request_id;

    let (_client, conn) = raw_connect(&tls_files(&net.de), net.addr()).await;
    let conn = conn.unwrap();
    let mut bytes = Message::Request(prepared.signed.clone()).encode();
    for v in &prepared.validations {
        bytes.extend(Message::Validation(v.clone()).encode());
    }
    let reply = exchange(&conn, &bytes).await.unwrap();
    assert!(
        matches!(
            &reply[..],
            [Message::Acknowledgement(_), Message::Decision(_)]
        ),
        "{reply:?}"
    );
    conn.close(0u32.into(), b"answer lost");
    assert!(net.desk().package(&id).unwrap().is_some());

    let err = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Refused {
                code: ErrorReport::REPLAY,
                ..
            }
        ),
        "{err:?}"
    );
    let record = de
        .status(&id, Some(net.addr()), UnixTime(now()))
        .await
        .expect("the requesting node forgot a request the requested node holds");
    assert!(
        matches!(
            record.decision.as_ref().map(|d| &d.outcome),
            Some(Outcome::Accept { .. })
        ),
        "{:?}",
        record.decision
    );
    let (_, package) = de
        .fetch(&id, Some(net.addr()), UnixTime(now()), &mut |_, _| {})
        .await
        .unwrap();
    assert!(package.is_some());
    net.shutdown().await;
}
