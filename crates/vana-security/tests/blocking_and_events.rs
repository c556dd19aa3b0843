//! Blocks that expire and escalate, a whitelist that always wins, bounded tables, events and addresses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use vana_config::{IpBlocking, SecurityPolicies};
use vana_security::{
    BlockOutcome, ClientAddressResolver, EventQuery, IpBlocklist, ManualClock, SecurityEvent, SecurityEvents,
    SecurityManager, Severity,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn blocks_expire_and_repeat_offenders_wait_longer() {
    let clock = ManualClock::new();
    let blocklist = IpBlocklist::with_clock(&IpBlocking::default(), Arc::new(clock.clone()));
    let attacker = ip("203.0.113.5");
    let mut durations = Vec::new();
    for _ in 0..5 {
        match blocklist.block(attacker, "probe") {
            BlockOutcome::Blocked { duration, .. } => durations.push(duration / 3600),
            other => panic!("blocked, not {other:?}"),
        }
        assert!(blocklist.is_blocked(attacker));
        clock.advance(durations.last().copied().unwrap() * 3600);
        assert!(!blocklist.is_blocked(attacker), "a block ends on time");
    }
    // 24 h doubling, capped at max_block_hours (168).
    assert_eq!(
        durations,
        [
            Duration::from_secs(24),
            Duration::from_secs(48),
            Duration::from_secs(96),
            Duration::from_secs(168),
            Duration::from_secs(168)
        ]
    );
    // Long after, the record is forgiven.
    clock.advance(HOUR * 24 * 30);
    assert_eq!(
        blocklist.block(attacker, "again"),
        BlockOutcome::Blocked { duration: HOUR * 24, offences: 1 }
    );
}

#[test]
fn a_short_block_made_after_a_long_one_does_not_end_the_long_one() {
    // Checks skip the table once every block has ended: the latest end must win, not the last made.
    let clock = ManualClock::new();
    let blocklist = IpBlocklist::with_clock(&IpBlocking::default(), Arc::new(clock.clone()));
    let (repeat, first_time) = (ip("203.0.113.7"), ip("203.0.113.8"));
    blocklist.block(repeat, "first");
    clock.advance(HOUR * 24);
    blocklist.block(repeat, "second"); // 48 h from now
    blocklist.block(first_time, "once"); // 24 h from now
    clock.advance(HOUR * 30);
    assert!(!blocklist.is_blocked(first_time));
    assert!(blocklist.is_blocked(repeat));
    clock.advance(HOUR * 18);
    assert!(!blocklist.is_blocked(repeat));
    assert!(!blocklist.is_blocked(ip("203.0.113.9")));
}

#[test]
fn unblock_and_listing() {
    let blocklist = IpBlocklist::from_config(&IpBlocking::default());
    blocklist.block(ip("198.51.100.1"), "a");
    blocklist.block(ip("2001:db8::1"), "b");
    let listed: Vec<_> =
        blocklist.blocked(usize::MAX).into_iter().map(|entry| entry.network.addr()).collect();
    assert_eq!(listed.len(), 2);
    assert!(blocklist.unblock(ip("198.51.100.1")));
    assert!(!blocklist.unblock(ip("198.51.100.1")));
    assert!(!blocklist.is_blocked(ip("198.51.100.1")));
    assert!(blocklist.is_blocked(ip("2001:db8::1")));
}

#[test]
fn the_whitelist_wins_for_cidrs_ipv6_and_mapped_addresses() {
    let mut config = IpBlocking::default();
    config.whitelist = vec!["10.0.0.0/8".into(), "fd00::/8".into(), "::1".into(), "127.0.0.1".into()];
    let blocklist = IpBlocklist::from_config(&config);
    for address in ["10.1.2.3", "fd00::42", "::1", "::ffff:10.9.9.9", "::ffff:127.0.0.1"] {
        assert_eq!(blocklist.block(ip(address), "x"), BlockOutcome::Whitelisted, "{address}");
        assert!(!blocklist.is_blocked(ip(address)));
    }
    // An IPv4-mapped form is the same address as the IPv4 one.
    blocklist.block(ip("::ffff:192.0.2.1"), "x");
    assert!(blocklist.is_blocked(ip("192.0.2.1")));
}

#[test]
fn the_block_table_is_bounded() {
    let mut config = IpBlocking::default();
    config.max_blocked = 100;
    let blocklist = IpBlocklist::from_config(&config);
    let address = |n: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + n));
    let outcomes: Vec<BlockOutcome> = (0..10_000u32).map(|n| blocklist.block(address(n), "flood")).collect();
    assert!(blocklist.len() <= 100, "{}", blocklist.len());
    // A crowded /24 replaces its own blocks; a /24 the full table holds none of is refused, never given
    // the place of another network's running block (block_table.rs tests the spread flood).
    assert!(outcomes.contains(&BlockOutcome::TableFull));
}

#[test]
fn repeated_refused_attacks_block_never_one_and_never_whitelisted_or_proxies() {
    let mut config = SecurityPolicies::default();
    config.client_address.trusted_proxies = vec!["10.0.0.0/8".into()];
    let security = SecurityManager::from_config(&config).unwrap();
    // An event, even a critical one, never blocks by itself.
    security.log_security_event(SecurityEvent::new(
        "input_rejected",
        Severity::Critical,
        Some(ip("192.0.2.10")),
    ));
    assert!(!security.blocklist().is_blocked(ip("192.0.2.10")));
    for _ in 0..4 {
        assert_eq!(security.record_refused_attack(ip("192.0.2.10")), None);
    }
    assert!(!security.blocklist().is_blocked(ip("192.0.2.10")), "four of five");
    assert!(matches!(security.record_refused_attack(ip("192.0.2.10")), Some(BlockOutcome::Blocked { .. })));
    assert!(security.blocklist().is_blocked(ip("192.0.2.10")));
    for never in ["127.0.0.1", "10.1.2.3"] {
        for _ in 0..20 {
            assert_eq!(security.record_refused_attack(ip(never)), None);
        }
        assert!(!security.blocklist().is_blocked(ip(never)), "{never}");
    }
    let blocked_events =
        security.events().query(&EventQuery { event_type: Some("ip_blocked"), ..EventQuery::default() });
    assert_eq!(blocked_events.len(), 1);
    assert_eq!(blocked_events[0].details["reason"], "5 refused attacks within 600 s");

    let mut config = SecurityPolicies::default();
    config.ip_blocking.auto_block = false;
    let security = SecurityManager::from_config(&config).unwrap();
    for _ in 0..20 {
        security.record_refused_attack(ip("192.0.2.11"));
    }
    assert!(!security.blocklist().is_blocked(ip("192.0.2.11")));
}

#[test]
fn events_are_bounded_counted_and_queryable() {
    let events = SecurityEvents::new(100);
    let start = std::time::SystemTime::now();
    for n in 0..1000u32 {
        let severity = if n % 10 == 0 { Severity::Critical } else { Severity::Low };
        events.record(
            SecurityEvent::new("probe", severity, None).detail("n", n).user_agent(&"x".repeat(10_000)),
        );
    }
    assert_eq!(events.len(), 100);
    let counts = events.counts();
    assert_eq!(
        counts,
        [("probe".to_owned(), Severity::Low, 900), ("probe".to_owned(), Severity::Critical, 100)]
    );
    let critical =
        events.query(&EventQuery { min_severity: Some(Severity::Critical), ..EventQuery::default() });
    assert_eq!(critical.len(), 10);
    assert_eq!(critical[0].details["n"], 990, "newest first");
    assert_eq!(critical[0].user_agent.len(), 256);
    assert_eq!(
        events.query(&EventQuery { since: Some(start), limit: Some(3), ..EventQuery::default() }).len(),
        3
    );
    assert!(events.query(&EventQuery { event_type: Some("other"), ..EventQuery::default() }).is_empty());
    // Distinct event types are capped in the counters.
    for n in 0..1000 {
        events.record(SecurityEvent::new(&format!("type-{n}"), Severity::Low, None));
    }
    assert!(events.counts().len() <= 258, "{}", events.counts().len());
    assert!(events.counts().iter().any(|(kind, _, _)| kind == "other"));
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let mut config = vana_config::ClientAddress::default();
    config.trusted_proxies = vec!["10.0.0.0/8".into(), "2001:db8:ffff::/48".into()];
    let resolver = ClientAddressResolver::from_config(&config);
    let headers = |values: &[&str]| {
        let mut map = http::HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    };
    // A spoofed header from an untrusted peer is ignored: the innocent address it names is not used.
    assert_eq!(resolver.resolve(ip("198.51.100.9"), &headers(&["192.0.2.77"])), ip("198.51.100.9"));
    // Right to left past trusted proxies, across header lines, with ports and brackets.
    assert_eq!(
        resolver.resolve(ip("10.0.0.1"), &headers(&["192.0.2.1, 203.0.113.4:5555", "10.2.2.2"])),
        ip("203.0.113.4")
    );
    assert_eq!(resolver.resolve(ip("2001:db8:ffff::1"), &headers(&["[2001:db8::7]:443"])), ip("2001:db8::7"));
    assert_eq!(resolver.resolve(ip("::ffff:10.0.0.1"), &headers(&["192.0.2.5"])), ip("192.0.2.5"));
    // Garbage stops the walk at the last good hop; a chain of only proxies gives its leftmost.
    assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers(&["evil, 10.3.3.3"])), ip("10.3.3.3"));
    assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers(&["10.4.4.4, 10.3.3.3"])), ip("10.4.4.4"));
    assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers(&[])), ip("10.0.0.1"));
}

#[test]
fn without_escalation_every_block_lasts_the_configured_duration() {
    let clock = ManualClock::new();
    let mut config = IpBlocking::default();
    (config.escalate_repeat_offenders, config.block_duration_hours) = (false, 2);
    let blocklist = IpBlocklist::with_clock(&config, Arc::new(clock.clone()));
    for offence in 1..=3 {
        let BlockOutcome::Blocked { duration, offences } = blocklist.block(ip("203.0.113.6"), "probe") else {
            panic!("not whitelisted");
        };
        assert_eq!((duration, offences), (HOUR * 2, offence), "offence {offence}");
        clock.advance(duration);
    }
}

#[test]
fn the_configured_forwarded_header_is_the_one_read() {
    let mut config = vana_config::ClientAddress::default();
    config.trusted_proxies = vec!["10.0.0.0/8".into()];
    config.forwarded_header = "X-Real-IP".into();
    let resolver = ClientAddressResolver::from_config(&config);
    let mut headers = http::HeaderMap::new();
    headers.insert("x-forwarded-for", "192.0.2.10".parse().unwrap());
    assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers), ip("10.0.0.1"), "X-Forwarded-For is not read");
    headers.insert("x-real-ip", "192.0.2.11".parse().unwrap());
    assert_eq!(resolver.resolve(ip("10.0.0.1"), &headers), ip("192.0.2.11"));
}

#[test]
fn max_events_caps_the_managers_history() {
    let mut config = SecurityPolicies::default();
    config.security_events.max_events = 5;
    let security = vana_security::SecurityManager::from_config(&config).unwrap();
    for n in 0..20u32 {
        security.log_security_event(SecurityEvent::new("probe", Severity::Low, None).detail("n", n));
    }
    let kept = security.events().query(&EventQuery::default());
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[0].details["n"], 19, "the newest are kept");
    assert_eq!(security.events().counts(), [("probe".to_owned(), Severity::Low, 20)], "counts cover all");
}

#[test]
fn a_block_ends_exactly_at_its_end_and_is_reported_until_then() {
    let clock = ManualClock::new();
    let blocklist = IpBlocklist::with_clock(&IpBlocking::default(), Arc::new(clock.clone()));
    assert!(blocklist.is_empty() && blocklist.blocked_count() == 0);
    assert_eq!(blocklist.len(), 0);
    let attacker = ip("203.0.113.20");
    blocklist.block(attacker, "probe");
    clock.advance(HOUR);
    let listed = blocklist.blocked(usize::MAX);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].remaining, HOUR * 23, "what is left of 24 hours after one");
    assert_eq!((blocklist.blocked_count(), blocklist.len(), blocklist.is_empty()), (1, 1, false));
    clock.advance(HOUR * 23); // exactly the end
    assert!(!blocklist.is_blocked(attacker), "a block ends at its end");
    assert!(blocklist.blocked(usize::MAX).is_empty());
    assert_eq!(blocklist.blocked_count(), 0);
    assert!(!blocklist.unblock(attacker), "nothing left to lift");
    assert_eq!((blocklist.len(), blocklist.is_empty()), (1, false), "remembered for escalation");
    assert!(format!("{blocklist:?}").contains("entries: 1"));
}

#[test]
fn an_offence_is_forgotten_exactly_the_longest_block_after_its_end() {
    let clock = ManualClock::new();
    let blocklist = IpBlocklist::with_clock(&IpBlocking::default(), Arc::new(clock.clone()));
    let attacker = ip("203.0.113.21");
    blocklist.block(attacker, "first");
    // The block ends after 24 hours; the offence counts for max_block_hours (168) more.
    clock.advance(HOUR * (24 + 168) - Duration::from_nanos(1));
    let BlockOutcome::Blocked { offences, .. } = blocklist.block(attacker, "second") else { panic!() };
    assert_eq!(offences, 2, "still remembered a nanosecond before");
    let unblocked_at_once = blocklist.unblock(attacker);
    assert!(unblocked_at_once, "an active block is lifted");
    assert!(!blocklist.is_blocked(attacker));
    // Its end is now: forgotten exactly 168 hours later.
    clock.advance(HOUR * 168);
    let BlockOutcome::Blocked { offences, .. } = blocklist.block(attacker, "third") else { panic!() };
    assert_eq!(offences, 1, "forgotten at the moment the window closes");
}

#[test]
fn a_full_table_drops_an_expired_entry_before_a_live_block() {
    let clock = ManualClock::new();
    let mut config = IpBlocking::default();
    config.max_blocked = 2;
    let blocklist = IpBlocklist::with_clock(&config, Arc::new(clock.clone()));
    blocklist.block(ip("203.0.113.30"), "long"); // 24 h
    clock.advance(HOUR * 25);
    blocklist.block(ip("203.0.113.31"), "live");
    blocklist.block(ip("203.0.113.30"), "again"); // the expired entry of .30 is updated, not evicted
    clock.advance(HOUR * 10);
    blocklist.block(ip("203.0.113.32"), "new");
    // Of .30 (48 h from hour 25, live) and .31 (24 h from hour 25, live), the one closest to its end goes.
    assert!(blocklist.is_blocked(ip("203.0.113.30")));
    assert!(!blocklist.is_blocked(ip("203.0.113.31")));
    assert!(blocklist.is_blocked(ip("203.0.113.32")));
    // An expired entry goes before any live block.
    clock.advance(HOUR * 30); // .32's 24 h are over; .30 still has 8 h
    blocklist.block(ip("203.0.113.33"), "newest");
    assert!(blocklist.is_blocked(ip("203.0.113.30")), "the live block stays");
    assert!(blocklist.is_blocked(ip("203.0.113.33")));
    assert_eq!(blocklist.len(), 2);
}

#[test]
fn only_a_trusted_proxy_says_a_request_came_over_https() {
    let mut config = vana_config::ClientAddress::default();
    config.trusted_proxies = vec!["10.0.0.0/8".into()];
    let resolver = ClientAddressResolver::from_config(&config);
    let proto = |values: &[&str]| {
        let mut map = http::HeaderMap::new();
        for value in values {
            map.append("x-forwarded-proto", value.parse().unwrap());
        }
        map
    };
    assert!(resolver.forwarded_https(ip("10.0.0.1"), &proto(&["https"])));
    assert!(resolver.forwarded_https(ip("::ffff:10.0.0.1"), &proto(&["HTTPS"])), "mapped and any case");
    assert!(!resolver.forwarded_https(ip("198.51.100.1"), &proto(&["https"])), "not from anyone");
    assert!(!resolver.forwarded_https(ip("10.0.0.1"), &proto(&["http"])));
    assert!(!resolver.forwarded_https(ip("10.0.0.1"), &proto(&[])));
    // The nearest proxy's word, the last one, counts.
    assert!(resolver.forwarded_https(ip("10.0.0.1"), &proto(&["http", "https"])));
    assert!(!resolver.forwarded_https(ip("10.0.0.1"), &proto(&["https, http"])));
}

#[test]
fn a_block_holds_for_the_clients_network_and_a_flood_from_one_network_is_one_entry() {
    let mut config = IpBlocking::default();
    config.max_blocked = 100;
    config.whitelist = vec!["2001:db8:1:2::99".into()];
    let blocklist =
        IpBlocklist::from_config(&config).with_networks(vana_security::ClientNetworks::new(32, 64));
    let kept = ip("2001:db8:ffff::7");
    blocklist.block(kept, "another network, blocked first");
    // 200,000 blocks from addresses of one /64 are one entry: the other network's block stays.
    for n in 0..200_000u128 {
        blocklist.block(
            IpAddr::from(std::net::Ipv6Addr::from_bits((0x2001_0db8_0001_0002u128 << 64) | n)),
            "flood",
        );
    }
    assert_eq!(blocklist.len(), 2);
    assert!(blocklist.is_blocked(kept));
    // Any address of the blocked /64 is refused, a neighbouring /64 is not, a whitelisted one inside is not.
    assert!(blocklist.is_blocked(ip("2001:db8:1:2:abcd::1")));
    assert!(!blocklist.is_blocked(ip("2001:db8:1:3::1")));
    assert!(!blocklist.is_blocked(ip("2001:db8:1:2::99")));
    let listed: Vec<String> = blocklist.blocked(10).iter().map(|entry| entry.network.to_string()).collect();
    assert!(listed.contains(&"2001:db8:1:2::/64".to_owned()), "{listed:?}");
    // Unblocking any address of the network lifts it.
    assert!(blocklist.unblock(ip("2001:db8:1:2::5")));
    assert!(!blocklist.is_blocked(ip("2001:db8:1:2::1")));
}

#[test]
fn refusals_count_by_network() {
    let security = SecurityManager::from_config(&SecurityPolicies::default()).unwrap();
    // Five refusals from five addresses of one /64 block the /64.
    for n in 1..=5u16 {
        security.record_refused_attack(IpAddr::from([0x2001, 0xdb8, 7, 7, 0, 0, 0, n]));
    }
    assert!(security.blocklist().is_blocked(ip("2001:db8:7:7::abc")));
}
