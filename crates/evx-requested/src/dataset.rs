//! The evidence source: a provider's records as files, and collection that takes only what a
//! request covers.
//!
//! A provider dataset is a directory:
//!
//! ```text
//! subscribers.jsonl            one subscriber per line: account, service, name, email, phone,
//!                              postal address, customer since, device ids
//! traffic.jsonl                one connection per line: time, account, source and destination
//!                              address and port, protocol, bytes (any order; the generator
//!                              writes them grouped by account, in time order)
//! content/<account>.jsonl      one message per line: time, from, to, subject, body
//! ```
//!
//! [`collect`] reads them line by line (memory stays flat whatever their size) and writes one
//! item file per category: only records of the requested categories, only for the accounts the
//! selectors name, only inside the request's time range. Each item carries its source and
//! collection time for the package manifest.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use evx_protocol::document::{DataCategory, EvidenceRequest, Instrument, Selector};
use evx_protocol::ids::UnixTime;
use evx_protocol::package::{Collection, ItemSpec};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

/// The longest line read from a dataset file: a longer one is refused, not allocated.
pub const MAX_LINE: usize = 64 * 1024;

/// A subscriber record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    /// The account name.
    pub account: String,
    /// The service it is held at.
    pub service: String,
    /// The holder's name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// Their phone number (E.164).
    pub phone: String,
    /// Their postal address.
    pub address: String,
    /// Customer since (POSIX seconds).
    pub since: u64,
    /// Device identifiers seen on the account.
    pub devices: Vec<String>,
}

/// One connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// When (POSIX seconds).
    pub ts: u64,
    /// The account.
    pub account: String,
    /// Source address.
    pub src: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Bytes transferred.
    pub bytes: u64,
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRecord {
    /// When (POSIX seconds).
    pub ts: u64,
    /// Sender address.
    pub from: String,
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// Why a dataset could not be read, written or collected from.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not a record of the file's kind.
    #[error("{path}, line {line}: {reason}")]
    Record {
        /// The file.
        path: PathBuf,
        /// The line number (from 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a JSON-lines file record by record, refusing over-long lines before buffering them.
fn for_each<T: for<'de> Deserialize<'de>>(
    path: &Path,
    mut f: impl FnMut(T) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    for_each_line(path, |record, _| f(record))
}

/// Like [`for_each`], also giving each record's line as it is in the file (without its line
/// end): what a collection copies, so that the evidence is the provider's own bytes.
fn for_each_line<T: for<'de> Deserialize<'de>>(
    path: &Path,
    mut f: impl FnMut(T, &[u8]) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path)(e)),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io(path))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        if buf.len() > MAX_LINE {
            return Err(DatasetError::Record {
                path: path.to_owned(),
                line,
                reason: format!("longer than {MAX_LINE} bytes"),
            });
        }
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = serde_json::from_slice(text).map_err(|e| DatasetError::Record {
            path: path.to_owned(),
            line,
            reason: e.to_string(),
        })?;
        f(record, text)?;
    }
}

/// A missing file of the dataset means no records of that kind; a missing dataset means the
/// source is not there (an unmounted volume, a wrong path), not that it holds nothing.
fn present(dir: &Path) -> Result<(), DatasetError> {
    if dir.join("subscribers.jsonl").is_file() {
        Ok(())
    } else {
        Err(io(dir)(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no subscribers.jsonl: the dataset is missing or incomplete",
        )))
    }
}

fn writer(path: &Path) -> Result<BufWriter<File>, DatasetError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    Ok(BufWriter::new(File::create(path).map_err(io(path))?))
}

/// Copies a record's line as it was read (checked already), with a line end.
fn copy_line(w: &mut BufWriter<File>, path: &Path, text: &[u8]) -> Result<u64, DatasetError> {
    w.write_all(text).map_err(io(path))?;
    w.write_all(b"\n").map_err(io(path))?;
    Ok(text.len() as u64 + 1)
}

fn write_line(
    w: &mut BufWriter<File>,
    path: &Path,
    record: &impl Serialize,
) -> Result<u64, DatasetError> {
    let mut bytes = serde_json::to_vec(record).map_err(|e| DatasetError::Record {
        path: path.to_owned(),
        line: 0,
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    w.write_all(&bytes).map_err(io(path))?;
    Ok(bytes.len() as u64)
}

const FIRST: [&str; 16] = [
    "anna", "ben", "carla", "david", "eva", "finn", "greta", "hugo", "ines", "jonas", "katrin",
    "lukas", "maria", "niall", "orla", "paul",
];
const LAST: [&str; 16] = [
    "lenz", "murphy", "schmidt", "kelly", "weber", "byrne", "fischer", "walsh", "wagner", "ryan",
    "becker", "doyle", "hoffmann", "brennan", "koch", "quinn",
];
const STREETS: [&str; 8] = [
    "Harbour Road",
    "Main Street",
    "Church Lane",
    "Station Road",
    "Mill Street",
    "Green Park",
    "Quay Street",
    "Abbey Street",
];

/// What [`generate`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generated {
    /// Subscribers.
    pub subscribers: u64,
    /// Connections.
    pub connections: u64,
    /// Messages.
    pub messages: u64,
}

/// The account names [`generate`] uses, in order: `anna.lenz0`, `ben.murphy1`, …
pub fn account_name(i: u32) -> String {
    format!(
        "{}.{}{i}",
        FIRST[i as usize % 16],
        LAST[(i as usize / 16) % 16]
    )
}

/// Writes a synthetic provider dataset to `dir`: `accounts` subscribers, their connections
/// and messages over the `days` days before `end`. The same seed gives the same dataset.
pub fn generate(
    dir: &Path,
    accounts: u32,
    days: u32,
    end: UnixTime,
    seed: u64,
) -> Result<Generated, DatasetError> {
    const SERVICE: &str = "mail.provider.example";
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let start = end.0.saturating_sub(u64::from(days) * 86_400);
    let sub_path = dir.join("subscribers.jsonl");
    let traffic_path = dir.join("traffic.jsonl");
    let mut subs = writer(&sub_path)?;
    let mut traffic = writer(&traffic_path)?;
    let mut counts = Generated {
        subscribers: 0,
        connections: 0,
        messages: 0,
    };
    let mut connections: Vec<Connection> = Vec::new();
    for i in 0..accounts {
        let account = account_name(i);
        let (first, last) = (FIRST[i as usize % 16], LAST[(i as usize / 16) % 16]);
        let sub = Subscriber {
            account: account.clone(),
            service: SERVICE.into(),
            name: format!(
                "{}{} {}{}",
                &first[..1].to_uppercase(),
                &first[1..],
                &last[..1].to_uppercase(),
                &last[1..]
            ),
            email: format!("{account}@{SERVICE}"),
            phone: format!("+3538{}", 10_000_000 + rng.next_u32() % 89_999_999),
            address: format!(
                "{} {}, Dublin",
                1 + rng.next_u32() % 120,
                STREETS[(rng.next_u32() % 8) as usize]
            ),
            since: start.saturating_sub(u64::from(rng.next_u32() % 1000) * 86_400),
            devices: vec![format!(
                "35{:013}",
                u64::from(rng.next_u32()) * 1000 + u64::from(i)
            )],
        };
        write_line(&mut subs, &sub_path, &sub)?;
        counts.subscribers += 1;
        let home = IpAddr::from([203, 0, 113, (rng.next_u32() % 254 + 1) as u8]);
        for d in 0..days {
            for _ in 0..(1 + rng.next_u32() % 4) {
                connections.push(Connection {
                    ts: start + u64::from(d) * 86_400 + u64::from(rng.next_u32() % 86_400),
                    account: account.clone(),
                    src: home,
                    src_port: 1024 + (rng.next_u32() % 60_000) as u16,
                    dst: IpAddr::from([192, 0, 2, (rng.next_u32() % 254 + 1) as u8]),
                    dst_port: [443u16, 993, 587][(rng.next_u32() % 3) as usize],
                    proto: "tcp".into(),
                    bytes: u64::from(rng.next_u32() % 5_000_000),
                });
            }
        }
        let content_path = dir.join("content").join(format!("{account}.jsonl"));
        let mut content = writer(&content_path)?;
        for d in 0..days {
            for k in 0..(rng.next_u32() % 3) {
                let peer = account_name(rng.next_u32() % accounts.max(1));
                write_line(
                    &mut content,
                    &content_path,
                    &MessageRecord {
                        ts: start + u64::from(d) * 86_400 + u64::from(rng.next_u32() % 86_400),
                        from: format!("{account}@{SERVICE}"),
                        to: format!("{peer}@{SERVICE}"),
                        subject: format!("Re: day {d}, note {k}"),
                        body: "See you at the usual place.".into(),
                    },
                )?;
                counts.messages += 1;
            }
        }
        content.flush().map_err(io(&content_path))?;
        // Flush connections in batches so memory stays bounded by one account's days.
        connections.sort_by_key(|c| c.ts);
        for c in connections.drain(..) {
            write_line(&mut traffic, &traffic_path, &c)?;
            counts.connections += 1;
        }
    }
    subs.flush().map_err(io(&sub_path))?;
    traffic.flush().map_err(io(&traffic_path))?;
    Ok(counts)
}

/// One collected item: its spec for the manifest, and the file holding its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collected {
    /// Name, media type, length and provenance.
    pub spec: ItemSpec,
    /// Where the bytes are.
    pub path: PathBuf,
    /// How many records it holds.
    pub records: u64,
}

fn legal_basis(instrument: Instrument) -> &'static str {
    match instrument {
        Instrument::EuEEvidence => "Reg. (EU) 2023/1543 Art. 5",
        Instrument::Budapest => "Budapest Convention Art. 31",
        Instrument::BudapestSecondProtocol => "CETS 224 Arts 7-8",
        Instrument::UnCybercrime => "UN Convention against Cybercrime Art. 44",
        Instrument::CloudActAgreement => "CLOUD Act agreement",
    }
}

/// What [`preserve`] copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Preserved {
    /// Subscriber records (of the accounts the selectors name).
    pub subscribers: u64,
    /// Connection records.
    pub connections: u64,
    /// Messages.
    pub messages: u64,
}

impl Preserved {
    /// Every record copied.
    pub fn records(&self) -> u64 {
        self.subscribers + self.connections + self.messages
    }
}

/// Copies what a preservation `request` covers from the dataset in `dir` into `out`, itself a
/// dataset (same layout), so that a later production request can be collected from the copy
/// even after the source has rotated the records away: the subscriber records of the accounts
/// the selectors name (needed to resolve the selectors again, whatever the categories), their
/// connections in the time range if traffic or identification data are preserved (and the
/// connections an IP-address selector names), their messages in the time range if content is.
pub fn preserve(
    dir: &Path,
    request: &EvidenceRequest,
    out: &Path,
) -> Result<Preserved, DatasetError> {
    present(dir)?;
    let wants = |c| request.categories.contains(&c);
    let range = request.time_range;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut counts = Preserved::default();
    let ip_selectors: Vec<(IpAddr, Option<u16>, u64)> = request
        .selectors
        .iter()
        .filter_map(|s| match s {
            Selector::IpAddress { address, port, at } => {
                Some((address.to_canonical(), *port, at.0))
            }
            _ => None,
        })
        .collect();
    let traffic_path = dir.join("traffic.jsonl");
    // The accounts: named by account, e-mail, phone or device, or using a named address.
    let mut accounts: Vec<String> = Vec::new();
    for_each(&dir.join("subscribers.jsonl"), |s: Subscriber| {
        let hit = request.selectors.iter().any(|sel| match sel {
            Selector::Account { service, account } => {
                s.account.eq_ignore_ascii_case(account) && s.service.eq_ignore_ascii_case(service)
            }
            Selector::Email(e) => s.email.eq_ignore_ascii_case(e),
            Selector::Phone(p) => &s.phone == p,
            Selector::Device(d) => s.devices.iter().any(|x| x.eq_ignore_ascii_case(d)),
            _ => false,
        });
        if hit && !accounts.contains(&s.account) {
            accounts.push(s.account.clone());
        }
        Ok(())
    })?;
    if !ip_selectors.is_empty() {
        for_each(&traffic_path, |c: Connection| {
            let hit = ip_selectors.iter().any(|(ip, port, at)| {
                c.src.to_canonical() == *ip && port.is_none_or(|p| p == c.src_port) && c.ts == *at
            });
            if hit && !accounts.contains(&c.account) {
                accounts.push(c.account.clone());
            }
            Ok(())
        })?;
    }
    let path = out.join("subscribers.jsonl");
    let mut w = writer(&path)?;
    for_each(&dir.join("subscribers.jsonl"), |s: Subscriber| {
        if accounts.contains(&s.account) {
            write_line(&mut w, &path, &s)?;
            counts.subscribers += 1;
        }
        Ok(())
    })?;
    w.flush().map_err(io(&path))?;
    let path = out.join("traffic.jsonl");
    let mut w = writer(&path)?;
    if wants(DataCategory::Traffic) || wants(DataCategory::Identification) {
        for_each(&traffic_path, |c: Connection| {
            let named_address = ip_selectors.iter().any(|(ip, port, at)| {
                c.src.to_canonical() == *ip && port.is_none_or(|p| p == c.src_port) && c.ts == *at
            });
            if named_address || (accounts.contains(&c.account) && range.contains(UnixTime(c.ts))) {
                write_line(&mut w, &path, &c)?;
                counts.connections += 1;
            }
            Ok(())
        })?;
    }
    w.flush().map_err(io(&path))?;
    if wants(DataCategory::Content) {
        let content = out.join("content");
        std::fs::create_dir_all(&content).map_err(io(&content))?;
        for account in &accounts {
            let src = dir.join("content").join(format!("{account}.jsonl"));
            let path = content.join(format!("{account}.jsonl"));
            let mut w = writer(&path)?;
            for_each_line(&src, |m: MessageRecord, text| {
                if range.contains(UnixTime(m.ts)) {
                    copy_line(&mut w, &path, text)?;
                    counts.messages += 1;
                }
                Ok(())
            })?;
            w.flush().map_err(io(&path))?;
        }
    }
    Ok(counts)
}

/// Collects what `request` covers from the dataset in `dir` into item files in `out`: only the
/// requested categories, only the accounts its selectors name, only inside its time range.
/// Identification data are the connection records that match an IP-address selector (address,
/// port where given, and time to the second).
pub fn collect(
    dir: &Path,
    request: &EvidenceRequest,
    out: &Path,
    collected_at: UnixTime,
) -> Result<Vec<Collected>, DatasetError> {
    present(dir)?;
    let wants = |c| request.categories.contains(&c);
    let range = request.time_range;
    // 1. The accounts the selectors name.
    let mut accounts: Vec<String> = Vec::new();
    let mut add = |a: &str| {
        if !accounts.iter().any(|x| x == a) {
            accounts.push(a.to_owned());
        }
    };
    let sub_path = dir.join("subscribers.jsonl");
    for_each(&sub_path, |s: Subscriber| {
        let hit = request.selectors.iter().any(|sel| match sel {
            Selector::Account { service, account } => {
                s.account.eq_ignore_ascii_case(account) && s.service.eq_ignore_ascii_case(service)
            }
            Selector::Email(e) => s.email.eq_ignore_ascii_case(e),
            Selector::Phone(p) => &s.phone == p,
            Selector::Device(d) => s.devices.iter().any(|x| x.eq_ignore_ascii_case(d)),
            _ => false,
        });
        if hit {
            add(&s.account);
        }
        Ok(())
    })?;
    let ip_selectors: Vec<(IpAddr, Option<u16>, u64)> = request
        .selectors
        .iter()
        .filter_map(|s| match s {
            Selector::IpAddress { address, port, at } => {
                Some((address.to_canonical(), *port, at.0))
            }
            _ => None,
        })
        .collect();
    let traffic_path = dir.join("traffic.jsonl");
    let ident_path = out.join("identification.jsonl");
    let mut ident = if wants(DataCategory::Identification) {
        Some((writer(&ident_path)?, 0u64, 0u64))
    } else {
        None
    };
    if !ip_selectors.is_empty() {
        for_each(&traffic_path, |c: Connection| {
            let hit = ip_selectors.iter().any(|(ip, port, at)| {
                c.src.to_canonical() == *ip && port.is_none_or(|p| p == c.src_port) && c.ts == *at
            });
            if hit {
                add(&c.account);
                if let Some((w, len, n)) = ident.as_mut() {
                    *len += write_line(w, &ident_path, &c)?;
                    *n += 1;
                }
            }
            Ok(())
        })?;
    }
    let mut items = Vec::new();
    let item =
        |name: &str, media: &str, path: PathBuf, length: u64, records: u64, source: String| {
            Collected {
                spec: ItemSpec {
                    name: name.to_owned(),
                    media_type: media.to_owned(),
                    length,
                    collection: Collection {
                        source,
                        collected_at,
                        legal_basis: legal_basis(request.instrument).to_owned(),
                    },
                },
                path,
                records,
            }
        };
    if let Some((mut w, len, n)) = ident {
        w.flush().map_err(io(&ident_path))?;
        items.push(item(
            "identification.jsonl",
            "application/x-ndjson",
            ident_path,
            len,
            n,
            "provider-dataset/traffic.jsonl".into(),
        ));
    }
    // 2. Subscriber records of those accounts.
    if wants(DataCategory::Subscriber) || wants(DataCategory::Identification) {
        let path = out.join("subscribers.jsonl");
        let mut w = writer(&path)?;
        let (mut len, mut n) = (0, 0);
        for_each(&sub_path, |s: Subscriber| {
            if accounts.contains(&s.account) {
                len += write_line(&mut w, &path, &s)?;
                n += 1;
            }
            Ok(())
        })?;
        w.flush().map_err(io(&path))?;
        items.push(item(
            "subscribers.jsonl",
            "application/x-ndjson",
            path,
            len,
            n,
            "provider-dataset/subscribers.jsonl".into(),
        ));
    }
    // 3. Their connections in the time range.
    if wants(DataCategory::Traffic) {
        let path = out.join("traffic.jsonl");
        let mut w = writer(&path)?;
        let (mut len, mut n) = (0, 0);
        for_each(&traffic_path, |c: Connection| {
            if accounts.contains(&c.account) && range.contains(UnixTime(c.ts)) {
                len += write_line(&mut w, &path, &c)?;
                n += 1;
            }
            Ok(())
        })?;
        w.flush().map_err(io(&path))?;
        items.push(item(
            "traffic.jsonl",
            "application/x-ndjson",
            path,
            len,
            n,
            "provider-dataset/traffic.jsonl".into(),
        ));
    }
    // 4. Their messages in the time range.
    if wants(DataCategory::Content) {
        for account in &accounts {
            let src = dir.join("content").join(format!("{account}.jsonl"));
            let name = format!("content-{account}.jsonl");
            let path = out.join(&name);
            let mut w = writer(&path)?;
            let (mut len, mut n) = (0, 0);
            for_each_line(&src, |m: MessageRecord, text| {
                if range.contains(UnixTime(m.ts)) {
                    len += copy_line(&mut w, &path, text)?;
                    n += 1;
                }
                Ok(())
            })?;
            w.flush().map_err(io(&path))?;
            items.push(item(
                &name,
                "application/x-ndjson",
                path,
                len,
                n,
                format!("provider-dataset/content/{account}.jsonl"),
            ));
        }
    }
    Ok(items)
}
