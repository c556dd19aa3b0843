//! Writing untrusted text into a log line: escaped so it cannot forge a line or drive a terminal, and cut
//! at a size cap with a marker.
//!
//! Beyond what JSON requires (`"`, `\`, C0 controls), these are escaped as `\uXXXX` in both formats: DEL,
//! the C1 controls (U+0080..U+009F, which include the 8-bit CSI that terminals obey), the line and paragraph
//! separators U+2028/U+2029, and the bidirectional overrides U+202A..U+202E, U+2066..U+2069 (which can make
//! a line read differently from what it holds).

use std::fmt::Write as _;

/// Whether `c` must be written as an escape.
fn must_escape(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `text` as the inside of a JSON string (no quotes), cut at `max_bytes` of input.
pub(crate) fn json_str(out: &mut String, text: &str, max_bytes: usize) {
    let (text, cut) = truncate(text, max_bytes);
    // Most values are printable ASCII without quotes or backslashes: copied as they are.
    if is_plain_ascii(text.as_bytes()) {
        out.push_str(text);
        push_cut_marker(out, cut);
        return;
    }
    let mut plain_from = 0;
    for (at, c) in text.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if must_escape(c) => "",
            _ => continue,
        };
        out.push_str(&text[plain_from..at]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escape);
        }
        plain_from = at + c.len_utf8();
    }
    out.push_str(&text[plain_from..]);
    push_cut_marker(out, cut);
}

/// Appends `text` for the human-readable format: same escapes, and `"` escaped too when `in_quotes`.
pub(crate) fn text_str(out: &mut String, text: &str, max_bytes: usize, in_quotes: bool) {
    let (text, cut) = truncate(text, max_bytes);
    let mut plain_from = 0;
    for (at, c) in text.char_indices() {
        if !(must_escape(c) || c == '\\' || (in_quotes && c == '"')) {
            continue;
        }
        out.push_str(&text[plain_from..at]);
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        plain_from = at + c.len_utf8();
    }
    out.push_str(&text[plain_from..]);
    push_cut_marker(out, cut);
}

/// Whether every byte is printable ASCII other than `"` and `\\`: eight bytes at a time (SWAR), as this
/// check runs on every value of every line. The last, partial word is padded with spaces (plain), so short
/// values (a method, an address) take one word check rather than a loop over their bytes.
fn is_plain_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if !is_plain_word(u64::from_ne_bytes(word)) {
            return false;
        }
    }
    let rest = chunks.remainder();
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    is_plain_word(u64::from_ne_bytes(word))
}

/// Whether each byte of `word` is printable ASCII other than `"` and `\\`.
fn is_plain_word(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Exact per word: some byte of `word` is zero / below `n` (n <= 128).
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    let has_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    !(word & HIGHS != 0
        || has_below(word, 0x20)
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
        || has_zero(word ^ (ONES * 0x7f)))
}

/// `text` cut to at most `max_bytes` on a character boundary, and how many bytes were cut.
pub(crate) fn truncate(text: &str, max_bytes: usize) -> (&str, usize) {
    if text.len() <= max_bytes {
        return (text, 0);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], text.len() - end)
}

fn push_cut_marker(out: &mut String, cut: usize) {
    if cut > 0 {
        let _ = write!(out, "…[truncated {cut} bytes]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> String {
        let mut out = String::new();
        json_str(&mut out, text, 64);
        out
    }

    #[test]
    fn escapes_what_could_forge_a_line_or_drive_a_terminal() {
        assert_eq!(json("a\"b\\c"), r#"a\"b\\c"#);
        assert_eq!(json("line\n{\"level\":\"ERROR\"}"), r#"line\n{\"level\":\"ERROR\"}"#);
        assert_eq!(json("\x1b[31mred\x1b[0m"), r"\u001b[31mred\u001b[0m");
        assert_eq!(json("\u{9b}31m"), r"\u009b31m");
        assert_eq!(json("abc\u{202e}fed"), r"abc\u202efed");
        assert_eq!(json("\x7f\0"), r"\u007f\u0000");
        assert_eq!(json("héllo ✓"), "héllo ✓");
        let parsed: String = serde_json::from_str(&format!("\"{}\"", json("\x1b\u{2028}\t"))).unwrap();
        assert_eq!(parsed, "\x1b\u{2028}\t");
    }

    proptest::proptest! {
        #[test]
        fn the_word_at_a_time_check_agrees_with_the_byte_at_a_time_one(bytes: Vec<u8>, pick in 0usize..4) {
            // Mostly plain text with one byte from the interesting edges, so both answers occur often.
            let mut bytes: Vec<u8> = bytes.into_iter().map(|b| 0x20 + b % 0x5f).collect();
            let edges = [0x1f, 0x20, b'"', b'\\', 0x7e, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'];
            if let Some(at) = bytes.len().checked_sub(1).map(|last| pick.min(last)) {
                bytes[at] = edges[(bytes[0] as usize + pick) % edges.len()];
            }
            let plain = |b: &u8| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\';
            proptest::prop_assert_eq!(is_plain_ascii(&bytes), bytes.iter().all(plain));
        }

        #[test]
        fn any_bytes_agree_too(bytes: Vec<u8>) {
            let plain = |b: &u8| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\';
            proptest::prop_assert_eq!(is_plain_ascii(&bytes), bytes.iter().all(plain));
        }
    }

    #[test]
    fn every_byte_value_at_every_position_of_a_word() {
        for value in 0..=255u8 {
            for at in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[at] = value;
                let expected = (0x20..0x7f).contains(&value) && value != b'"' && value != b'\\';
                assert_eq!(is_plain_ascii(&bytes), expected, "{value:#x} at {at}");
            }
        }
    }

    #[test]
    fn cuts_on_a_character_boundary_with_a_marker() {
        let mut out = String::new();
        json_str(&mut out, &"é".repeat(10), 5);
        assert_eq!(out, "éé…[truncated 16 bytes]");
        let mut out = String::new();
        text_str(&mut out, "a\nb \"q\"", 100, true);
        assert_eq!(out, r#"a\nb \"q\""#);
    }
}
