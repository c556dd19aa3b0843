//! A request body as the service will read it: `Content-Encoding` undone (gzip, deflate, br) within caps on
//! the decoded size and on the ratio (a decompression bomb is refused, never expanded), and JSON sent as
//! UTF-16 read as text. Validation sees this; the service still gets the body exactly as sent. Without it,
//! a deflated `<script>` passed to an upstream that inflates, and every gzip or UTF-16 JSON body was refused
//! for its NUL bytes.

use std::borrow::Cow;
use std::io::Read;

use http::HeaderMap;
use http::header::CONTENT_ENCODING;

use crate::http::reject::Refusal;

/// A body's content coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    /// zlib, as RFC 9110 defines `deflate`; a raw deflate stream, as some clients send, is read too.
    Deflate,
    Brotli,
}

impl Encoding {
    /// The coding `Content-Encoding` names. Several codings, or one this layer cannot undo, cannot be
    /// validated: 415.
    pub(crate) fn of(headers: &HeaderMap) -> Result<Self, Refusal> {
        let mut codings = headers
            .get_all(CONTENT_ENCODING)
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("\u{0}").split(','))
            .map(str::trim)
            .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"));
        let Some(coding) = codings.next() else { return Ok(Encoding::Identity) };
        if codings.next().is_some() {
            return Err(Refusal::UnsupportedEncoding);
        }
        match coding.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            "deflate" => Ok(Encoding::Deflate),
            "br" => Ok(Encoding::Brotli),
            _ => Err(Refusal::UnsupportedEncoding),
        }
    }
}

/// The caps on decoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecodeCaps {
    /// Most decoded bytes (`http.max_body_bytes`).
    pub(crate) max_bytes: usize,
    /// Most decoded bytes per encoded byte (`http.max_decompression_ratio`).
    pub(crate) max_ratio: usize,
}

/// `body` decoded from `encoding`; 413 past the caps, 400 when it does not decode.
pub(crate) fn decode(encoding: Encoding, body: &[u8], caps: DecodeCaps) -> Result<Cow<'_, [u8]>, Refusal> {
    let limit = caps.max_bytes.min(body.len().saturating_mul(caps.max_ratio).max(1024));
    let read = |reader: &mut dyn Read| read_capped(reader, limit);
    let decoded = match encoding {
        Encoding::Identity => return Ok(Cow::Borrowed(body)),
        Encoding::Gzip => read(&mut flate2::read::MultiGzDecoder::new(body))?,
        Encoding::Deflate => match read(&mut flate2::read::ZlibDecoder::new(body)) {
            Err(Refusal::BodyUnreadable) => read(&mut flate2::read::DeflateDecoder::new(body))?,
            other => other?,
        },
        Encoding::Brotli => read(&mut brotli_decompressor::Decompressor::new(body, 4096))?,
    };
    Ok(Cow::Owned(decoded))
}

/// Everything `reader` gives, refused past `limit` bytes (one more is read to tell).
fn read_capped(reader: &mut dyn Read, limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut decoded = Vec::new();
    let wanted = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(wanted).read_to_end(&mut decoded).map_err(|_| Refusal::BodyUnreadable)?;
    if decoded.len() > limit {
        return Err(Refusal::BodyTooLarge);
    }
    Ok(decoded)
}

/// A JSON body as UTF-8: UTF-8 as it is (a byte-order mark dropped), UTF-16 of either byte order (told by
/// its mark or by where the NULs of its first characters are, RFC 4627 §3) decoded; UTF-32 is refused
/// with 415.
pub(crate) fn json_as_utf8(body: &[u8]) -> Result<Cow<'_, [u8]>, Refusal> {
    match body {
        [0xEF, 0xBB, 0xBF, rest @ ..] => Ok(Cow::Borrowed(rest)),
        [0, 0, 0xFE, 0xFF, ..] | [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0, _, ..] | [_, 0, 0, 0, ..] => {
            Err(Refusal::UnsupportedEncoding)
        }
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0, _, ..] => utf16(body, u16::from_be_bytes),
        [_, 0, ..] => utf16(body, u16::from_le_bytes),
        _ => Ok(Cow::Borrowed(body)),
    }
}

fn utf16(body: &[u8], unit: fn([u8; 2]) -> u16) -> Result<Cow<'_, [u8]>, Refusal> {
    if body.len() % 2 != 0 {
        return Err(Refusal::BodyUnreadable);
    }
    let units = body.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let text: String =
        char::decode_utf16(units).collect::<Result<_, _>>().map_err(|_| Refusal::BodyUnreadable)?;
    Ok(Cow::Owned(text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const CAPS: DecodeCaps = DecodeCaps { max_bytes: 1 << 20, max_ratio: 100 };
    const SCRIPT: &[u8] = br#"{"message":"<script>alert(1)</script>"}"#;

    fn headers(encoding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, encoding.parse().unwrap());
        headers
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn codings_are_named_or_refused() {
        assert_eq!(Encoding::of(&HeaderMap::new()), Ok(Encoding::Identity));
        assert_eq!(Encoding::of(&headers("identity")), Ok(Encoding::Identity));
        assert_eq!(Encoding::of(&headers("GZIP")), Ok(Encoding::Gzip));
        assert_eq!(Encoding::of(&headers("x-gzip")), Ok(Encoding::Gzip));
        assert_eq!(Encoding::of(&headers("deflate")), Ok(Encoding::Deflate));
        assert_eq!(Encoding::of(&headers("br")), Ok(Encoding::Brotli));
        assert_eq!(Encoding::of(&headers("zstd")), Err(Refusal::UnsupportedEncoding));
        assert_eq!(Encoding::of(&headers("gzip, br")), Err(Refusal::UnsupportedEncoding));
    }

    #[test]
    fn every_coding_decodes_to_the_text_sent() {
        assert_eq!(decode(Encoding::Gzip, &gzip(SCRIPT), CAPS).unwrap(), SCRIPT);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(SCRIPT).unwrap();
        assert_eq!(decode(Encoding::Deflate, &zlib.finish().unwrap(), CAPS).unwrap(), SCRIPT);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(SCRIPT).unwrap();
        assert_eq!(
            decode(Encoding::Deflate, &raw.finish().unwrap(), CAPS).unwrap(),
            SCRIPT,
            "raw deflate too"
        );
        // The same JSON compressed by Node's zlib.brotliCompressSync.
        let brotli = [
            27, 38, 0, 248, 141, 212, 86, 121, 35, 40, 7, 181, 72, 202, 94, 223, 126, 137, 209, 225, 1, 19,
            57, 112, 9, 168, 45, 189, 189, 53, 0, 97, 151, 96, 52, 76, 34, 182, 219, 168, 3,
        ];
        assert_eq!(decode(Encoding::Brotli, &brotli, CAPS).unwrap(), SCRIPT);
        assert_eq!(decode(Encoding::Gzip, b"not gzip at all", CAPS), Err(Refusal::BodyUnreadable));
    }

    #[test]
    fn a_bomb_is_refused_at_the_cap_not_expanded() {
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        // Past the ratio (100 x its ~10 KB) long before the 1 MiB cap.
        assert_eq!(decode(Encoding::Gzip, &bomb, CAPS), Err(Refusal::BodyTooLarge));
        let generous = DecodeCaps { max_bytes: 1 << 20, max_ratio: 1_000_000 };
        assert_eq!(decode(Encoding::Gzip, &bomb, generous), Err(Refusal::BodyTooLarge), "past the size cap");
        let text = vec![b'a'; 500];
        assert_eq!(decode(Encoding::Gzip, &gzip(&text), CAPS).unwrap(), text, "small bodies have room");
    }

    #[test]
    fn json_in_utf16_is_read_as_text_and_utf32_refused() {
        let utf16le: Vec<u8> = "{\"m\":\"hé\"}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let utf16be: Vec<u8> = "{\"m\":\"hé\"}".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(json_as_utf8(&utf16le).unwrap(), "{\"m\":\"hé\"}".as_bytes());
        assert_eq!(json_as_utf8(&utf16be).unwrap(), "{\"m\":\"hé\"}".as_bytes());
        let with_mark: Vec<u8> = [0xFF, 0xFE].into_iter().chain(utf16le.iter().copied()).collect();
        assert_eq!(json_as_utf8(&with_mark).unwrap(), "{\"m\":\"hé\"}".as_bytes());
        assert_eq!(json_as_utf8(b"\xEF\xBB\xBF{}").unwrap(), b"{}".as_slice());
        assert_eq!(json_as_utf8(b"{\"a\":1}").unwrap(), b"{\"a\":1}".as_slice());
        assert_eq!(json_as_utf8(&[0, 0, 0, b'{']), Err(Refusal::UnsupportedEncoding));
        assert_eq!(json_as_utf8(&[b'{', 0, 0]), Err(Refusal::BodyUnreadable), "odd length");
    }
}
