//! Rate limit: one GCRA budget per client network (`http.rate_limit`; an IPv4 address or an IPv6 /64 by
//! default), refused with 429 past it, and the rate-limit headers (`http.rate_limit_headers`) on every
//! response that was counted.

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use vana_config::RateLimitHeaders;
use vana_security::{Quota, RateDecision};

use crate::http::reject::{Refusal, retry_after_secs};
use crate::http::step::client_address::Client;
use crate::ops::Ops;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// The rate-limit step.
pub(crate) struct RateLimit {
    ops: Ops,
    /// The configured limit and its header value, made once: it is on every response.
    limit: (u32, HeaderValue),
    /// The operational endpoints' own budget, under keys of their own; `None`: the service's.
    endpoints: Option<Quota>,
    headers: RateLimitHeaders,
    /// `RateLimit-Policy`, made once: the policy does not change.
    policy: HeaderValue,
}

impl RateLimit {
    pub(crate) fn new(ops: &Ops) -> Self {
        let quota = ops.security().rate_limiter().quota();
        Self::with_quota(ops, quota, None)
    }

    fn with_quota(ops: &Ops, quota: Quota, endpoints: Option<Quota>) -> Self {
        let limit = quota.limit().get();
        Self {
            ops: ops.clone(),
            limit: (limit, number(limit.into())),
            endpoints,
            headers: ops.config().security.http.rate_limit_headers,
            policy: policy_header(&quota),
        }
    }

    /// The budget of the operational endpoints: `http.ops_rate_limit` a minute per client network, in
    /// bursts of as many, apart from the service's.
    pub(crate) fn for_endpoints(ops: &Ops) -> Self {
        let per_minute = u32::try_from(ops.config().security.http.ops_rate_limit).unwrap_or(u32::MAX);
        let count = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::new(count, Duration::from_secs(60), count);
        Self::with_quota(ops, quota, Some(quota))
    }

    /// Counts the request against the client's budget.
    pub(crate) fn check(&self, client: &Client) -> RateDecision {
        let limiter = self.ops.security().rate_limiter();
        match &self.endpoints {
            None => limiter.check(client.key.as_str()),
            Some(quota) => limiter.check_quota(&format!("ops:{}", client.key.as_str()), quota),
        }
    }

    /// [`check`](Self::check), asking a shared store without holding a thread.
    pub(crate) async fn check_async(&self, client: &Client) -> RateDecision {
        let limiter = self.ops.security().rate_limiter();
        match &self.endpoints {
            None => limiter.check_async(client.key.as_str()).await,
            Some(quota) => limiter.check_quota_async(&format!("ops:{}", client.key.as_str()), quota).await,
        }
    }

    /// The refusal of a request whose budget is spent.
    pub(crate) fn admits(decision: &RateDecision) -> Result<(), Refusal> {
        if decision.allowed {
            return Ok(());
        }
        Err(Refusal::RateLimited(decision.retry_after.unwrap_or(Duration::ZERO)))
    }

    /// The rate-limit headers of `decision`: `RateLimit-Policy` and `RateLimit` (the IETF draft), and/or
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds, rounded up).
    pub(crate) fn annotate(&self, headers: &mut HeaderMap, decision: &RateDecision) {
        if self.headers != RateLimitHeaders::Legacy {
            headers.insert(RATELIMIT_POLICY, self.policy.clone());
            headers.insert(RATELIMIT, remaining_header(decision));
        }
        if self.headers != RateLimitHeaders::Ietf {
            self.annotate_legacy(headers, decision);
        }
    }

    fn annotate_legacy(&self, headers: &mut HeaderMap, decision: &RateDecision) {
        let limit = match &self.limit {
            (limit, value) if *limit == decision.limit => value.clone(),
            _ => number(decision.limit.into()),
        };
        headers.insert(LIMIT, limit);
        headers.insert(REMAINING, number(decision.remaining.into()));
        headers.insert(RESET, number(retry_after_secs(decision.reset_after)));
    }
}

/// `RateLimit-Policy` of `quota`, told as GCRA keeps it: `burst` requests at once, given back at the
/// sustained rate (all of them within `w` seconds), and so at most `limit + burst` in a window.
fn policy_header(quota: &Quota) -> HeaderValue {
    let (limit, burst, window) = (quota.limit().get(), quota.burst().get(), quota.window());
    let refill = (window.as_secs_f64() * f64::from(burst) / f64::from(limit)).ceil().max(1.0) as u64;
    let text = format!(
        "\"burst\";q={burst};w={refill}, \"window\";q={};w={}",
        u64::from(limit) + u64::from(burst),
        window.as_secs().max(1)
    );
    // Static text: cloning it onto every response touches no shared count.
    match vana_config::static_text(&text) {
        Some(text) => HeaderValue::from_static(text),
        None => HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("\"burst\";q=0")),
    }
}

/// `RateLimit` of `decision`: the burst left now, and the seconds until it is whole again.
fn remaining_header(decision: &RateDecision) -> HeaderValue {
    let mut text = itoa::Buffer::new();
    let mut value = Vec::with_capacity(32);
    value.extend_from_slice(b"\"burst\";r=");
    value.extend_from_slice(text.format(decision.remaining).as_bytes());
    value.extend_from_slice(b";t=");
    value.extend_from_slice(text.format(retry_after_secs(decision.reset_after)).as_bytes());
    // Quotes, digits and separators are always a valid header value.
    HeaderValue::from_maybe_shared(Bytes::from(value)).unwrap_or(HeaderValue::from_static("\"burst\";r=0"))
}

/// A header value of `value`'s digits: static text up to [`SMALL_NUMBERS`] (the usual remaining and reset
/// counts), else one allocation.
fn number(value: u64) -> HeaderValue {
    if let Some(text) = small_number(value) {
        return HeaderValue::from_static(text);
    }
    let digits = Bytes::copy_from_slice(itoa::Buffer::new().format(value).as_bytes());
    // Digits are always a valid header value.
    HeaderValue::from_maybe_shared(digits).unwrap_or_else(|_| value.into())
}

/// Numbers below this are kept as text in the binary.
const SMALL_NUMBERS: usize = 1025;
/// Digits of `0..SMALL_NUMBERS`: 10 of one digit, 90 of two, 900 of three, 25 of four.
const DIGITS_LEN: usize = 10 + 90 * 2 + 900 * 3 + (SMALL_NUMBERS - 1000) * 4;

/// The decimal text of every number below [`SMALL_NUMBERS`], one after the other, and where each ends;
/// computed at compile time, so a response takes its header value from it without an allocation or a
/// reference count shared by the worker threads.
struct SmallNumbers {
    digits: [u8; DIGITS_LEN],
    ends: [u16; SMALL_NUMBERS],
}

static SMALL: SmallNumbers = SmallNumbers::new();

impl SmallNumbers {
    const fn new() -> Self {
        let mut table = Self { digits: [0; DIGITS_LEN], ends: [0; SMALL_NUMBERS] };
        let (mut number, mut end) = (0, 0);
        while number < SMALL_NUMBERS {
            let width = if number < 10 {
                1
            } else if number < 100 {
                2
            } else if number < 1000 {
                3
            } else {
                4
            };
            let (mut rest, mut at) = (number, end + width);
            while at > end {
                at -= 1;
                table.digits[at] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            end += width;
            table.ends[number] = end as u16;
            number += 1;
        }
        table
    }
}

/// The text of `value`, if it is below [`SMALL_NUMBERS`].
fn small_number(value: u64) -> Option<&'static str> {
    let index = usize::try_from(value).ok().filter(|&index| index < SMALL_NUMBERS)?;
    let start = index.checked_sub(1).map_or(0, |previous| usize::from(SMALL.ends[previous]));
    std::str::from_utf8(&SMALL.digits[start..usize::from(SMALL.ends[index])]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::address::AddressText;
    use crate::http::step::test_ops_on;

    #[test]
    fn number_headers_read_as_the_number_whatever_its_size() {
        for value in (0..=1100).chain([3_999_999_999, u64::MAX]) {
            assert_eq!(number(value).to_str().unwrap(), value.to_string());
        }
        assert_eq!(usize::from(SMALL.ends[SMALL_NUMBERS - 1]), DIGITS_LEN, "the table is full, no more");
    }

    #[test]
    fn the_budget_is_spent_then_refused_with_headers_that_add_up() {
        let clock = vana_security::ManualClock::new();
        let ops = test_ops_on(
            "rate_limiting:\n  default_limit: 2\n  burst_limit: 1\nhttp:\n  rate_limit_headers: legacy\n",
            clock.clone(),
        );
        let step = RateLimit::new(&ops);
        let address = "203.0.113.9".parse().unwrap();
        let client = Client { address, text: AddressText::new(address), key: AddressText::new(address) };
        let first = step.check(&client);
        assert_eq!(RateLimit::admits(&first), Ok(()));
        let mut headers = HeaderMap::new();
        step.annotate(&mut headers, &first);
        assert_eq!(headers[LIMIT], "2");
        let remaining: u32 = headers[REMAINING].to_str().unwrap().parse().unwrap();
        assert_eq!(remaining, first.remaining);
        let mut admitted = 1;
        let refusal = loop {
            match RateLimit::admits(&step.check(&client)) {
                Ok(()) => admitted += 1,
                Err(refusal) => break refusal,
            }
            assert!(admitted < 10, "never refused");
        };
        assert_eq!(admitted, 1 + remaining);
        let Refusal::RateLimited(wait) = refusal else { panic!("{refusal:?}") };
        assert!(wait > Duration::ZERO);
        clock.advance(wait);
        assert!(step.check(&client).allowed, "admitted again once the wait is over");
    }

    #[test]
    fn the_ietf_headers_tell_the_burst_and_the_window_as_gcra_keeps_them() {
        let yaml = "rate_limiting:\n  default_limit: 100\n  window_seconds: 60\n  burst_limit: 10\n";
        let ops = test_ops_on(yaml, vana_security::ManualClock::new());
        let step = RateLimit::new(&ops);
        let address = "203.0.113.9".parse().unwrap();
        let client = Client { address, text: AddressText::new(address), key: AddressText::new(address) };
        let first = step.check(&client);
        let mut headers = HeaderMap::new();
        step.annotate(&mut headers, &first);
        // Ten at once, given back at 100 a minute (all ten in 6 s): at most 110 in any minute.
        assert_eq!(headers[RATELIMIT_POLICY], "\"burst\";q=10;w=6, \"window\";q=110;w=60");
        assert_eq!(headers[RATELIMIT], format!("\"burst\";r={};t=1", first.remaining));
        assert!(!headers.contains_key(LIMIT), "legacy headers only on request");
        let mut admitted = 1;
        while step.check(&client).allowed {
            admitted += 1;
        }
        assert_eq!(admitted, 10, "what the burst policy said");
    }
}
