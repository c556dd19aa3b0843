//! Correlation: the request's id, read from its header or made, echoed on the response and passed to the
//! inner service so that its own log lines carry it.

use http::{HeaderMap, HeaderName};
use vana_logging::CorrelationId;

use crate::error::OpsError;

const DEFAULT_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The correlation step (`http.correlation_id`, the header from `logging.correlation_id_header`).
pub(crate) struct Correlation {
    header: HeaderName,
    /// Whether the id travels in headers; when off, it still names the request's span and log line.
    propagate: bool,
}

impl Correlation {
    pub(crate) fn new(header_name: &str, propagate: bool) -> Result<Self, OpsError> {
        let header = if header_name.eq_ignore_ascii_case(DEFAULT_HEADER.as_str()) {
            // Static text: cloning it onto every request and response touches no shared count.
            DEFAULT_HEADER
        } else {
            HeaderName::from_bytes(header_name.as_bytes())
                .map_err(|source| OpsError::HeaderName { key: "logging.correlation_id_header", source })?
        };
        Ok(Self { header, propagate })
    }

    /// The client's id when well-formed, else a fresh one.
    pub(crate) fn id(&self, request: &HeaderMap) -> CorrelationId {
        CorrelationId::from_headers(request, &self.header)
    }

    /// Puts the id in `headers` (the request to the inner service, or the response), replacing any other
    /// value.
    pub(crate) fn attach(&self, headers: &mut HeaderMap, id: &CorrelationId) {
        if self.propagate {
            headers.insert(self.header.clone(), id.header_value().clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_id_is_kept_and_attached_in_place_of_others() {
        let step = Correlation::new("X-Request-Id", true).unwrap();
        let mut request = HeaderMap::new();
        request.insert("x-request-id", "req-7".parse().unwrap());
        let id = step.id(&request);
        assert_eq!(id.as_str(), "req-7");
        let mut response = HeaderMap::new();
        response.append("x-request-id", "forged".parse().unwrap());
        response.append("x-request-id", "twice".parse().unwrap());
        step.attach(&mut response, &id);
        assert_eq!(response.get_all("x-request-id").iter().collect::<Vec<_>>(), ["req-7"]);
    }

    #[test]
    fn a_malformed_id_is_replaced_and_switched_off_nothing_is_attached() {
        let step = Correlation::new("x-correlation-id", false).unwrap();
        let mut request = HeaderMap::new();
        request.insert("x-correlation-id", "has space".parse().unwrap());
        let id = step.id(&request);
        assert_ne!(id.as_str(), "has space");
        let mut response = HeaderMap::new();
        step.attach(&mut response, &id);
        assert!(response.is_empty());
    }

    #[test]
    fn an_invalid_header_name_is_an_error_naming_the_key() {
        let error = Correlation::new("bad header", true).err().unwrap();
        assert!(error.to_string().contains("logging.correlation_id_header"), "{error}");
    }
}
