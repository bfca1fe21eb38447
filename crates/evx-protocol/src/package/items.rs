//! Evidence items, the sealed index and the signed manifest.

use serde::{Deserialize, Serialize};

use crate::document::document;
use crate::ids::{KeyId, PackageId, UnixTime};

/// One evidence item as announced before its bytes: what it is and how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSpec {
    /// A file name: 1–255 bytes, no path separators, no control characters, not `.` or `..`.
    pub name: String,
    /// The media type, e.g. `application/x-ndjson`.
    pub media_type: String,
    /// The item's length in bytes.
    pub length: u64,
    /// Where and when it was collected.
    pub collection: Collection,
}

/// Collection metadata for one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// The system the data came from, e.g. `provider-dataset/traffic.jsonl`.
    pub source: String,
    /// When it was collected.
    pub collected_at: UnixTime,
    /// The legal basis it was collected under, e.g. "Budapest Art. 31; decision of 2026-11-20".
    pub legal_basis: String,
}

/// An item as recorded in the signed manifest: its spec and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// The item as announced.
    pub spec: ItemSpec,
    /// SHA-256 of the item's bytes.
    pub sha256: [u8; 32],
}

/// The sealed index: the items in payload order, so the opener can hash each item as it
/// streams past.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemIndex {
    /// Version (1).
    pub v: u8,
    /// The items, in payload order.
    pub items: Vec<ItemSpec>,
}

/// The signed manifest, sealed in the trailer. It binds the sender's signature to the package
/// id (and so to the recipient, the case, the request and the purpose), to every plaintext byte
/// (length and Merkle root) and to every item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version (1).
    pub v: u8,
    /// `H`, the header digest.
    pub package_id: PackageId,
    /// The sender's document-signing key id.
    pub sender: KeyId,
    /// The recipient's HPKE key id.
    pub recipient: KeyId,
    /// Total plaintext length.
    pub length: u64,
    /// Number of chunks (leaves of the Merkle tree).
    pub chunk_count: u64,
    /// RFC 9162 Merkle root over the plaintext chunks.
    pub root: [u8; 32],
    /// The items, in payload order, with their digests.
    pub items: Vec<EvidenceItem>,
}
document!(Manifest, "manifest", super::MAX_SEALED_RECORD - 1024);

impl Manifest {
    /// Each item's byte range within the payload, in order.
    pub fn item_ranges(&self) -> Vec<core::ops::Range<u64>> {
        let mut start = 0u64;
        self.items
            .iter()
            .map(|i| {
                let r = start..start.saturating_add(i.spec.length);
                start = r.end;
                r
            })
            .collect()
    }
}

/// Reads an encoded item index's version and item count without decoding the items.
pub(crate) fn peek_index(index: &[u8]) -> Option<(u8, u64)> {
    let (&v, rest) = index.split_first()?;
    // The count is a postcard varint: 7 bits per byte, least significant first.
    let mut count = 0u64;
    for (i, b) in rest.iter().take(10).enumerate() {
        count |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, count));
        }
    }
    None
}

/// Checks the items of one package — each name usable as a file name and unique, no control
/// characters in any text field (they end up in logs and on screens), lengths that add up —
/// and returns their total length: the payload length both sides expect.
pub(crate) fn check_items(items: &[ItemSpec]) -> Result<u64, (String, &'static str)> {
    let mut names = std::collections::BTreeSet::new();
    let mut total = 0u64;
    for item in items {
        let fail = |why| Err((item.name.clone(), why));
        if let Err(why) = check_item_name(&item.name) {
            return fail(why);
        }
        if !names.insert(item.name.as_str()) {
            return fail("two items have this name; item names are unique within a package");
        }
        let c = &item.collection;
        if [&item.media_type, &c.source, &c.legal_basis]
            .iter()
            .any(|t| t.chars().any(char::is_control))
        {
            return fail("media type, source and legal basis cannot contain control characters");
        }
        let Some(sum) = total.checked_add(item.length) else {
            return fail("the items' lengths add up to more than 2^64 bytes");
        };
        total = sum;
    }
    Ok(total)
}

/// Why an item name is unusable as a file name.
fn check_item_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 255 {
        return Err("item names are 1 to 255 bytes long");
    }
    if name == "." || name == ".." {
        return Err("item names cannot be `.` or `..`");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err("item names cannot contain `/`, `\\` or control characters");
    }
    Ok(())
}

/// Tracks which item the payload is in and hashes each one.
pub(crate) struct ItemHashers {
    lengths: Vec<u64>,
    current: usize,
    remaining: u64,
    hasher: crate::crypto::Sha256,
    digests: Vec<[u8; 32]>,
}

impl ItemHashers {
    pub(crate) fn new(lengths: Vec<u64>) -> Self {
        let mut me = Self {
            remaining: lengths.first().copied().unwrap_or(0),
            lengths,
            current: 0,
            hasher: crate::crypto::Sha256::new(),
            digests: Vec::new(),
        };
        me.close_finished();
        me
    }

    /// Finishes every item whose bytes are all in (including empty items).
    fn close_finished(&mut self) {
        while self.current < self.lengths.len() && self.remaining == 0 {
            let h = core::mem::take(&mut self.hasher);
            self.digests.push(h.finish());
            self.current += 1;
            self.remaining = self.lengths.get(self.current).copied().unwrap_or(0);
        }
    }

    /// Feeds payload bytes; the caller has checked they do not exceed the total.
    pub(crate) fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.current < self.lengths.len() {
            let n = (self.remaining.min(bytes.len() as u64)) as usize;
            self.hasher.update(&bytes[..n]);
            self.remaining -= n as u64;
            bytes = &bytes[n..];
            self.close_finished();
        }
    }

    /// The digests, once every item is complete.
    pub(crate) fn finish(self) -> Option<Vec<[u8; 32]>> {
        (self.current == self.lengths.len()).then_some(self.digests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sha256;

    #[test]
    fn item_hashers_split_at_boundaries() {
        let mut h = ItemHashers::new(vec![0, 3, 0, 2, 0]);
        h.update(b"ab");
        h.update(b"cd");
        h.update(b"e");
        let d = h.finish().unwrap();
        assert_eq!(
            d,
            vec![
                sha256(b""),
                sha256(b"abc"),
                sha256(b""),
                sha256(b"de"),
                sha256(b"")
            ]
        );
        let mut h = ItemHashers::new(vec![4]);
        h.update(b"abc");
        assert!(h.finish().is_none());
    }

    #[test]
    fn index_counts_are_read_without_decoding() {
        let enc = |n: usize| {
            let items = vec![crate::sample::item("a", "t", 0); n];
            crate::canonical::encode(&ItemIndex { v: 1, items })
        };
        assert_eq!(peek_index(&enc(0)), Some((1, 0)));
        assert_eq!(peek_index(&enc(300)), Some((1, 300)));
        assert_eq!(peek_index(&[1, 0x80]), None);
        assert_eq!(peek_index(&[]), None);
        assert_eq!(
            peek_index(&[2, 0xff, 0xff, 0xff, 0x7f]),
            Some((2, 0x0fff_ffff))
        );
    }

    #[test]
    fn items_are_unique_and_printable() {
        let item = |name: &str, media: &str| crate::sample::item(name, media, 1);
        assert!(check_items(&[item("a", "text/plain"), item("b", "text/plain")]).is_ok());
        assert!(check_items(&[item("a", "text/plain"), item("a", "text/plain")]).is_err());
        assert!(check_items(&[item("a", "text/plain\u{1b}[2J")]).is_err());
    }

    #[test]
    fn item_names_must_be_file_names() {
        assert!(check_item_name("subscribers.jsonl").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(check_item_name(bad).is_err(), "{bad:?}");
        }
    }
}
