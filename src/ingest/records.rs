//! Splitting a stream of JSON into records without parsing it, so that a file of any size
//! is read with memory bounded by its largest record.
//!
//! The stream is a sequence of JSON values separated by whitespace or nothing at all: one
//! object per line (WAF, CloudWatch exports), objects run together on one line (Firehose),
//! or one object spread over many lines. Each top-level value is a record, with two
//! exceptions that unwrap a container instead of treating it as one huge record:
//! - a top-level array: each of its elements is a record;
//! - an object whose first key is the format's wrapper key (CloudTrail's `{"Records":[…]}`):
//!   each element of that array is a record.
//!
//! The scanner only tracks strings, escapes and bracket depth; whether a record is valid JSON
//! is the format's business. Bytes that cannot start a value (a stray word, say) run to the
//! end of their line and become one record, which the format rejects, so nothing read is
//! dropped silently. A record longer than the cap is handed out cut, flagged overlong, and
//! the rest of it is skipped.
//!
//! So that one truncated record in a file of one record per line does not swallow the lines
//! after it, an unfinished top-level record ends at a line break when the next line starts
//! with `{` or a letter at its first column: pretty-printed JSON continues on lines that are
//! indented or start with `"`, `}` or `]`, so such a line is the start of something new.

use std::io::{self, Read};

use super::lines::{Line, LineReader, refill};
use crate::formats::Framing;

/// How far ahead the scanner looks for `"Records" : [` after an opening brace.
const WRAPPER_LOOKAHEAD: usize = 4096;

/// Records of a raw file, split the way its format asks ([`Framing`]).
pub struct RecordReader<R> {
    inner: Split<R>,
}

enum Split<R> {
    Lines(LineReader<R>),
    Json(JsonRecords<R>),
}

impl<R: Read> RecordReader<R> {
    /// Reads records from `inner`; a record longer than `max_record` bytes is handed out cut
    /// and flagged overlong.
    pub fn new(inner: R, framing: Framing, max_record: usize) -> Self {
        let inner = match framing {
            Framing::Lines => Split::Lines(LineReader::new(inner, max_record)),
            Framing::Json { wrapper } => Split::Json(JsonRecords::new(inner, max_record, wrapper)),
        };
        RecordReader { inner }
    }

    /// The next record, or `None` at the end of the stream.
    pub fn next_record(&mut self) -> io::Result<Option<Line<'_>>> {
        match &mut self.inner {
            Split::Lines(lines) => lines.next_line(),
            Split::Json(json) => json.next_record(),
        }
    }

    /// Records handed out so far.
    pub fn records_read(&self) -> u64 {
        match &self.inner {
            Split::Lines(lines) => lines.lines_read(),
            Split::Json(json) => json.records_read(),
        }
    }

    /// Decompressed bytes read so far.
    pub fn decoded_bytes(&self) -> u64 {
        match &self.inner {
            Split::Lines(lines) => lines.decoded_bytes,
            Split::Json(json) => json.decoded_bytes,
        }
    }

    /// A record cut off by a read error, with its number.
    pub fn unfinished(&self) -> Option<(&[u8], u64)> {
        match &self.inner {
            Split::Lines(lines) => lines.unfinished(),
            Split::Json(json) => json.unfinished(),
        }
    }
}

/// Splits a byte stream into JSON records.
pub(crate) struct JsonRecords<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    max_record: usize,
    /// The key of a wrapper object whose array holds the records.
    wrapper: Option<&'static str>,
    /// Inside an array whose elements are records.
    in_array: bool,
    /// Newlines consumed so far: the line number of `buf[start]` is this plus one.
    newlines: u64,
    records: u64,
    /// The kept start of an overlong record.
    head: Vec<u8>,
    /// Decompressed bytes read so far.
    pub decoded_bytes: u64,
}

/// Where a value scan stands, so that it can resume after the buffer is refilled.
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
}

impl<R: Read> JsonRecords<R> {
    pub(crate) fn new(inner: R, max_record: usize, wrapper: Option<&'static str>) -> Self {
        JsonRecords {
            inner,
            buf: vec![0; max_record.max(WRAPPER_LOOKAHEAD) + super::lines::READ_CHUNK],
            start: 0,
            end: 0,
            eof: false,
            max_record,
            wrapper,
            in_array: false,
            newlines: 0,
            records: 0,
            head: Vec::new(),
            decoded_bytes: 0,
        }
    }

    /// Records handed out so far.
    pub(crate) fn records_read(&self) -> u64 {
        self.records
    }

    /// Bytes of a record that was started but not finished when reading failed, with the
    /// number it would have had.
    pub(crate) fn unfinished(&self) -> Option<(&[u8], u64)> {
        let rest = &self.buf[self.start..self.end];
        let at = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        Some((&rest[at..], self.newlines + 1 + count_newlines(&rest[..at])))
    }

    /// The next record, or `None` at the end of the stream.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            // Skip separators: whitespace, and commas between array elements.
            let Some(first) = self.skip_separators()? else {
                return Ok(None);
            };
            match first {
                b']' if self.in_array => {
                    self.consume(1);
                    self.in_array = false;
                    // The closing brace of a `{"Records": […]}` wrapper.
                    if self.skip_separators()? == Some(b'}') {
                        self.consume(1);
                    }
                }
                b'[' if !self.in_array => {
                    self.consume(1);
                    self.in_array = true;
                }
                b'{' if !self.in_array && self.wrapper.is_some() && self.opens_wrapper()? => {}
                _ => return self.take_value(first),
            }
        }
    }

    /// Skips whitespace (and commas inside an array) and returns the next byte, refilling
    /// the buffer as needed; `None` at the end of the stream.
    fn skip_separators(&mut self) -> io::Result<Option<u8>> {
        loop {
            while self.start < self.end {
                let c = self.buf[self.start];
                match c {
                    b' ' | b'\t' | b'\r' => self.start += 1,
                    b'\n' => {
                        self.newlines += 1;
                        self.start += 1;
                    }
                    b',' if self.in_array => self.start += 1,
                    _ => return Ok(Some(c)),
                }
            }
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    fn consume(&mut self, n: usize) {
        self.newlines += count_newlines(&self.buf[self.start..self.start + n]);
        self.start += n;
    }

    /// At an opening brace: if the object's first key is the wrapper key and its value an
    /// array, consumes through the `[` and enters that array.
    fn opens_wrapper(&mut self) -> io::Result<bool> {
        while self.end - self.start < WRAPPER_LOOKAHEAD && !self.eof {
            self.fill()?;
        }
        let wrapper = self.wrapper.expect("checked by the caller").as_bytes();
        let window = &self.buf[self.start..self.end];
        let mut i = 1;
        let skip_ws = |i: &mut usize| {
            while window.get(*i).is_some_and(u8::is_ascii_whitespace) {
                *i += 1;
            }
        };
        skip_ws(&mut i);
        if window.get(i) != Some(&b'"') || !window[i + 1..].starts_with(wrapper) {
            return Ok(false);
        }
        i += 1 + wrapper.len();
        if window.get(i) != Some(&b'"') {
            return Ok(false);
        }
        i += 1;
        skip_ws(&mut i);
        if window.get(i) != Some(&b':') {
            return Ok(false);
        }
        i += 1;
        skip_ws(&mut i);
        if window.get(i) != Some(&b'[') {
            return Ok(false);
        }
        self.consume(i + 1);
        self.in_array = true;
        Ok(true)
    }

    /// Scans one value starting at `buf[start]` (whose first byte is `first`).
    fn take_value(&mut self, first: u8) -> io::Result<Option<Line<'_>>> {
        let number = self.newlines + 1;
        self.records += 1;
        let mut scan = Scan::default();
        let mut i = self.start;
        let container = matches!(first, b'{' | b'[' | b'"');
        loop {
            let done = self.scan(&mut i, &mut scan, container);
            if done || (self.eof && i >= self.end) {
                let end = i.min(self.end);
                if end - self.start > self.max_record {
                    self.head.clear();
                    self.head
                        .extend_from_slice(&self.buf[self.start..self.start + self.max_record]);
                    self.consume(end - self.start);
                    return Ok(Some(Line { bytes: &self.head, number, overlong: true }));
                }
                let start = self.start;
                self.consume(end - start);
                return Ok(Some(Line { bytes: &self.buf[start..end], number, overlong: false }));
            }
            if i - self.start > self.max_record {
                return self.skip_overlong(i, scan, container, number);
            }
            let shift = self.start;
            self.fill()?;
            i -= shift;
        }
    }

    /// Keeps the start of a record longer than the cap and skips the rest of it.
    fn skip_overlong(
        &mut self,
        mut i: usize,
        mut scan: Scan,
        container: bool,
        number: u64,
    ) -> io::Result<Option<Line<'_>>> {
        self.head.clear();
        self.head.extend_from_slice(&self.buf[self.start..self.start + self.max_record]);
        loop {
            let done = self.scan(&mut i, &mut scan, container);
            let end = i.min(self.end);
            self.consume(end - self.start);
            if done || self.eof {
                return Ok(Some(Line { bytes: &self.head, number, overlong: true }));
            }
            self.fill()?;
            i = self.start;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let n = refill(&mut self.inner, &mut self.buf, &mut self.start, &mut self.end)?;
        self.decoded_bytes += n as u64;
        self.eof |= n == 0;
        Ok(())
    }

    /// Advances a value scan through the bytes read so far; true once the value is complete.
    fn scan(&self, i: &mut usize, scan: &mut Scan, container: bool) -> bool {
        if container {
            scan_container(&self.buf[..self.end], i, scan, !self.in_array, self.eof)
        } else {
            scan_bare(&self.buf[..self.end], i, self.in_array)
        }
    }
}

/// Advances `i` through an object, array or string; true once its closing byte is passed,
/// or, with `resync`, once it reaches a line break before a line that starts a new record
/// (`i` then points at the line break).
fn scan_container(buf: &[u8], i: &mut usize, scan: &mut Scan, resync: bool, eof: bool) -> bool {
    while *i < buf.len() {
        if scan.in_string {
            match memchr::memchr3(b'"', b'\\', b'\n', &buf[*i..]) {
                None => *i = buf.len(),
                Some(k) => {
                    *i += k;
                    match buf[*i] {
                        b'\\' => {
                            // The escaped byte may not have arrived yet; `i` then points past
                            // the end and the scan resumes there after the next read.
                            *i += 2;
                        }
                        b'\n' => match starts_new_record(buf, *i, resync, eof) {
                            Some(true) => return true,
                            Some(false) => *i += 1,
                            None => return false,
                        },
                        _ => {
                            *i += 1;
                            scan.in_string = false;
                            if scan.depth == 0 {
                                return true;
                            }
                        }
                    }
                }
            }
            continue;
        }
        match buf[*i] {
            b'"' => scan.in_string = true,
            b'{' | b'[' => scan.depth += 1,
            b'}' | b']' => {
                scan.depth = scan.depth.saturating_sub(1);
                if scan.depth == 0 {
                    *i += 1;
                    return true;
                }
            }
            b'\n' => match starts_new_record(buf, *i, resync, eof) {
                Some(true) => return true,
                Some(false) => {}
                None => return false,
            },
            _ => {}
        }
        *i += 1;
    }
    false
}

/// Whether the line after the line break at `at` starts a new record; `None` when the next
/// byte has not been read yet.
fn starts_new_record(buf: &[u8], at: usize, resync: bool, eof: bool) -> Option<bool> {
    if !resync {
        return Some(false);
    }
    match buf.get(at + 1) {
        Some(&next) => Some(next == b'{' || next.is_ascii_alphabetic()),
        None if eof => Some(false),
        None => None,
    }
}

/// Advances `i` through something that is not an object, array or string: to the end of its
/// line, or inside an array to the next comma or closing bracket.
fn scan_bare(buf: &[u8], i: &mut usize, in_array: bool) -> bool {
    let rest = &buf[*i..];
    let found = if in_array {
        rest.iter().position(|&b| matches!(b, b',' | b']' | b'\n'))
    } else {
        memchr::memchr(b'\n', rest)
    };
    match found {
        Some(k) => {
            *i += k;
            true
        }
        None => {
            *i = buf.len();
            false
        }
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(
        input: &[u8],
        max: usize,
        wrapper: Option<&'static str>,
    ) -> Vec<(String, u64, bool)> {
        let mut reader = JsonRecords::new(input, max, wrapper);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            out.push((String::from_utf8_lossy(r.bytes).into_owned(), r.number, r.overlong));
        }
        assert_eq!(reader.records_read(), out.len() as u64);
        out
    }

    fn texts(found: &[(String, u64, bool)]) -> Vec<&str> {
        found.iter().map(|r| r.0.as_str()).collect()
    }

    #[test]
    fn objects_on_lines_and_run_together_are_each_a_record() {
        let found =
            records(b"{\"a\":1}\n{\"b\":\"}{\"}{\"c\":[1,{}]}\n\n{\"d\":\"\\\"\"}", 1024, None);
        assert_eq!(
            texts(&found),
            [r#"{"a":1}"#, r#"{"b":"}{"}"#, r#"{"c":[1,{}]}"#, r#"{"d":"\""}"#]
        );
        assert_eq!(found.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 2, 4]);
    }

    #[test]
    fn a_records_wrapper_is_unwrapped_wherever_its_lines_break() {
        let input = b"{\n  \"Records\": [\n    {\"eventName\": \"A\"},\n    {\"eventName\": \"B\",\n     \"x\": [1, 2]}\n  ]\n}\n";
        let found = records(input, 1024, Some("Records"));
        assert_eq!(
            texts(&found),
            [r#"{"eventName": "A"}"#, "{\"eventName\": \"B\",\n     \"x\": [1, 2]}"]
        );
        assert_eq!(found[0].1, 3);
        assert_eq!(found[1].1, 4);
        assert!(records(b"{\"Records\": []}", 1024, Some("Records")).is_empty());
    }

    #[test]
    fn an_object_without_the_wrapper_key_is_one_record() {
        let digest = br#"{"awsAccountId":"1","logFiles":[{"s3Object":"k"}]}"#;
        assert_eq!(
            texts(&records(digest, 1024, Some("Records"))),
            [std::str::from_utf8(digest).unwrap()]
        );
    }

    #[test]
    fn a_truncated_record_ends_at_its_line_and_spares_the_next_ones() {
        let found =
            records(b"{\"a\":\"cut off\n{\"a\":2}\n{\"b\":[1,\nnot json\n{\"c\":3}", 1024, None);
        assert_eq!(
            texts(&found),
            [r#"{"a":"cut off"#, r#"{"a":2}"#, r#"{"b":[1,"#, "not json", r#"{"c":3}"#]
        );
        assert_eq!(found.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        // Pretty-printed objects continue on lines that start with a quote or a brace.
        let pretty = b"{\n\"date\": \"2024-11-14\",\n\"x\": {\n  \"y\": 1\n}\n}\n";
        assert_eq!(records(pretty, 1024, None).len(), 1);
    }

    #[test]
    fn a_top_level_array_is_unwrapped() {
        let found = records(b"[{\"a\":1}, {\"a\":2}]", 1024, None);
        assert_eq!(texts(&found), [r#"{"a":1}"#, r#"{"a":2}"#]);
    }

    #[test]
    fn stray_text_becomes_one_record_per_line() {
        let found = records(b"{\"a\":1}\nnot json at all\n{\"a\":2}\n", 1024, None);
        assert_eq!(texts(&found), [r#"{"a":1}"#, "not json at all", r#"{"a":2}"#]);
    }

    #[test]
    fn an_unterminated_record_at_the_end_is_handed_out_for_rejection() {
        let found = records(b"{\"a\":1}\n{\"a\":", 1024, None);
        assert_eq!(texts(&found), [r#"{"a":1}"#, r#"{"a":"#]);
    }

    #[test]
    fn an_overlong_record_is_cut_and_the_next_one_survives() {
        let mut input = b"{\"big\":\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 600_000));
        input.extend_from_slice(b"\"}\n{\"small\":1}\n");
        let found = records(&input, 1000, None);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].0.len(), found[0].2), (1000, true));
        assert_eq!((found[1].0.as_str(), found[1].1, found[1].2), (r#"{"small":1}"#, 2, false));
    }

    #[test]
    fn records_spanning_many_reads_are_joined() {
        let mut input = b"{\"Records\":[".to_vec();
        for i in 0..20_000 {
            if i > 0 {
                input.push(b',');
            }
            input.extend_from_slice(
                format!("{{\"n\":{i},\"pad\":\"{}\"}}", "y".repeat(i % 70)).as_bytes(),
            );
        }
        input.extend_from_slice(b"]}");
        let found = records(&input, 4096, Some("Records"));
        assert_eq!(found.len(), 20_000);
        assert!(found[19_999].0.starts_with("{\"n\":19999,"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_framer_and_records_come_from_the_input(
            input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            max in 1usize..300,
            wrapper in proptest::prelude::any::<bool>(),
        ) {
            let wrapper = wrapper.then_some("Records");
            let mut reader = JsonRecords::new(&input[..], max, wrapper);
            let mut total = 0;
            let mut count = 0;
            while let Some(record) = reader.next_record().unwrap() {
                proptest::prop_assert!(!record.bytes.is_empty());
                proptest::prop_assert!(record.bytes.len() <= max);
                total += record.bytes.len();
                count += 1;
            }
            proptest::prop_assert!(total <= input.len());
            proptest::prop_assert_eq!(reader.records_read(), count);
        }
    }
}
