//! T06's privileged list: a request cannot escape it by writing a listed target differently,
//! and targets that are merely near a listed one are not caught.

use std::net::{IpAddr, Ipv6Addr};

use evx_protocol::document::Selector;
use evx_protocol::ids::UnixTime;
use evx_protocol::policy::{PrivilegedList, RuleId, Verdict};

use crate::fixture::*;

fn email(s: &str) -> Selector {
    Selector::Email(s.into())
}

fn account(service: &str, account: &str) -> Selector {
    Selector::Account {
        service: service.into(),
        account: account.into(),
    }
}

fn domain(s: &str) -> Selector {
    Selector::Domain(s.into())
}

fn address(address: IpAddr) -> Selector {
    Selector::IpAddress {
        address,
        port: Some(443),
        at: UnixTime(T0.0 - 2 * DAY),
    }
}

fn range(network: IpAddr, prefix_len: u8) -> Selector {
    Selector::IpRange {
        network,
        prefix_len,
    }
}

fn mapped(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(
        0,
        0,
        0,
        0,
        0,
        0xffff,
        u16::from_be_bytes([a, b]),
        u16::from_be_bytes([c, d]),
    ))
}

/// Asserts that `list` catches every selector of `hits` and none of `misses`.
#[track_caller]
fn catches(list: &[Selector], hits: &[Selector], misses: &[Selector]) {
    let list = PrivilegedList::new(list);
    for s in hits {
        assert!(list.matches(s), "{s:?} should be on {list:?}");
    }
    for s in misses {
        assert!(!list.matches(s), "{s:?} should not be on {list:?}");
    }
}

#[test]
fn host_names_and_addresses_ignore_ascii_case() {
    catches(
        &[
            email("editor@newspaper.example"),
            domain("newsroom.example"),
        ],
        &[
            email("Editor@NewsPaper.example"),
            email("EDITOR@NEWSPAPER.EXAMPLE"),
            domain("NEWSROOM.Example"),
        ],
        &[],
    );
    // And the other way round: an entry written in capitals catches the lower-case target.
    catches(
        &[
            email("Editor@NEWSPAPER.example"),
            domain("NewsRoom.EXAMPLE"),
        ],
        &[
            email("editor@newspaper.example"),
            domain("newsroom.example"),
        ],
        &[],
    );
}

#[test]
fn a_trailing_dot_makes_no_difference() {
    catches(
        &[
            email("editor@newspaper.example"),
            domain("newsroom.example"),
        ],
        &[
            email("editor@newspaper.example."),
            domain("newsroom.example."),
        ],
        &[],
    );
    catches(
        &[
            email("editor@newspaper.example."),
            domain("newsroom.example."),
        ],
        &[
            email("editor@newspaper.example"),
            domain("newsroom.example"),
        ],
        &[],
    );
}

#[test]
fn a_plus_tag_is_stripped_from_local_parts() {
    catches(
        &[email("editor@newspaper.example")],
        &[
            email("editor+leaks@newspaper.example"),
            email("Editor+Tips+2026@newspaper.example"),
            account("newspaper.example", "editor+x"),
        ],
        &[email("editor2+leaks@newspaper.example")],
    );
    // A tag on the listed entry does not narrow it.
    catches(
        &[email("editor+desk@newspaper.example")],
        &[
            email("editor@newspaper.example"),
            email("editor+other@newspaper.example"),
        ],
        &[],
    );
}

#[test]
fn an_email_entry_catches_the_same_mailbox_asked_for_as_an_account() {
    catches(
        &[email("editor@newspaper.example")],
        &[
            // The account `editor` at the mail service `newspaper.example`.
            account("newspaper.example", "editor"),
            account("NewsPaper.Example.", "Editor"),
            // The whole address as the account name, at another service.
            account("chat.example", "editor@newspaper.example"),
        ],
        &[
            account("newspaper.example", "reporter"),
            account("chat.example", "editor"),
        ],
    );
}

#[test]
fn an_account_entry_catches_the_same_mailbox_asked_for_as_an_email() {
    catches(
        &[account("newspaper.example", "editor")],
        &[
            email("editor@newspaper.example"),
            email("Editor+x@NEWSPAPER.example."),
            account("newspaper.example", "EDITOR"),
        ],
        &[
            email("editor@chat.example"),
            email("reporter@newspaper.example"),
        ],
    );
    // An account named by its address is that mailbox, whatever service is given.
    catches(
        &[account("chat.example", "editor@newspaper.example")],
        &[email("editor@newspaper.example")],
        &[],
    );
}

#[test]
fn a_domain_entry_catches_every_mailbox_account_and_subdomain_under_it() {
    catches(
        &[domain("newsroom.example")],
        &[
            email("anyone@newsroom.example"),
            email("desk@mail.newsroom.example"),
            account("newsroom.example", "anyone"),
            account("chat.newsroom.example", "anyone"),
            account("chat.example", "someone@newsroom.example"),
            domain("newsroom.example"),
            domain("sub.newsroom.example"),
            domain("a.b.c.newsroom.example"),
        ],
        &[
            // Only whole labels: a name that merely ends in the same letters is not under it.
            domain("notnewsroom.example"),
            email("anyone@notnewsroom.example"),
            domain("newsroom.example.org"),
            // The parent is not under its child.
            domain("example"),
            email("anyone@other.example"),
        ],
    );
}

#[test]
fn another_mailbox_at_the_domain_of_a_listed_email_is_not_caught() {
    catches(
        &[email("editor@newspaper.example")],
        &[],
        &[
            email("editor2@newspaper.example"),
            email("sport@newspaper.example"),
            email("editor@mail.newspaper.example"),
            account("newspaper.example", "sport"),
            email("editor@newspaper.example.org"),
            email("editor@other.example"),
        ],
    );
}

#[test]
fn an_ipv4_mapped_ipv6_address_is_the_ipv4_address() {
    catches(
        &[address(ip(192, 0, 2, 10))],
        &[
            address(mapped(192, 0, 2, 10)),
            // Whatever the port and time.
            Selector::IpAddress {
                address: ip(192, 0, 2, 10),
                port: None,
                at: UnixTime(T0.0 - 300 * DAY),
            },
        ],
        &[address(ip(192, 0, 2, 11)), address(mapped(192, 0, 2, 11))],
    );
    catches(
        &[address(mapped(192, 0, 2, 10))],
        &[address(ip(192, 0, 2, 10))],
        &[address(ip(192, 0, 2, 9))],
    );
}

#[test]
fn an_address_range_entry_catches_every_address_inside_it() {
    let v6: IpAddr = "2001:db8:aa::".parse().unwrap();
    catches(
        &[range(ip(198, 51, 100, 0), 24), range(v6, 48)],
        &[
            address(ip(198, 51, 100, 0)),
            address(ip(198, 51, 100, 77)),
            address(ip(198, 51, 100, 255)),
            address(mapped(198, 51, 100, 77)),
            address("2001:db8:aa::1".parse().unwrap()),
            address("2001:db8:aa:ffff::9".parse().unwrap()),
            // A range asked for inside the listed one.
            range(ip(198, 51, 100, 128), 25),
        ],
        &[
            address(ip(198, 51, 101, 0)),
            address(ip(198, 51, 99, 255)),
            address("2001:db8:ab::1".parse().unwrap()),
            // An IPv4 address is not inside an IPv6 range that is not its mapping.
            address(ip(32, 1, 13, 184)),
        ],
    );
    // A host route is one address.
    catches(
        &[range(ip(203, 0, 113, 9), 32)],
        &[address(ip(203, 0, 113, 9))],
        &[address(ip(203, 0, 113, 8))],
    );
}

#[test]
fn phone_numbers_compare_by_their_digits() {
    catches(
        &[Selector::Phone("+49 30 1234567".into())],
        &[
            Selector::Phone("+49301234567".into()),
            Selector::Phone("+49-30-123 45 67".into()),
        ],
        &[Selector::Phone("+49301234568".into())],
    );
}

#[test]
fn keyword_and_area_entries_are_dropped_and_duplicates_counted_once() {
    let list = PrivilegedList::new(&[
        Selector::Keyword("press".into()),
        Selector::Area {
            latitude_e6: 52_520_008,
            longitude_e6: 13_404_954,
            radius_m: 500,
        },
        email("editor@newspaper.example"),
        email("Editor@NewsPaper.example."),
        account("newspaper.example", "editor"),
        range(ip(198, 51, 100, 0), 24),
        range(ip(198, 51, 100, 0), 24),
    ]);
    assert_eq!(list.len(), 2);
    assert!(!list.is_empty());
    assert!(!list.matches(&Selector::Keyword("press".into())));
    assert!(PrivilegedList::new(&[]).is_empty());
    assert!(!PrivilegedList::new(&[]).matches(&email("editor@newspaper.example")));
}

#[test]
fn every_variant_sends_the_request_to_review_through_the_engine() {
    let w = World::eu();
    let list = PrivilegedList::new(&[
        email("editor@newspaper.example"),
        domain("newsroom.example"),
        address(ip(192, 0, 2, 10)),
        range(ip(198, 51, 100, 0), 24),
    ]);
    let asked = [
        email("EDITOR+tips@NewsPaper.example."),
        account("newspaper.example", "editor"),
        email("desk@mail.newsroom.example"),
        address(mapped(192, 0, 2, 10)),
        address(ip(198, 51, 100, 77)),
    ];
    for selector in asked {
        let mut r = w.request();
        r.selectors = vec![w.request().selectors[0].clone(), selector.clone()];
        let signed = w.sign(&r);
        let trace = w.run(&w.intake(&signed, &r).with_privileged(&list));
        expect(&trace, RuleId::Privilege, Verdict::NeedsReview);
        explains(
            &trace,
            RuleId::Privilege,
            "selector(s) 1 are on the privileged-persons list",
        );
        assert!(trace.needs_reviewer(), "{selector:?}");
    }
    // A neighbour of a listed mailbox goes through.
    let mut r = w.request();
    r.selectors = vec![email("sport@newspaper.example")];
    let signed = w.sign(&r);
    let trace = w.run(&w.intake(&signed, &r).with_privileged(&list));
    expect(&trace, RuleId::Privilege, Verdict::Pass);
}

#[test]
fn an_ipv4_mapped_ipv6_range_entry_is_the_ipv4_range() {
    // ::ffff:198.51.100.0/120 is 198.51.100.0/24.
    catches(
        &[range(mapped(198, 51, 100, 0), 120)],
        &[
            address(ip(198, 51, 100, 77)),
            address(mapped(198, 51, 100, 77)),
        ],
        &[address(ip(198, 51, 101, 77))],
    );
}

#[test]
fn an_asked_range_matches_the_listed_addresses_and_ranges_it_covers() {
    let newsroom = ip(198, 51, 100, 7);
    let listed = [address(newsroom), range(ip(203, 0, 113, 64), 26)];
    catches(
        &listed,
        &[
            // Ranges covering the listed address, however written.
            range(ip(198, 51, 100, 0), 24),
            range(ip(198, 0, 0, 0), 8),
            range(mapped(198, 51, 100, 0), 120),
            range(ip(0, 0, 0, 0), 0),
            // A range inside the listed range, and one containing it.
            range(ip(203, 0, 113, 80), 28),
            range(ip(203, 0, 113, 0), 24),
        ],
        &[
            range(ip(198, 51, 101, 0), 24),
            range(ip(203, 0, 113, 0), 26),
            range(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)),
                32,
            ),
        ],
    );
    // An IPv6 address on the list, and an asked IPv6 range around it.
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 1));
    catches(
        &[address(v6)],
        &[range(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)),
            32,
        )],
        &[range(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb9, 0, 0, 0, 0, 0, 0)),
            32,
        )],
    );
}

#[test]
fn handles_unicode_case_and_device_formatting_do_not_escape_the_list() {
    // A handle written with a leading `@`, on either side; handles that carry their server.
    catches(
        &[account("social.example", "journalist")],
        &[
            account("social.example", "@journalist"),
            account("social.example", " @Journalist "),
            account("other.example", "@journalist@social.example"),
        ],
        &[account("social.example", "@journalists")],
    );
    catches(
        &[account("social.example", "@reporter")],
        &[account("social.example", "reporter")],
        &[],
    );
    catches(
        &[account("chat.example", "@editor:matrix.news.example")],
        &[email("editor@matrix.news.example")],
        &[],
    );
    // Mailbox names are not always ASCII.
    catches(
        &[email("jürgen@presse.example")],
        &[
            email("JÜRGEN@presse.example"),
            account("presse.example", "Jürgen"),
        ],
        &[email("juergen@presse.example")],
    );
    // Device ids however they are grouped or cased.
    catches(
        &[Selector::Device("352099001761481".into())],
        &[Selector::Device("35-209900-176148-1".into())],
        &[Selector::Device("352099001761482".into())],
    );
    catches(
        &[Selector::Device("AA:BB:CC:00:11:22".into())],
        &[Selector::Device("aa-bb-cc-00-11-22".into())],
        &[],
    );
}

#[test]
fn entries_that_can_never_match_are_reported() {
    let entries = [
        email("editor@news.example"),
        Selector::Phone("030 1234567".into()), // national format: no country code
        domain("bücher.example"),              // not in its xn-- form
        email("alice@"),
        Selector::Keyword("journalism".into()),
        Selector::Phone("+49 30 1234567".into()), // spaces are fine
        range(ip(198, 51, 100, 0), 24),           // ranges are fine
    ];
    let list = PrivilegedList::new(&entries);
    assert_eq!(list.rejected(), [1, 2, 3, 4]);
    assert!(list.matches(&email("editor@news.example")));
    assert!(list.matches(&Selector::Phone("+49301234567".into())));
    assert!(list.matches(&address(ip(198, 51, 100, 1))));
}

#[test]
fn device_entries_are_typed_by_people_and_matrix_servers_may_carry_a_port() {
    let list = PrivilegedList::new(&[
        Selector::Device("35 209900 176148 1".into()),
        Selector::Device("---".into()),
    ]);
    assert_eq!(list.rejected(), [1]);
    assert!(list.matches(&Selector::Device("352099001761481".into())));
    assert!(!list.matches(&Selector::Device("...".into())));
    catches(
        &[email("editor@matrix.news.example")],
        &[account("chat.example", "@editor:matrix.news.example:8448")],
        &[],
    );
}
