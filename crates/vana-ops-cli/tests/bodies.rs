//! Compressed and UTF-16 bodies against the `vana-ops` binary over real sockets: validated as the service
//! will read them, forwarded as sent; bombs refused at their caps without the memory to expand them;
//! codings validation cannot read refused with 415.

mod support;

use std::io::Write;

use reqwest::StatusCode;
use support::{Gateway, client};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post(
    gateway: &Gateway,
    from: &str,
    encoding: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut request = client()
        .post(gateway.url("/echo"))
        .header("x-forwarded-for", from)
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_bodies_are_validated_as_the_service_reads_them() {
    let gateway = Gateway::start(&[], &[]);
    let json = "application/json";
    // A deflated attack is refused; a gzipped greeting passes, and reaches the service as sent.
    let attack = deflate(br#"{"bio":"<script>alert(1)</script>"}"#);
    assert_eq!(
        post(&gateway, "198.51.100.50", Some("deflate"), json, attack).await.0,
        StatusCode::BAD_REQUEST
    );
    let hello = gzip(br#"{"message":"hello"}"#);
    let (status, echoed) = post(&gateway, "198.51.100.51", Some("gzip"), json, hello.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed, hello, "forwarded compressed, as sent");
    // JSON in UTF-16 is read as text (it was refused for its NUL bytes).
    let utf16: Vec<u8> = r#"{"message":"hello"}"#.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(post(&gateway, "198.51.100.52", None, json, utf16).await.0, StatusCode::OK);
    // A repeated key is validated in each of its values (an upstream may keep the first).
    let repeated = br#"{"bio":"<script>alert(1)</script>","bio":"harmless"}"#.to_vec();
    assert_eq!(post(&gateway, "198.51.100.54", None, json, repeated).await.0, StatusCode::BAD_REQUEST);
    // A coding validation cannot undo: 415, with what to do.
    let (status, body) = post(&gateway, "198.51.100.53", Some("zstd"), json, b"(zstd)".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(String::from_utf8_lossy(&body).contains("docs/gateway.md#bodies"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_bombs_are_refused_without_expanding_them() {
    let gateway = Gateway::start(&[], &[]);
    let idle = gateway.resident_bytes();
    // 10 MB of zeros in some KB, and as many such gzip members in a row as fit under the 1 MiB body cap
    // (hundreds of MB): refused for what they would decode to, not for their length.
    let member = gzip(&vec![0u8; 10 << 20]);
    let members = (900_000 / member.len()).max(2);
    let mut many = Vec::with_capacity(member.len() * members);
    for _ in 0..members {
        many.extend_from_slice(&member);
    }
    assert!(many.len() < 1 << 20, "{} bytes", many.len());
    let json = "application/json";
    for (from, bomb) in [("198.51.100.60", member), ("198.51.100.61", many)] {
        let (status, _) = post(&gateway, from, Some("gzip"), json, bomb).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{from}");
    }
    let grown = gateway.resident_bytes().saturating_sub(idle);
    assert!(grown < 50 << 20, "resident memory grew by {} MiB", grown >> 20);
}

/// A chunked body of `size` bytes of `application/octet-stream` (not inspected: it streams through), sent
/// by hand; the status line of the answer.
async fn post_chunked(to: &str, path: &str, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(to.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        // The gateway may answer and close before it has read everything: stop writing then.
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_chunked_body_is_413_in_gateway_mode_too() {
    // An upstream that reads whatever it is sent.
    let app = axum::Router::new().route(
        "/upload",
        axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let gateway = Gateway::start(
        &["--upstream", &format!("http://{upstream}")],
        &[("VANA_SECURITY__HTTP__MAX_BODY_BYTES", "262144")],
    );
    let small = post_chunked(&gateway.base, "/upload", 128 * 1024).await;
    assert!(small.starts_with("HTTP/1.1 200"), "{small}");
    let large = post_chunked(&gateway.base, "/upload", 2 << 20).await;
    assert!(large.starts_with("HTTP/1.1 413"), "{large}");
    // And in front of the demo application, whose handler reads the capped stream.
    let demo = Gateway::start(&[], &[("VANA_SECURITY__HTTP__MAX_BODY_BYTES", "262144")]);
    let large = post_chunked(&demo.base, "/echo", 2 << 20).await;
    assert!(large.starts_with("HTTP/1.1 413"), "{large}");
}

#[tokio::test]
async fn multipart_text_fields_are_validated_binary_files_are_not() {
    let gateway = Gateway::start(&[], &[]);
    let form = |field: &str, file: &str| {
        format!(
            "--b0undary\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\n{field}\r\n--b0undary\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n{file}\r\n--b0undary--\r\n"
        )
        .into_bytes()
    };
    let multipart = "multipart/form-data; boundary=b0undary";
    let attack = "<script>alert(1)</script>";
    let (status, _) = post(&gateway, "198.51.100.70", None, multipart, form(attack, "PNG bytes")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a text field is a form field");
    let (status, _) = post(&gateway, "198.51.100.71", None, multipart, form("a nice photo", attack)).await;
    assert_eq!(status, StatusCode::OK, "a binary file's bytes are not text to validate");
}
