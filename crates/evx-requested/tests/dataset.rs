//! The evidence source: a generated dataset is deterministic, and collection takes exactly the
//! records a request covers — its categories, its accounts, its time range — and nothing else.

use std::path::{Path, PathBuf};

use evx_protocol::document::{DataCategory, Selector, TimeRange};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::sample;
use evx_requested::dataset::{self, Connection, DatasetError, MessageRecord, Subscriber};

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("evx-dataset-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Self(p)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const END: UnixTime = UnixTime(1_795_165_200);
const DAY: u64 = 86_400;

fn lines<T: for<'de> serde::Deserialize<'de>>(p: &Path) -> Vec<T> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn generation_is_deterministic_and_realistic() {
    let (a, b) = (Dir::new("gen-a"), Dir::new("gen-b"));
    let g = dataset::generate(&a.0, 20, 10, END, 7).unwrap();
    assert_eq!(dataset::generate(&b.0, 20, 10, END, 7).unwrap(), g);
    for f in [
        "subscribers.jsonl",
        "traffic.jsonl",
        "content/anna.lenz0.jsonl",
    ] {
        assert_eq!(
            std::fs::read(a.0.join(f)).unwrap(),
            std::fs::read(b.0.join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(g.subscribers, 20);
    assert!(g.connections >= 20 * 10);
    let subs: Vec<Subscriber> = lines(&a.0.join("subscribers.jsonl"));
    assert!(
        subs.iter()
            .all(|s| s.phone.starts_with("+353") && s.email.contains('@'))
    );
    let traffic: Vec<Connection> = lines(&a.0.join("traffic.jsonl"));
    assert!(
        traffic
            .iter()
            .all(|c| c.ts <= END.0 && c.ts >= END.0 - 10 * DAY)
    );
}

#[test]
fn collection_takes_only_what_the_request_covers() {
    let (data, out) = (Dir::new("collect-data"), Dir::new("collect-out"));
    dataset::generate(&data.0, 30, 14, END, 9).unwrap();
    let target = dataset::account_name(5);
    let mut r = sample::production_request(RequestId([1; 16]));
    r.categories = vec![
        DataCategory::Subscriber,
        DataCategory::Traffic,
        DataCategory::Content,
    ];
    r.selectors = vec![Selector::Account {
        service: "mail.provider.example".into(),
        account: target.clone(),
    }];
    r.time_range = TimeRange {
        from: UnixTime(END.0 - 3 * DAY),
        to: END,
    };
    let items = dataset::collect(&data.0, &r, &out.0, END.plus_secs(60)).unwrap();
    let names: Vec<&str> = items.iter().map(|i| i.spec.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "subscribers.jsonl",
            "traffic.jsonl",
            &format!("content-{target}.jsonl")
        ]
    );
    for i in &items {
        assert_eq!(std::fs::metadata(&i.path).unwrap().len(), i.spec.length);
        assert_eq!(i.spec.collection.collected_at, END.plus_secs(60));
        assert!(i.spec.collection.source.starts_with("provider-dataset/"));
    }
    let subs: Vec<Subscriber> = lines(&items[0].path);
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].account, target);
    // Exactly the target's connections inside the range.
    let all: Vec<Connection> = lines(&data.0.join("traffic.jsonl"));
    let want: Vec<&Connection> = all
        .iter()
        .filter(|c| c.account == target && r.time_range.contains(UnixTime(c.ts)))
        .collect();
    let got: Vec<Connection> = lines(&items[1].path);
    assert!(!got.is_empty());
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    assert_eq!(items[1].records, want.len() as u64);
    let msgs: Vec<MessageRecord> = lines(&items[2].path);
    assert!(
        msgs.iter()
            .all(|m| r.time_range.contains(UnixTime(m.ts)) && m.from.starts_with(&target))
    );

    // Identification: the one connection an address, port and time name, and its subscriber.
    let out2 = Dir::new("collect-ident");
    let conn = &all[all.len() / 2];
    let mut r = sample::production_request(RequestId([2; 16]));
    r.categories = vec![DataCategory::Identification];
    r.selectors = vec![Selector::IpAddress {
        address: conn.src,
        port: Some(conn.src_port),
        at: UnixTime(conn.ts),
    }];
    r.time_range = TimeRange {
        from: UnixTime(0),
        to: END,
    };
    let items = dataset::collect(&data.0, &r, &out2.0, END).unwrap();
    let ident: Vec<Connection> = lines(&items[0].path);
    assert_eq!(ident, std::slice::from_ref(conn));
    let subs: Vec<Subscriber> = lines(&items[1].path);
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].account, conn.account);
    // No traffic or content was asked for, and none was collected.
    assert_eq!(items.len(), 2);
}

#[test]
fn a_malformed_record_is_named_by_file_and_line() {
    let (data, out) = (Dir::new("bad-data"), Dir::new("bad-out"));
    dataset::generate(&data.0, 3, 2, END, 1).unwrap();
    let path = data.0.join("subscribers.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"account\": 42}\n");
    std::fs::write(&path, text).unwrap();
    let r = sample::production_request(RequestId([1; 16]));
    match dataset::collect(&data.0, &r, &out.0, END) {
        Err(DatasetError::Record { path: p, line, .. }) => {
            assert_eq!(p, path);
            assert_eq!(line, 4);
        }
        other => panic!("expected the bad line named, got {other:?}"),
    }
}
