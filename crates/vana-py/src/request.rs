//! An ASGI scope's parts as the `http::Request` the layer reads: what the gateway would have received.

use std::net::{IpAddr, SocketAddr};

use http::uri::{PathAndQuery, Scheme};
use http::{Method, Request, Uri, Version};
use pyo3::PyResult;
use pyo3::exceptions::PyValueError;
use pyo3::pybacked::PyBackedBytes;

use crate::exchange::header_map;

/// The scope's parts.
pub(crate) struct RequestParts<'a> {
    pub(crate) method: &'a str,
    /// The raw path and `?query`, as the client sent them.
    pub(crate) target: &'a [u8],
    pub(crate) headers: &'a [(PyBackedBytes, PyBackedBytes)],
    pub(crate) client: Option<(String, u16)>,
    pub(crate) scheme: &'a str,
    pub(crate) http_version: &'a str,
}

impl RequestParts<'_> {
    /// The request head, with the peer's address in its extensions as a server puts it there.
    pub(crate) fn build(&self) -> PyResult<Request<()>> {
        let method = Method::from_bytes(self.method.as_bytes())
            .map_err(|_| PyValueError::new_err(format!("not an HTTP method: {:?}", self.method)))?;
        let headers = header_map(self.headers);
        let path_and_query = path_and_query(self.target)?;
        let uri = if self.scheme.eq_ignore_ascii_case("https") {
            // Over TLS to this process: the layer reads it from the scheme, as with a TLS listener.
            let authority = headers
                .get(http::header::HOST)
                .and_then(|host| host.to_str().ok())
                .and_then(|host| host.parse::<http::uri::Authority>().ok())
                .unwrap_or_else(|| http::uri::Authority::from_static("localhost"));
            Uri::builder().scheme(Scheme::HTTPS).authority(authority).path_and_query(path_and_query).build()
        } else {
            Uri::builder().path_and_query(path_and_query).build()
        }
        .map_err(|error| PyValueError::new_err(error.to_string()))?;
        let mut request = Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = match self.http_version {
            "1.0" => Version::HTTP_10,
            "2" | "2.0" => Version::HTTP_2,
            _ => Version::HTTP_11,
        };
        *request.headers_mut() = headers;
        if let Some((host, port)) = &self.client
            && let Ok(address) = host.parse::<IpAddr>()
        {
            request.extensions_mut().insert(SocketAddr::new(address, *port));
        }
        Ok(request)
    }
}

/// The target as a URI's path and query; bytes a URI may not hold (an ASGI server may pass them) are
/// percent-encoded, as a client should have sent them.
fn path_and_query(target: &[u8]) -> PyResult<PathAndQuery> {
    if let Ok(parsed) = PathAndQuery::try_from(target) {
        return Ok(parsed);
    }
    let mut encoded = String::with_capacity(target.len() * 3);
    for &byte in target {
        if byte.is_ascii_graphic()
            && !matches!(byte, b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}')
        {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    PathAndQuery::try_from(encoded)
        .map_err(|error| PyValueError::new_err(format!("not a request target: {error}")))
}

/// Whether an HTTP/1 request carries no body: neither `Content-Length` nor `Transfer-Encoding`, or a length of
/// zero. (HTTP/2 frames a body without either: there the body's end is the client's word.)
pub(crate) fn has_no_body(request: &Request<()>) -> bool {
    if request.version() >= Version::HTTP_2 {
        return false;
    }
    let headers = request.headers();
    match headers.get(http::header::CONTENT_LENGTH) {
        Some(length) => length.as_bytes() == b"0",
        None => !headers.contains_key(http::header::TRANSFER_ENCODING),
    }
}
