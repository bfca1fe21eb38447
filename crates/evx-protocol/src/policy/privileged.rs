//! The requested party's list of privileged persons and the press (lawyers, doctors,
//! journalists, newsrooms): a request naming one of them goes to a reviewer (legal reference §4,
//! EU Arts 5(9)–(10), 12(1)(a)).
//!
//! Matching errs towards a match, because a false match only costs a reviewer's look while a
//! missed one lets a journalist's data out unreviewed. A request therefore cannot escape the
//! list by writing a listed target differently: host names and e-mail addresses are compared
//! without ASCII case, a trailing dot or a `+tag`; an e-mail address on the list also catches the
//! same mailbox asked for as an account at that domain; a listed domain catches every mailbox,
//! account and subdomain under it; IPv4-mapped IPv6 addresses are the IPv4 address; a listed
//! address range catches every address in it, and an asked range that covers a listed address
//! or overlaps a listed range matches too. The list is normalised once, so checking a request
//! costs a few ordered-set lookups per selector, plus one comparison per listed range.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::selector::{self, SelectorCheck};
use crate::document::{Selector, TimeRange};
use crate::ids::UnixTime;

/// A normalised privileged list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivilegedList {
    keys: BTreeSet<String>,
    ips: BTreeSet<IpAddr>,
    ranges: Vec<(IpAddr, u8)>,
    rejected: Vec<usize>,
}

/// The empty list, for intakes without one.
pub(super) static EMPTY: PrivilegedList = PrivilegedList {
    keys: BTreeSet::new(),
    ips: BTreeSet::new(),
    ranges: Vec::new(),
    rejected: Vec::new(),
};

fn host(s: &str) -> String {
    let s = s.trim();
    s.strip_suffix('.').unwrap_or(s).to_lowercase()
}

/// A mailbox key: the local part without a leading `@` (handles are written `@name`), without
/// a `+tag`, in lower case (Unicode: mailbox names need not be ASCII).
fn mailbox(local: &str, domain: &str) -> String {
    let local = local.trim().trim_start_matches('@');
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    format!("mail:{}@{}", local.to_lowercase(), host(domain))
}

/// The mailboxes an account names: `name` at its service, and, for handles that carry their
/// own server (`user@instance`, `@user:server`), that mailbox too.
fn account_mailboxes(service: &str, account: &str) -> Vec<String> {
    let handle = account.trim().trim_start_matches('@');
    let mut keys = vec![mailbox(handle, service)];
    if let Some((l, d)) = handle.rsplit_once('@').or_else(|| handle.split_once(':')) {
        // `@user:server:8448`: the server without its port.
        keys.push(mailbox(l, d.split(':').next().unwrap_or(d)));
    }
    keys
}

/// A device id's key: its letters and digits in lower case, so that `35-209900-176148-1` and
/// `352099001761481`, or `AA:BB:CC` and `aa-bb-cc`, are one device.
fn device(d: &str) -> String {
    let id: String = d
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    format!("device:{id}")
}

/// The keys an entry is listed under, the address or the range it covers.
enum Listed {
    Keys(Vec<String>),
    Ip(IpAddr),
    Range(IpAddr, u8),
    Nothing,
}

/// A range in canonical form: an IPv4-mapped IPv6 range is the IPv4 range, its prefix 96 bits
/// shorter; prefixes longer than the address are cut to it.
fn canonical_range(network: IpAddr, prefix: u8) -> (IpAddr, u8) {
    match network.to_canonical() {
        v4 @ IpAddr::V4(_) if network.is_ipv6() => (v4, prefix.saturating_sub(96).min(32)),
        n @ IpAddr::V4(_) => (n, prefix.min(32)),
        n @ IpAddr::V6(_) => (n, prefix.min(128)),
    }
}

/// The first and last address of a range.
fn bounds(network: IpAddr, prefix: u8) -> (IpAddr, IpAddr) {
    match network {
        IpAddr::V4(n) => {
            let host = 32 - u32::from(prefix);
            let mask = u32::MAX.checked_shl(host).unwrap_or(0);
            let lo = u32::from(n) & mask;
            (IpAddr::V4(lo.into()), IpAddr::V4((lo | !mask).into()))
        }
        IpAddr::V6(n) => {
            let host = 128 - u32::from(prefix);
            let mask = u128::MAX.checked_shl(host).unwrap_or(0);
            let lo = u128::from(n) & mask;
            (IpAddr::V6(lo.into()), IpAddr::V6((lo | !mask).into()))
        }
    }
}

fn listed(s: &Selector) -> Listed {
    match s {
        Selector::Email(a) => match a.rsplit_once('@') {
            Some((l, d)) => Listed::Keys(vec![mailbox(l, d)]),
            None => Listed::Keys(vec![format!("raw:{}", a.trim().to_lowercase())]),
        },
        Selector::Account { service, account } => Listed::Keys(account_mailboxes(service, account)),
        Selector::Domain(d) => Listed::Keys(vec![format!("domain:{}", host(d))]),
        Selector::IpAddress { address, .. } => Listed::Ip(address.to_canonical()),
        Selector::IpRange {
            network,
            prefix_len,
        } => {
            let (n, p) = canonical_range(*network, *prefix_len);
            Listed::Range(n, p)
        }
        Selector::Phone(p) => Listed::Keys(vec![format!("phone:{}", digits(p))]),
        Selector::Device(d) => Listed::Keys(vec![device(d)]),
        Selector::Keyword(_) | Selector::Area { .. } => Listed::Nothing,
    }
}

fn digits(p: &str) -> String {
    p.chars().filter(char::is_ascii_digit).collect()
}

/// Every key under which an asked selector would be listed: its own, and the domains it lies
/// under.
fn asked_keys(s: &Selector, out: &mut Vec<String>) {
    let domains = |d: &str, out: &mut Vec<String>| {
        let d = host(d);
        let mut rest = d.as_str();
        loop {
            out.push(format!("domain:{rest}"));
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => break,
            }
        }
    };
    match s {
        Selector::Email(a) => match a.rsplit_once('@') {
            Some((l, d)) => {
                out.push(mailbox(l, d));
                domains(d, out);
            }
            None => out.push(format!("raw:{}", a.trim().to_lowercase())),
        },
        Selector::Account { service, account } => {
            out.extend(account_mailboxes(service, account));
            domains(service, out);
            let handle = account.trim().trim_start_matches('@');
            if let Some((_, d)) = handle.rsplit_once('@').or_else(|| handle.split_once(':')) {
                domains(d.split(':').next().unwrap_or(d), out);
            }
        }
        Selector::Domain(d) => domains(d, out),
        Selector::Phone(_) | Selector::Device(_) => {
            if let Listed::Keys(k) = listed(s) {
                out.extend(k);
            }
        }
        Selector::IpAddress { .. }
        | Selector::IpRange { .. }
        | Selector::Keyword(_)
        | Selector::Area { .. } => {}
    }
}

fn in_range(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let shift = 32u32.saturating_sub(u32::from(prefix));
            u32::from(a).checked_shr(shift).unwrap_or(0)
                == u32::from(n).checked_shr(shift).unwrap_or(0)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let shift = 128u32.saturating_sub(u32::from(prefix));
            u128::from(a).checked_shr(shift).unwrap_or(0)
                == u128::from(n).checked_shr(shift).unwrap_or(0)
        }
        _ => false,
    }
}

impl PrivilegedList {
    /// Normalises a list of identifiers. Entries that can never match — malformed ones, keywords,
    /// areas — are left out and reported by [`Self::rejected`], so the operator can correct
    /// them; address ranges are kept.
    pub fn new(entries: &[Selector]) -> Self {
        let mut list = Self::default();
        let always = TimeRange {
            from: UnixTime(0),
            to: UnixTime(u64::MAX),
        };
        for (i, e) in entries.iter().enumerate() {
            // Lists are typed by people: a number may carry spaces or hyphens, and a range of
            // any size is a fine entry (a newsroom's network).
            let entry = match e {
                Selector::Phone(p) => Selector::Phone(
                    p.chars()
                        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                        .collect(),
                ),
                Selector::Device(d) => Selector::Device(
                    d.chars()
                        .filter(|c| !matches!(c, ' ' | '-' | '.' | ':'))
                        .collect(),
                ),
                other => other.clone(),
            };
            // A device id of punctuation only names no device.
            let no_device =
                matches!(e, Selector::Device(d) if !d.chars().any(char::is_alphanumeric));
            let usable = match selector::check(&entry, &always) {
                SelectorCheck::Particular => true,
                SelectorCheck::Bulk(_) | SelectorCheck::Malformed(_) => {
                    matches!(e, Selector::IpRange { .. })
                }
            };
            if !usable || no_device {
                list.rejected.push(i);
                continue;
            }
            match listed(e) {
                Listed::Keys(k) => {
                    list.keys.extend(k);
                }
                Listed::Ip(ip) => {
                    list.ips.insert(ip);
                }
                Listed::Range(n, p) => list.ranges.push((n, p)),
                Listed::Nothing => {}
            }
        }
        list.ranges.sort_unstable();
        list.ranges.dedup();
        list
    }

    /// The positions of the entries left out because they can never match.
    pub fn rejected(&self) -> &[usize] {
        &self.rejected
    }

    /// How many distinct keys, addresses and ranges the list holds.
    pub fn len(&self) -> usize {
        self.keys.len() + self.ips.len() + self.ranges.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a selector names a listed target.
    pub fn matches(&self, selector: &Selector) -> bool {
        let mut keys = Vec::new();
        asked_keys(selector, &mut keys);
        if keys.iter().any(|k| self.keys.contains(k)) {
            return true;
        }
        let (network, prefix) = match selector {
            Selector::IpAddress { address, .. } => {
                let a = address.to_canonical();
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
            Selector::IpRange {
                network,
                prefix_len,
            } => canonical_range(*network, *prefix_len),
            _ => return false,
        };
        let (first, last) = bounds(network, prefix);
        // A listed address inside the asked address or range, or a listed range overlapping
        // it (two prefixes overlap when one contains the other's network).
        self.ips.range(first..=last).next().is_some()
            || self.ranges.iter().any(|&(n, p)| {
                in_range(network, n, p) || (p >= prefix && in_range(n, network, prefix))
            })
    }
}
