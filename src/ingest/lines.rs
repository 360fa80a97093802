//! Reading raw log files as lines, whatever their size: plain or gzip (detected by its magic
//! bytes, not the file name; concatenated gzip members are read through), with a cap on line
//! length so that one runaway line cannot exhaust memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::MultiGzDecoder;

/// Bytes read from the underlying file in one call.
pub(crate) const READ_CHUNK: usize = 256 * 1024;

/// One record of a raw file: a line, or a JSON record (see `records`).
pub struct Line<'a> {
    /// The line without its `\n` (a `\r` before it is left to the format), or the JSON
    /// record's bytes.
    pub bytes: &'a [u8],
    /// 1-based line number within the file (for JSON, of the record's first byte).
    pub number: u64,
    /// The record was longer than the cap; `bytes` holds only its first part and the rest
    /// was skipped.
    pub overlong: bool,
}

/// Counts bytes read from a file, for progress and the summary's "bytes in".
pub(crate) struct Counted<'a, R> {
    inner: R,
    count: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A raw object's bytes: a local file read as it goes, or an object fetched whole.
pub(crate) enum Input {
    File(File),
    Bytes(bytes::Bytes),
}

/// A raw file, opened by what its first bytes say it is.
pub(crate) enum Opened<'a> {
    /// Text or JSON, decompressed if it was gzip.
    Stream(Box<dyn Read + 'a>),
    /// A Parquet file (CloudFront v2), read by its footer rather than as a stream; nothing of
    /// it has been counted as read yet.
    Parquet(Input),
}

/// Opens a raw file for reading, decompressing it if it is gzip.
pub(crate) fn open<'a>(input: Input, read_bytes: &'a AtomicU64) -> io::Result<Opened<'a>> {
    match input {
        Input::File(mut file) => {
            let mut magic = Vec::with_capacity(4);
            (&mut file).take(4).read_to_end(&mut magic)?;
            if magic == b"PAR1" {
                file.rewind()?;
                return Ok(Opened::Parquet(Input::File(file)));
            }
            // The sniffed bytes are handed on (and counted) ahead of the rest of the file.
            stream(io::Cursor::new(magic).chain(file), read_bytes)
        }
        Input::Bytes(bytes) if bytes.starts_with(b"PAR1") => {
            Ok(Opened::Parquet(Input::Bytes(bytes)))
        }
        Input::Bytes(bytes) => stream(io::Cursor::new(bytes), read_bytes),
    }
}

fn stream<'a>(inner: impl Read + 'a, read_bytes: &'a AtomicU64) -> io::Result<Opened<'a>> {
    let mut buffered = BufReader::with_capacity(READ_CHUNK, Counted { inner, count: read_bytes });
    let magic = buffered.fill_buf()?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Opened::Stream(Box::new(MultiGzDecoder::new(buffered))))
    } else {
        Ok(Opened::Stream(Box::new(buffered)))
    }
}

/// Moves the unread bytes `buf[start..end]` to the front of `buf` and reads once more after
/// them, at most [`READ_CHUNK`] bytes; returns how many were read, 0 at the end of the stream.
pub(crate) fn refill(
    inner: &mut impl Read,
    buf: &mut [u8],
    start: &mut usize,
    end: &mut usize,
) -> io::Result<usize> {
    if *start > 0 {
        buf.copy_within(*start..*end, 0);
        *end -= *start;
        *start = 0;
    }
    let room = (buf.len() - *end).min(READ_CHUNK);
    if room == 0 {
        // Cannot happen: readers cut a record longer than their cap before the buffer fills.
        return Err(io::Error::other("read buffer full"));
    }
    loop {
        match inner.read(&mut buf[*end..*end + room]) {
            Ok(n) => {
                *end += n;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Splits a byte stream into lines using one reusable buffer.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_line: usize,
    line_number: u64,
    /// Skipping the rest of an overlong line.
    skipping: bool,
    eof: bool,
    /// Decompressed bytes read so far.
    pub decoded_bytes: u64,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(inner: R, max_line: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; max_line + READ_CHUNK],
            start: 0,
            end: 0,
            max_line,
            line_number: 0,
            skipping: false,
            eof: false,
            decoded_bytes: 0,
        }
    }

    /// The next line, or `None` at the end of the stream. After an error the bytes of an
    /// unfinished line are available from [`LineReader::unfinished`].
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let line_start = self.start;
                let line_end = self.start + pos;
                self.start = line_end + 1;
                if self.skipping {
                    self.skipping = false;
                    continue;
                }
                self.line_number += 1;
                let overlong = pos > self.max_line;
                let line_end = if overlong { line_start + self.max_line } else { line_end };
                return Ok(Some(Line {
                    bytes: &self.buf[line_start..line_end],
                    number: self.line_number,
                    overlong,
                }));
            }
            if self.skipping {
                self.start = self.end;
            } else if self.end - self.start >= self.max_line {
                // Hand out the first part now and drop the rest up to the next newline.
                let line_start = self.start;
                self.start = self.end;
                self.skipping = true;
                self.line_number += 1;
                return Ok(Some(Line {
                    bytes: &self.buf[line_start..line_start + self.max_line],
                    number: self.line_number,
                    overlong: true,
                }));
            }
            if self.eof {
                if self.start < self.end && !self.skipping {
                    let line_start = self.start;
                    self.start = self.end;
                    self.line_number += 1;
                    return Ok(Some(Line {
                        bytes: &self.buf[line_start..self.end],
                        number: self.line_number,
                        overlong: false,
                    }));
                }
                return Ok(None);
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let n = refill(&mut self.inner, &mut self.buf, &mut self.start, &mut self.end)?;
        self.decoded_bytes += n as u64;
        self.eof |= n == 0;
        Ok(())
    }

    /// Lines handed out so far.
    pub(crate) fn lines_read(&self) -> u64 {
        self.line_number
    }

    /// Bytes of a line that was started but not finished when reading failed, with the line
    /// number it would have had.
    pub(crate) fn unfinished(&self) -> Option<(&[u8], u64)> {
        (self.start < self.end && !self.skipping)
            .then(|| (&self.buf[self.start..self.end], self.line_number + 1))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn lines_of(input: &[u8], max_line: usize) -> Vec<(Vec<u8>, u64, bool)> {
        let mut reader = LineReader::new(input, max_line);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((line.bytes.to_vec(), line.number, line.overlong));
        }
        out
    }

    #[test]
    fn final_line_without_newline_is_read() {
        let lines = lines_of(b"a\nbb\n\nccc", 16);
        let texts: Vec<&[u8]> = lines.iter().map(|l| l.0.as_slice()).collect();
        assert_eq!(texts, vec![&b"a"[..], b"bb", b"", b"ccc"]);
        assert_eq!(lines[3].1, 4);
    }

    #[test]
    fn overlong_line_is_cut_and_the_next_line_survives() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nnext\n");
        let lines = lines_of(&input, 100);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].0.len(), lines[0].2), (100, true));
        assert_eq!((lines[1].0.as_slice(), lines[1].1), (&b"next"[..], 2));
    }

    #[test]
    fn lines_spanning_many_reads_are_joined() {
        let mut input = Vec::new();
        for i in 0..50_000 {
            writeln!(input, "line number {i} with some padding to cross chunk edges").unwrap();
        }
        let lines = lines_of(&input, 1024);
        assert_eq!(lines.len(), 50_000);
        assert_eq!(lines[49_999].0, b"line number 49999 with some padding to cross chunk edges");
    }

    #[test]
    fn truncated_gzip_keeps_the_lines_before_the_damage() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        for i in 0..20_000 {
            writeln!(encoder, "{i} {}", "y".repeat(i % 50)).unwrap();
        }
        let gz = encoder.finish().unwrap();
        let cut = &gz[..gz.len() / 2];
        let mut reader = LineReader::new(MultiGzDecoder::new(cut), 1024);
        let mut read = 0;
        let err = loop {
            match reader.next_line() {
                Ok(Some(_)) => read += 1,
                Ok(None) => panic!("a cut gzip stream must end in an error"),
                Err(e) => break e,
            }
        };
        assert!(read > 1000, "only {read} lines before the damage");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
