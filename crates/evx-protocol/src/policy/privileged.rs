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
//! address range catches every address in it. The list is normalised once, so checking a
//! request costs a few set lookups per selector whatever the list's size.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::document::Selector;

/// A normalised privileged list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivilegedList {
    keys: BTreeSet<String>,
    ranges: Vec<(IpAddr, u8)>,
}

/// The empty list, for intakes without one.
pub(super) static EMPTY: PrivilegedList = PrivilegedList {
    keys: BTreeSet::new(),
    ranges: Vec::new(),
};

fn host(s: &str) -> String {
    s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase()
}

fn mailbox(local: &str, domain: &str) -> String {
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    format!("mail:{}@{}", local.to_ascii_lowercase(), host(domain))
}

/// The key an entry is listed under, or the range it covers.
enum Listed {
    Key(String),
    Range(IpAddr, u8),
    Nothing,
}

fn listed(s: &Selector) -> Listed {
    match s {
        Selector::Email(a) => match a.rsplit_once('@') {
            Some((l, d)) => Listed::Key(mailbox(l, d)),
            None => Listed::Key(format!("raw:{}", a.to_ascii_lowercase())),
        },
        Selector::Account { service, account } => match account.rsplit_once('@') {
            Some((l, d)) => Listed::Key(mailbox(l, d)),
            None => Listed::Key(mailbox(account, service)),
        },
        Selector::Domain(d) => Listed::Key(format!("domain:{}", host(d))),
        Selector::IpAddress { address, .. } => {
            Listed::Key(format!("ip:{}", address.to_canonical()))
        }
        Selector::IpRange {
            network,
            prefix_len,
        } => match network.to_canonical() {
            // An IPv4-mapped IPv6 range is the IPv4 range: its prefix counts 96 bits fewer.
            v4 @ IpAddr::V4(_) if network.is_ipv6() => {
                Listed::Range(v4, prefix_len.saturating_sub(96))
            }
            n => Listed::Range(n, *prefix_len),
        },
        Selector::Phone(p) => Listed::Key(format!("phone:{}", digits(p))),
        Selector::Device(d) => Listed::Key(format!("device:{}", d.to_ascii_lowercase())),
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
            None => out.push(format!("raw:{}", a.to_ascii_lowercase())),
        },
        Selector::Account { service, account } => {
            out.push(mailbox(account, service));
            domains(service, out);
            if let Some((l, d)) = account.rsplit_once('@') {
                out.push(mailbox(l, d));
                domains(d, out);
            }
        }
        Selector::Domain(d) => domains(d, out),
        Selector::IpAddress { .. }
        | Selector::IpRange { .. }
        | Selector::Phone(_)
        | Selector::Device(_) => {
            if let Listed::Key(k) = listed(s) {
                out.push(k);
            }
        }
        Selector::Keyword(_) | Selector::Area { .. } => {}
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
    /// Normalises a list of identifiers. Keyword and area entries match nothing and are dropped.
    pub fn new(entries: &[Selector]) -> Self {
        let mut list = Self::default();
        for e in entries {
            match listed(e) {
                Listed::Key(k) => {
                    list.keys.insert(k);
                }
                Listed::Range(n, p) => list.ranges.push((n, p)),
                Listed::Nothing => {}
            }
        }
        list.ranges.sort_unstable();
        list.ranges.dedup();
        list
    }

    /// How many distinct entries the list holds.
    pub fn len(&self) -> usize {
        self.keys.len() + self.ranges.len()
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
        let address = match selector {
            Selector::IpAddress { address, .. } => address.to_canonical(),
            Selector::IpRange { network, .. } => network.to_canonical(),
            _ => return false,
        };
        self.ranges.iter().any(|&(n, p)| in_range(address, n, p))
    }
}
