//! Security events reach `tracing` under the `vana_security` target, at a level by severity. Alone in its
//! test binary: a callsite's interest is cached process-wide, and another test's thread recording the same
//! event without a subscriber at the same moment could leave this test's scoped subscriber unasked.

use std::net::IpAddr;
use std::sync::Arc;

use vana_security::{SecurityEvent, SecurityEvents, Severity};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn events_are_emitted_under_the_vana_security_target() {
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Targets(Arc<parking_lot::Mutex<Vec<(String, tracing::Level)>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Targets {
        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0.lock().push((event.metadata().target().to_owned(), *event.metadata().level()));
        }
    }
    let seen = Targets::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone());
    tracing::subscriber::with_default(subscriber, || {
        let events = SecurityEvents::new(10);
        events.record(SecurityEvent::new("rate_limited", Severity::Medium, Some(ip("192.0.2.1"))));
        events.record(SecurityEvent::new("sql_injection", Severity::Critical, Some(ip("192.0.2.1"))));
    });
    let seen = seen.0.lock().clone();
    assert_eq!(
        seen,
        [
            ("vana_security".to_owned(), tracing::Level::WARN),
            ("vana_security".to_owned(), tracing::Level::ERROR)
        ]
    );
}
