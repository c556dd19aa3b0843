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

    /// [`attach`](Self::attach) to the request for the inner service, first taking the id's header out of
    /// the client's `Connection` list: a client naming it there (`Connection: close, X-Correlation-ID`)
    /// would have a proxy drop it as hop-by-hop, and the service would never see the id.
    pub(crate) fn attach_to_request(&self, headers: &mut HeaderMap, id: &CorrelationId) {
        if self.propagate && headers.contains_key(http::header::CONNECTION) {
            unlist_from_connection(headers, &self.header);
        }
        self.attach(headers, id);
    }
}

/// Removes `name` from the tokens of every `Connection` header (dropping a header left empty).
fn unlist_from_connection(headers: &mut HeaderMap, name: &HeaderName) {
    let values: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|token| !token.is_empty() && !token.eq_ignore_ascii_case(name.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|value| !value.is_empty())
        .collect();
    headers.remove(http::header::CONNECTION);
    for value in values {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.append(http::header::CONNECTION, value);
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
    fn a_client_cannot_make_the_id_hop_by_hop() {
        let step = Correlation::new("X-Correlation-ID", true).unwrap();
        let mut request = HeaderMap::new();
        request.insert("connection", "close, X-Correlation-ID".parse().unwrap());
        request.append("connection", "x-correlation-id".parse().unwrap());
        let id = step.id(&request);
        step.attach_to_request(&mut request, &id);
        assert_eq!(request.get_all("connection").iter().collect::<Vec<_>>(), ["close"]);
        assert_eq!(request["x-correlation-id"], id.as_str());
    }

    #[test]
    fn an_invalid_header_name_is_an_error_naming_the_key() {
        let error = Correlation::new("bad header", true).err().unwrap();
        assert!(error.to_string().contains("logging.correlation_id_header"), "{error}");
    }
}
