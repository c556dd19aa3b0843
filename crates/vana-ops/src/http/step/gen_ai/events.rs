//! Server-sent events as they pass: the `data` of each event, joined by line breaks (the WHATWG event
//! stream's rules: lines end at `\r\n`, `\n` or `\r`, which may fall across frames; a blank line ends an
//! event; one space after `data:` is dropped), at most `max` bytes of it. Only what one event needs is
//! kept: the line being read and the event's data so far.

/// Collects one event's data at a time.
pub(crate) struct EventData {
    max: usize,
    /// The line read so far (only while it may be a `data` line).
    line: Vec<u8>,
    /// The line is longer than `max`, or is no `data` line: the rest of it is skipped.
    skipping_line: bool,
    /// The event's data so far.
    data: Vec<u8>,
    /// The event had a `data` line.
    has_data: bool,
    /// The event's data passed `max`: it is passed unread.
    oversized: bool,
    /// The bytes so far end with `\r`: a `\n` next belongs to the same line break.
    after_carriage_return: bool,
}

/// One event's data, as [`EventData::feed`] hands it over.
pub(crate) enum Event<'a> {
    /// The event's data (its `data` lines joined by `\n`).
    Data(&'a [u8]),
    /// An event longer than the cap: not read.
    Oversized,
}

impl EventData {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            line: Vec::new(),
            skipping_line: false,
            data: Vec::new(),
            has_data: false,
            oversized: false,
            after_carriage_return: false,
        }
    }

    /// Reads `bytes`, calling `on_event` for each event they complete.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        if std::mem::take(&mut self.after_carriage_return) && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            self.extend_line(&bytes[..end]);
            self.end_line(on_event);
            let breaks = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
            if bytes[end] == b'\r' && end + 1 == bytes.len() {
                self.after_carriage_return = true;
            }
            bytes = &bytes[end + breaks..];
        }
        self.extend_line(bytes);
    }

    fn extend_line(&mut self, part: &[u8]) {
        if self.skipping_line || part.is_empty() {
            return;
        }
        // Only `data` lines are kept: a line is dropped as soon as it cannot be one.
        if let Some(needed) = b"data".get(self.line.len()..) {
            let compared = needed.len().min(part.len());
            if part[..compared] != needed[..compared] {
                self.skipping_line = true;
                return;
            }
        }
        if self.line.len() + part.len() > self.max {
            self.skipping_line = true;
            self.oversized = true;
            return;
        }
        self.line.extend_from_slice(part);
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(Event<'_>)) {
        let skipped = std::mem::take(&mut self.skipping_line);
        if self.line.is_empty() && !skipped {
            // A blank line: the event is complete.
            if self.oversized {
                on_event(Event::Oversized);
            } else if self.has_data {
                on_event(Event::Data(&self.data));
            }
            self.data.clear();
            self.has_data = false;
            self.oversized = false;
            return;
        }
        let line = std::mem::take(&mut self.line);
        if let Some(value) = line.strip_prefix(b"data")
            && let Some(value) = field_value(value)
        {
            if self.has_data {
                self.data.push(b'\n');
            }
            if self.data.len() + value.len() > self.max {
                self.oversized = true;
            } else {
                self.data.extend_from_slice(value);
            }
            self.has_data = true;
        }
        self.line = line;
        self.line.clear();
    }
}

/// The value after a field's name: after `:` and one optional space; a bare `data` is an empty value.
fn field_value(rest: &[u8]) -> Option<&[u8]> {
    match rest.split_first() {
        None => Some(b""),
        Some((b':', value)) => Some(value.strip_prefix(b" ").unwrap_or(value)),
        // `database: ...` is another field.
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(max: usize, frames: &[&[u8]]) -> Vec<String> {
        let mut reader = EventData::new(max);
        let mut out = Vec::new();
        for frame in frames {
            reader.feed(frame, &mut |event| {
                out.push(match event {
                    Event::Data(data) => String::from_utf8_lossy(data).into_owned(),
                    Event::Oversized => "<oversized>".to_owned(),
                });
            });
        }
        out
    }

    #[test]
    fn data_lines_join_across_frames_and_line_endings() {
        assert_eq!(events(100, &[b"data: {\"a\":1}\n\n"]), ["{\"a\":1}"]);
        assert_eq!(events(100, &[b"da", b"ta: one\r", b"\ndata:two\r\r"]), ["one\ntwo"]);
        assert_eq!(events(100, &[b"event: x\nid: 7\ndata: y\n\n: comment\n\n"]), ["y"]);
        assert_eq!(events(100, &[b"database: no\n\ndata\n\n"]), [""]);
        assert_eq!(events(100, &[b"data: a\n", b"\n", b"data: b\r\n\r\n"]), ["a", "b"]);
        assert_eq!(events(100, &[b"data: half"]), Vec::<String>::new());
    }

    #[test]
    fn an_event_past_the_cap_is_reported_unread_and_the_next_one_is_read() {
        let long = format!("data: {}\n\ndata: ok\n\n", "x".repeat(50));
        assert_eq!(events(20, &[long.as_bytes()]), ["<oversized>", "ok"]);
        let many_lines = "data: 0123456789\n".repeat(3) + "\ndata: ok\n\n";
        assert_eq!(events(25, &[many_lines.as_bytes()]), ["<oversized>", "ok"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        /// Any bytes, cut into frames anywhere: no panic, every event's data within the cap, and the data
        /// held between events within the cap too.
        #[test]
        fn any_bytes_in_any_frames_stay_within_the_cap(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            cuts in proptest::collection::vec(0usize..600, 0..8),
        ) {
            let mut reader = EventData::new(32);
            let mut cuts = cuts;
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut start = 0;
            for cut in cuts {
                let end = cut.min(bytes.len()).max(start);
                reader.feed(&bytes[start..end], &mut |event| {
                    if let Event::Data(data) = event {
                        assert!(data.len() <= 32, "{} bytes", data.len());
                    }
                });
                start = end;
            }
            proptest::prop_assert!(reader.data.len() <= 32 && reader.line.len() <= 32);
        }
    }
}
