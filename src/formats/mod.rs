//! AWS log formats: raw bytes in, Arrow record batches and rejected lines out.
//!
//! This module knows the shape of each AWS log and nothing about files, threads, Parquet or
//! DataFusion. A format hands out one [`RecordDecoder`] per raw file, chosen from the file's
//! first bytes (CloudFront writes W3C text in one era and JSON in the next). The decoder says
//! how the file splits into records ([`Framing`]: lines, or JSON values), is fed them in
//! order (headers included, because CloudFront headers change the column mapping) and
//! accumulates typed rows until the caller asks for a batch.
//!
//! Every record ends as exactly one [`Outcome`]: a row, a skipped header, blank line or
//! non-event (a CloudTrail digest), or a rejection with a reason. Callers count these, so
//! that rows + rejects + skipped always equals records read.
//!
//! Every table has `event_time` (microseconds, UTC) as its first column; the `dt` partition
//! column is not stored in the files, it is the Hive path segment the partition job derives
//! from `event_time`.

mod alb;
mod cloudfront;
mod cloudtrail;
mod columns;
mod json;
mod s3_access;
mod text;
mod waf;

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

pub use alb::Alb;
pub use cloudfront::CloudFront;
pub use cloudtrail::CloudTrail;
pub use s3_access::S3Access;
pub use text::{days_to_date, micros_to_day};
pub use waf::Waf;

/// Day number (days since 1970-01-01) of a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<i64> {
    text::parse_iso_date(text.as_bytes())
}

/// Name of the Hive partition column every table has.
pub const PARTITION_COLUMN: &str = "dt";
/// Name of the event time column every table has.
pub const EVENT_TIME_COLUMN: &str = "event_time";
/// Name of the column that keeps fields a parser does not know, as a map from the field's
/// name (or `field_<n>` for an unnamed trailing value at 1-based position n) to its raw text.
pub const EXTRA_FIELDS_COLUMN: &str = "extra_fields";

/// A log format logq can read.
pub trait LogFormat: Send + Sync {
    /// The warehouse table this format is written to.
    fn table(&self) -> &'static str;
    /// The Arrow schema of the rows the decoders produce (without the `dt` partition column).
    fn schema(&self) -> SchemaRef;
    /// A decoder for one raw file, given the file's first (decompressed) bytes. Decoders keep
    /// per-file state such as a CloudFront `#Fields:` header.
    fn decoder(&self, head: &[u8]) -> Box<dyn RecordDecoder>;
}

/// How a raw file splits into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line.
    Lines,
    /// JSON values, run together or one per line; a top-level array, or an object whose
    /// first key is `wrapper` holding an array, contributes its elements.
    Json { wrapper: Option<&'static str> },
}

/// Decodes the records of one raw file into rows.
pub trait RecordDecoder: Send {
    /// How the file this decoder reads splits into records.
    fn framing(&self) -> Framing;
    /// Decodes one record (for [`Framing::Lines`], a line without its terminator).
    fn decode(&mut self, record: &[u8]) -> Outcome;
    /// Decodes one row of a Parquet input file (CloudFront writes its v2 logs as Parquet),
    /// given as the file's column names and the row's values as text. Formats without a
    /// Parquet form reject it.
    fn decode_columns(&mut self, names: &[String], values: &[Option<&str>]) -> Outcome {
        let _ = (names, values);
        Outcome::Rejected(Reject::new("this format has no Parquet form"))
    }
    /// Rows decoded since the last [`RecordDecoder::finish_batch`].
    fn buffered_rows(&self) -> usize;
    /// Returns the buffered rows as a batch and starts a new one.
    fn finish_batch(&mut self) -> RecordBatch;
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The record became a row.
    Row,
    /// A header, comment or blank line, or a JSON object that is not an event: not data.
    Skipped,
    /// The record is not valid; nothing was appended.
    Rejected(Reject),
}

impl Outcome {
    /// A row if `decoded` succeeded, else its rejection.
    pub(crate) fn of(decoded: Result<(), Reject>) -> Outcome {
        match decoded {
            Ok(()) => Outcome::Row,
            Err(reject) => Outcome::Rejected(reject),
        }
    }
}

/// What the text formats do with a line before their own parsing: a blank line is skipped,
/// one that is not UTF-8 rejected, and any other handed to `decode`.
pub(crate) fn decode_text_line(
    line: &[u8],
    decode: impl FnOnce(&str) -> Result<(), Reject>,
) -> Outcome {
    if line.iter().all(|&b| matches!(b, b'\r' | b' ' | b'\t')) {
        return Outcome::Skipped;
    }
    match std::str::from_utf8(line) {
        Ok(line) => Outcome::of(decode(line)),
        Err(_) => Outcome::Rejected(Reject::new("line is not valid UTF-8")),
    }
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub reason: String,
}

impl Reject {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Reject { reason: reason.into() }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The formats `logq partition --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatName {
    CloudFront,
    S3Access,
    Waf,
    CloudTrail,
    Alb,
}

impl FormatName {
    pub const ALL: [FormatName; 5] = [
        FormatName::CloudFront,
        FormatName::S3Access,
        FormatName::Waf,
        FormatName::CloudTrail,
        FormatName::Alb,
    ];

    /// The name config files and `--format` use, which is also the default table's name.
    pub fn name(self) -> &'static str {
        match self {
            FormatName::CloudFront => "cloudfront",
            FormatName::S3Access => "s3_access",
            FormatName::Waf => "waf",
            FormatName::CloudTrail => "cloudtrail",
            FormatName::Alb => "alb",
        }
    }

    /// Parses a format name as config files write it (`s3` and `s3-access` also name S3).
    pub fn parse(name: &str) -> Option<FormatName> {
        match name {
            "s3" | "s3-access" => Some(FormatName::S3Access),
            _ => FormatName::ALL.into_iter().find(|f| f.name() == name),
        }
    }

    /// How long after an event AWS may still deliver it, by the service's documentation:
    /// CloudFront standard logs up to 24 hours late, S3 server access logs best-effort
    /// "within a few hours" (24 hours is the safe reading), CloudTrail within about 15
    /// minutes, WAF (through Firehose) and ALB within minutes of their 5-minute files.
    pub fn default_delivery_lag(self) -> std::time::Duration {
        let hours = match self {
            FormatName::CloudFront | FormatName::S3Access => 24,
            FormatName::Waf | FormatName::CloudTrail | FormatName::Alb => 1,
        };
        std::time::Duration::from_secs(hours * 3600)
    }

    pub fn format(self) -> Arc<dyn LogFormat> {
        match self {
            FormatName::CloudFront => Arc::new(CloudFront),
            FormatName::S3Access => Arc::new(S3Access),
            FormatName::Waf => Arc::new(Waf),
            FormatName::CloudTrail => Arc::new(CloudTrail),
            FormatName::Alb => Arc::new(Alb),
        }
    }
}

/// The known tables and their schemas, for the catalog.
pub fn known_tables() -> Vec<Arc<dyn LogFormat>> {
    FormatName::ALL.iter().map(|name| name.format()).collect()
}

/// The type of `event_time` in every table.
pub fn event_time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn extra_fields_type() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(
                vec![
                    Field::new("keys", DataType::Utf8, false),
                    Field::new("values", DataType::Utf8, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    )
}

fn schema_of(columns: &[columns::Column]) -> SchemaRef {
    let mut fields = vec![Field::new(EVENT_TIME_COLUMN, event_time_type(), false)];
    fields.extend(columns.iter().map(|c| Field::new(c.name, c.kind.data_type(), true)));
    fields.push(Field::new(EXTRA_FIELDS_COLUMN, extra_fields_type(), true));
    Arc::new(Schema::new(fields))
}

/// Helpers the formats' unit tests share.
#[cfg(test)]
pub(crate) mod test_util {
    use arrow::array::{Array, AsArray};
    use arrow::record_batch::RecordBatch;

    /// The text in column `name` of `row`, `None` when NULL.
    pub(crate) fn text(batch: &RecordBatch, name: &str, row: usize) -> Option<String> {
        let column = batch.column_by_name(name).unwrap().as_string::<i32>();
        column.is_valid(row).then(|| column.value(row).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode_lines(format: &dyn LogFormat, lines: &[Vec<u8>]) {
        let mut decoder = format.decoder(lines.first().map_or(&[][..], Vec::as_slice));
        let mut rows = 0;
        for line in lines {
            if decoder.decode(line) == Outcome::Row {
                rows += 1;
            }
        }
        assert_eq!(decoder.buffered_rows(), rows);
        let batch = decoder.finish_batch();
        assert_eq!(batch.num_rows(), rows);
        assert_eq!(batch.schema(), format.schema());
    }

    /// Lines that look like each format, with bytes flipped, cut or inserted.
    fn near_miss_line() -> impl Strategy<Value = Vec<u8>> {
        let seeds = prop_oneof![
            Just(b"2026-11-02\t08:15:02\tFRA56-P3\t5120\t192.0.2.10\tGET\td.cloudfront.net\t/a%20b\t200\t-\tcurl%2520x\t-\t-\tHit\tR1\th\thttps\t310\t0.012".to_vec()),
            Just(b"#Fields: date time sc-status x-new cs(User-Agent)".to_vec()),
            Just(br#"owner bkt [02/Nov/2026:13:05:09 +0000] 198.51.100.2 - ID1 REST.GET.OBJECT k%C3%A9 "GET /k HTTP/1.1" 200 - 5 5 3 1 "-" "ua \"q\"" - hid SigV4 c AuthHeader h TLSv1.3 - - eu-west-1"#.to_vec()),
            Just(br#"h2 2026-11-02T08:15:02.186641Z app/lb/50dc [2001:db8::7]:443 10.0.0.1:80 0.000 -1 0.000 200 200 34 366 "GET https://x:443/ HTTP/2.0" "curl \"x\"" - - arn "Root=1" "-" "-" 0 2026-11-02T08:15:01.000000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1"#.to_vec()),
            Just(br#"{"timestamp":1762000000123,"action":"BLOCK","rateBasedRuleList":[{"evaluationWindowSec":"120","customValues":[{"key":"k"}]}],"httpRequest":{"clientIp":"192.0.2.1","headers":[{"name":"Host","value":"h"}]},"labels":[{"name":"a"},"b",3]}"#.to_vec()),
            Just(br#"{"eventTime":"2026-11-02T08:15:02Z","userIdentity":{"type":"Root","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"resources":[{"ARN":"a","accountId":1}],"readOnly":"false","requestParameters":{"a":[1,{"b":null}]}}"#.to_vec()),
            Just(br#"{"date":"2026-11-02","time":"08:15:02","timestamp(ms)":"1762071302250","cs(User-Agent)":"a%20b","sc-status":"000"}"#.to_vec()),
        ];
        (seeds, proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..6)).prop_map(
            |(mut line, edits)| {
                for (at, byte, op) in edits {
                    let at = at % (line.len() + 1);
                    match op {
                        0 => line.insert(at, byte),
                        1 if at < line.len() => line[at] = byte,
                        _ => line.truncate(at),
                    }
                }
                line
            },
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_a_parser(
            lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)
        ) {
            for format in known_tables() {
                decode_lines(format.as_ref(), &lines);
            }
        }

        #[test]
        fn damaged_realistic_lines_never_panic_a_parser(
            lines in proptest::collection::vec(near_miss_line(), 0..20)
        ) {
            for format in known_tables() {
                decode_lines(format.as_ref(), &lines);
            }
        }
    }
}
