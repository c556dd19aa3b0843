//! Property tests: the body parsers of the layer take any bytes without a panic, and stay within their caps.

use std::ops::ControlFlow;

use proptest::prelude::*;

use crate::http::encoding::{DecodeCaps, Encoding, decode, json_as_utf8};
use crate::http::step::validation::json_walk::{each_json_string, each_json_string_at};
use crate::http::step::validation::multipart::each_text_part;

/// Bytes that look like the formats in part: their delimiters, quotes, escapes and noise.
fn shaped_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"--b\r\n".to_vec()),
            Just(b"Content-Disposition: form-data; name=\"a\"\r\n\r\n".to_vec()),
            Just(b"filename=\"x\"".to_vec()),
            Just(b"{\"k\":".to_vec()),
            Just(b"[".to_vec()),
            Just(b"]".to_vec()),
            Just(b"\"\\u00".to_vec()),
            Just(vec![0x1f, 0x8b, 8, 0]),
            Just(vec![0x78, 0x9c]),
            Just(vec![0xFF, 0xFE]),
            prop::collection::vec(any::<u8>(), 0..16),
        ],
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn multipart_takes_any_bytes(body in shaped_bytes()) {
        let mut parts = 0usize;
        let _ = each_text_part::<()>(&body, "b", |_, _| {
            parts += 1;
            ControlFlow::Continue(())
        });
        prop_assert!(parts <= body.len());
    }

    #[test]
    fn json_walks_take_any_bytes(body in shaped_bytes()) {
        let _ = each_json_string::<()>(&body, |_, _| ControlFlow::Continue(()));
        let _ = each_json_string_at::<()>(&body, |path, _, _| {
            assert!(path.len() <= 129, "nesting is bounded by the parser");
            ControlFlow::Continue(())
        });
        let _ = json_as_utf8(&body);
    }

    #[test]
    fn decoding_takes_any_bytes_and_stays_within_its_cap(body in shaped_bytes()) {
        let caps = DecodeCaps { max_bytes: 4096, max_ratio: 100 };
        for encoding in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli, Encoding::Identity] {
            if let Ok(decoded) = decode(encoding, &body, caps) {
                prop_assert!(encoding == Encoding::Identity || decoded.len() <= 4096);
            }
        }
    }
}
