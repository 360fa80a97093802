//! Keeping rejected input where a person can find it: one JSON object per line under
//! `_rejects/<table>/`, with the source file, the line number, the reason and the raw line
//! (as `raw` when it is UTF-8, else as `raw_base64`), so nothing that was read is lost.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::IngestError;

/// A short description of one rejected line, for the run summary.
#[derive(Debug, Clone)]
pub struct RejectSample {
    pub source: PathBuf,
    pub line: u64,
    pub reason: String,
    /// The start of the raw line, cut to a few dozen bytes.
    pub excerpt: String,
}

/// Bytes of a rejected line shown in the summary.
const EXCERPT_BYTES: usize = 60;

impl RejectSample {
    pub(crate) fn new(source: &Path, line: u64, reason: &str, raw: &[u8]) -> Self {
        let cut = &raw[..raw.len().min(EXCERPT_BYTES)];
        let mut excerpt = String::from_utf8_lossy(cut).replace('\t', "→");
        if raw.len() > EXCERPT_BYTES {
            excerpt.push('…');
        }
        RejectSample { source: source.to_owned(), line, reason: reason.to_owned(), excerpt }
    }
}

/// Appends rejected lines to one file, created on the first reject.
pub(crate) struct RejectSink {
    path: PathBuf,
    /// Path relative to the staging root.
    pub relative: PathBuf,
    out: Option<BufWriter<File>>,
    pub count: u64,
}

impl RejectSink {
    pub(crate) fn new(root: &Path, relative: PathBuf) -> Self {
        RejectSink { path: root.join(&relative), relative, out: None, count: 0 }
    }

    pub(crate) fn write(
        &mut self,
        source: &Path,
        line: u64,
        reason: &str,
        raw: &[u8],
    ) -> Result<(), IngestError> {
        let err = |source| IngestError::Write { path: self.path.clone(), source };
        if self.out.is_none() {
            fs::create_dir_all(self.path.parent().expect("rejects have a folder")).map_err(err)?;
            self.out = Some(BufWriter::new(File::create(&self.path).map_err(err)?));
        }
        let mut record = String::with_capacity(raw.len() + 128);
        record.push_str("{\"source\":");
        push_json_string(&mut record, &source.to_string_lossy());
        record.push_str(&format!(",\"line\":{line},\"reason\":"));
        push_json_string(&mut record, reason);
        match std::str::from_utf8(raw) {
            Ok(text) => {
                record.push_str(",\"raw\":");
                push_json_string(&mut record, text);
            }
            Err(_) => {
                record.push_str(",\"raw_base64\":\"");
                push_base64(&mut record, raw);
                record.push('"');
            }
        }
        record.push_str("}\n");
        let out = self.out.as_mut().expect("opened above");
        out.write_all(record.as_bytes()).map_err(err)?;
        self.count += 1;
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> Result<bool, IngestError> {
        match self.out.take() {
            Some(mut out) => {
                out.flush()
                    .map_err(|source| IngestError::Write { path: self.path.clone(), source })?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        let mut out = String::new();
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"\xff\xfe\x00a", "//4AYQ=="),
        ] {
            out.clear();
            push_base64(&mut out, input);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\td\u{1}");
        assert_eq!(out, r#""a\"b\\c\td\u0001""#);
    }

    #[test]
    fn sink_keeps_raw_bytes_of_every_reject() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = RejectSink::new(dir.path(), "r/x.ndjson".into());
        sink.write(Path::new("in.log"), 3, "bad", b"text\tline").unwrap();
        sink.write(Path::new("in.log"), 4, "bad", b"\xffbin").unwrap();
        assert!(sink.finish().unwrap());
        let written = fs::read_to_string(dir.path().join("r/x.ndjson")).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines[0], r#"{"source":"in.log","line":3,"reason":"bad","raw":"text\tline"}"#);
        assert_eq!(
            lines[1],
            r#"{"source":"in.log","line":4,"reason":"bad","raw_base64":"/2Jpbg=="}"#
        );
    }
}
