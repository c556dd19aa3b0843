//! The text parts of a `multipart/form-data` body (RFC 7578): fields without a file name, and files of a
//! textual type. A form posted as multipart carries the same fields as a urlencoded one and is validated the
//! same way; binary files are left alone.

use std::ops::ControlFlow;

use http::HeaderMap;
use http::header::CONTENT_TYPE;

/// The boundary of a `multipart/*` body, from its `Content-Type`.
pub(crate) fn boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    content_type
        .split(';')
        .skip(1)
        .find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            name.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
        })
        .filter(|boundary| !boundary.is_empty() && boundary.len() <= 70)
}

/// Calls `visit` with the name and the text of each text part of `body`. `None` when the body is not
/// multipart with this boundary (it is then inspected as text).
pub(crate) fn each_text_part<T>(
    body: &[u8],
    boundary: &str,
    mut visit: impl FnMut(&str, &str) -> ControlFlow<T>,
) -> Option<ControlFlow<T>> {
    let delimiter = format!("--{boundary}");
    let mut rest = body.strip_prefix(delimiter.as_bytes()).or_else(|| {
        // A preamble before the first delimiter is allowed.
        let at = find(body, format!("\r\n{delimiter}").as_bytes())?;
        Some(&body[at + 2 + delimiter.len()..])
    })?;
    let next_delimiter = format!("\r\n{delimiter}");
    loop {
        if rest.starts_with(b"--") {
            return Some(ControlFlow::Continue(()));
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content_start = head_end + 4;
        let content_end = content_start + find(&rest[content_start..], next_delimiter.as_bytes())?;
        let content = &rest[content_start..content_end];
        if let Some(name) = text_part_name(head)
            && let ControlFlow::Break(found) = visit(&name, &String::from_utf8_lossy(content))
        {
            return Some(ControlFlow::Break(found));
        }
        rest = &rest[content_end + next_delimiter.len()..];
    }
}

/// The field name of a part whose content is text: no file name, or a textual type.
fn text_part_name(head: &str) -> Option<String> {
    let mut name = None;
    let mut file = false;
    let mut textual = true;
    for line in head.split("\r\n") {
        let Some((header, value)) = line.split_once(':') else { continue };
        if header.trim().eq_ignore_ascii_case("content-disposition") {
            for parameter in value.split(';').skip(1) {
                let Some((key, value)) = parameter.split_once('=') else { continue };
                match key.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(value.trim().trim_matches('"').to_owned()),
                    "filename" | "filename*" => file = true,
                    _ => {}
                }
            }
        } else if header.trim().eq_ignore_ascii_case("content-type") {
            let essence = value.trim().to_ascii_lowercase();
            textual = essence.starts_with("text/") || essence.contains("json") || essence.contains("xml");
        }
    }
    (!file || textual).then_some(name).flatten()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(body: &str, boundary: &str) -> Option<Vec<(String, String)>> {
        let mut seen = Vec::new();
        let flow = each_text_part::<()>(body.as_bytes(), boundary, |name, text| {
            seen.push((name.to_owned(), text.to_owned()));
            ControlFlow::Continue(())
        })?;
        assert_eq!(flow, ControlFlow::Continue(()));
        Some(seen)
    }

    const FORM: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"notes\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}PNG<script>\r\n--XyZ--\r\n";

    #[test]
    fn text_fields_and_text_files_are_visited_binary_files_are_not() {
        assert_eq!(
            parts(FORM, "XyZ").unwrap(),
            [
                ("title".to_owned(), "Hello".to_owned()),
                ("notes".to_owned(), "line one\r\nline two".to_owned())
            ]
        );
    }

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "multipart/form-data; boundary=\"XyZ\"".parse().unwrap());
        assert_eq!(boundary(&headers).as_deref(), Some("XyZ"));
        headers.insert(CONTENT_TYPE, "multipart/form-data".parse().unwrap());
        assert_eq!(boundary(&headers), None);
    }

    #[test]
    fn what_is_not_multipart_with_that_boundary_is_none() {
        assert_eq!(parts("just text", "XyZ"), None);
        assert_eq!(parts("--XyZ\r\nno end of head", "XyZ"), None);
        assert_eq!(parts(FORM, "Other"), None);
        assert_eq!(
            parts(
                "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--XyZ--",
                "XyZ"
            )
            .unwrap(),
            [("a".to_owned(), "b".to_owned())]
        );
    }
}
