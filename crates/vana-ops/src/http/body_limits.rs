//! The body limits of each route: `http.max_body_bytes`, or a route's own from `http.route_settings`.

use std::collections::HashMap;
use std::time::Duration;

use crate::http::body::BodyCap;
use crate::http::encoding::DecodeCaps;

/// How large a body may be, as sent and as decoded.
pub(crate) struct BodyLimits {
    pub(crate) cap: BodyCap,
    /// The decoded body's caps; `max_bytes` is also the longest single value validation reads.
    pub(crate) decode: DecodeCaps,
}

impl BodyLimits {
    fn new(max_body_bytes: u64, config: &vana_config::HttpLayer) -> Self {
        let max_bytes = usize::try_from(max_body_bytes).unwrap_or(usize::MAX);
        Self {
            cap: BodyCap::new(max_body_bytes, Duration::from_millis(config.body_read_timeout_ms)),
            decode: DecodeCaps {
                max_bytes,
                max_ratio: usize::try_from(config.max_decompression_ratio).unwrap_or(usize::MAX),
            },
        }
    }
}

/// The limits of every route: the section's, and those of the routes with a cap of their own.
pub(crate) struct RouteBodyLimits {
    default: BodyLimits,
    /// Empty unless some route has its own cap: then one lookup by route name a request.
    by_route: HashMap<Box<str>, BodyLimits>,
}

impl RouteBodyLimits {
    pub(crate) fn new(config: &vana_config::HttpLayer) -> Self {
        let by_route = config
            .route_settings
            .iter()
            .filter_map(|(route, settings)| {
                Some((route.as_str().into(), BodyLimits::new(settings.max_body_bytes?, config)))
            })
            .collect();
        Self { default: BodyLimits::new(config.max_body_bytes, config), by_route }
    }

    /// The limits of requests named `route`.
    pub(crate) fn of(&self, route: &str) -> &BodyLimits {
        if self.by_route.is_empty() {
            return &self.default;
        }
        self.by_route.get(route).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_with_a_cap_of_its_own_gets_it_and_every_other_route_keeps_the_section_s() {
        let ops = crate::http::step::test_ops(concat!(
            "http:\n  max_body_bytes: 1000\n  route_templates: [\"/upload\", \"/chat\"]\n",
            "  route_settings:\n    /upload:\n      max_body_bytes: 5000\n",
        ));
        let limits = RouteBodyLimits::new(&ops.config().security.http);
        let declared = |route: &str, length: u64| {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::CONTENT_LENGTH, length.into());
            limits.of(route).cap.check_declared(&headers).is_ok()
        };
        assert!(declared("/upload", 5000) && !declared("/upload", 5001));
        assert!(declared("/chat", 1000) && !declared("/chat", 1001));
        assert!(!declared("other", 1001));
        assert_eq!(limits.of("/upload").decode.max_bytes, 5000);
    }
}
