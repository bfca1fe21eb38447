//! Particularity: is a selector one concrete target, well-formed?
//!
//! Rule 7 of legal reference §6 allows only particular targets — an account, an e-mail address,
//! an E.164 number, one IP address (with port and time), a device id, a domain — and never a
//! pattern, a range wider than one host, a keyword or an area: those select everyone who matches
//! and are mass surveillance. The typed [`Selector`] already has no wildcard variant, but its
//! text fields could still carry one (`*@example.com`), so each is checked here. A pattern is
//! *bulk* (a refusal ground); a value that is merely malformed is *incomplete* (the requesting
//! party is asked to correct it).

use std::net::IpAddr;

use crate::document::{Selector, TimeRange};

/// What is wrong with a selector, if anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectorCheck {
    /// One particular, well-formed target.
    Particular,
    /// Not a valid identifier of its kind: ask for a correction.
    Malformed(String),
    /// Selects more than one target: refuse as bulk.
    Bulk(String),
}

/// Characters that make an identifier a pattern in any common matching syntax (glob, SQL
/// `LIKE`, regular expressions).
const PATTERN_CHARS: &[char] = &['*', '?', '%', '[', ']', '{', '}', '|', '^', '$', '\\'];

fn pattern(s: &str) -> Option<String> {
    if let Some(c) = s.chars().find(|c| PATTERN_CHARS.contains(c)) {
        return Some(format!("`{c}` makes it a pattern matching many targets"));
    }
    if s.contains(".*") || s.contains(".+") {
        return Some("`.*` makes it a pattern matching many targets".to_owned());
    }
    None
}

fn plain_text(s: &str, what: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if s.len() > max {
        return Err(format!("the {what} is longer than {max} bytes"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the {what} contains spaces or control characters"));
    }
    Ok(())
}

/// A DNS name: 2–127 labels of letters, digits and inner hyphens, at most 253 bytes.
fn domain_name(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return Err("a domain name has 1 to 253 characters".to_owned());
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err("a domain name needs a dot: give the full name".to_owned());
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err("a domain label has 1-63 letters, digits or inner hyphens \
                        (write internationalised names in their xn-- form)"
                .to_owned());
        }
    }
    Ok(())
}

/// Checks one selector against the request's time range.
pub fn check(selector: &Selector, range: &TimeRange) -> SelectorCheck {
    use SelectorCheck::{Bulk, Malformed, Particular};
    let verdict = |bulk: Option<String>, form: Result<(), String>| match (bulk, form) {
        (Some(b), _) => Bulk(b),
        (None, Err(m)) => Malformed(m),
        (None, Ok(())) => Particular,
    };
    match selector {
        Selector::Account { service, account } => {
            let bulk = pattern(account).or_else(|| pattern(service));
            let form = domain_name(service)
                .map_err(|e| format!("service: {e}"))
                .and_then(|()| plain_text(account, "account name", 256));
            verdict(bulk, form)
        }
        Selector::Email(address) => {
            let form = match address.split_once('@') {
                Some((local, domain)) if !local.is_empty() && !domain.contains('@') => {
                    plain_text(local, "local part", 64).and_then(|()| domain_name(domain))
                }
                _ => Err("not one address of the form local@domain".to_owned()),
            };
            verdict(pattern(address), form)
        }
        Selector::Phone(number) => {
            let bulk = (number.contains(['*', '?', '%', 'x', 'X', '#']))
                .then(|| "placeholder digits make it a number range, not a number".to_owned());
            let digits = number.strip_prefix('+').unwrap_or("");
            let form = if (8..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
            {
                Ok(())
            } else {
                Err(
                    "not an E.164 number: `+`, country code and number, 8 to 15 digits, \
                     no spaces"
                        .to_owned(),
                )
            };
            verdict(bulk, form)
        }
        Selector::IpAddress { address, at, .. } => {
            let form = if address.is_unspecified() || address.is_multicast() {
                Err("an unspecified or multicast address is not one host".to_owned())
            } else if matches!(address, IpAddr::V4(a) if a.is_broadcast()) {
                Err("a broadcast address is not one host".to_owned())
            } else if !range.contains(*at) {
                Err("the connection time lies outside the request's time range".to_owned())
            } else {
                Ok(())
            };
            verdict(None, form)
        }
        Selector::Device(id) => verdict(pattern(id), plain_text(id, "device id", 128)),
        Selector::Domain(name) => verdict(pattern(name), domain_name(name)),
        Selector::IpRange {
            network,
            prefix_len,
        } => {
            let host_len = if network.is_ipv4() { 32 } else { 128 };
            if *prefix_len > host_len {
                Malformed(format!("/{prefix_len} is longer than the address"))
            } else if *prefix_len < host_len {
                let hosts = host_len - prefix_len;
                Bulk(format!(
                    "a /{prefix_len} range covers 2^{hosts} addresses; name one address with its \
                     port and time"
                ))
            } else {
                Malformed(
                    "a single-host range carries no time: give it as an IP address selector \
                     with its port and the time of the connection"
                        .to_owned(),
                )
            }
        }
        Selector::Keyword(_) => {
            Bulk("a keyword selects everyone who used it, not a particular person".to_owned())
        }
        Selector::Area { radius_m, .. } => Bulk(format!(
            "an area of radius {radius_m} m selects everyone in it, not a particular person"
        )),
    }
}

/// A short, non-identifying description of a selector's kind, for explanations.
pub fn kind(selector: &Selector) -> &'static str {
    match selector {
        Selector::Account { .. } => "account",
        Selector::Email(_) => "e-mail address",
        Selector::Phone(_) => "phone number",
        Selector::IpAddress { .. } => "IP address",
        Selector::Device(_) => "device id",
        Selector::Domain(_) => "domain",
        Selector::IpRange { .. } => "address range",
        Selector::Keyword(_) => "keyword",
        Selector::Area { .. } => "area",
    }
}
