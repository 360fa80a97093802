//! CloudFront standard logs, legacy format (W3C extended, tab-separated), as described in the
//! CloudFront Developer Guide's "standard log file fields" reference.
//!
//! - Columns are mapped by each file's `#Fields:` header, whose names may be separated by
//!   spaces or tabs. A file without one (or starting with a bare `#`) uses the documented
//!   33-field order. A header can change mid-file; it applies to the lines after it.
//! - A row shorter than its header gets NULLs for the missing fields (the 24- and 26-field
//!   layouts from before 2019 are such rows). Trailing empty fields are ignored (AWS's own
//!   example has a trailing tab).
//! - Fields logq does not know are kept in `extra_fields`, a map from the header's name for
//!   the field (for example `origin-fbl`) to the raw text; a value beyond the end of the
//!   header is kept under `field_<n>`, its 1-based position. They never shift known columns.
//! - `-` is NULL everywhere. `sc-status` `000` (the viewer closed the connection before the
//!   response) is stored as 0, not NULL, so it stays distinguishable from a missing status.
//! - Decoded once, because AWS percent-encodes them on top of what the client sent:
//!   `cs-uri-stem`, `cs-uri-query`, `cs(Referer)`, `cs(User-Agent)` and `cs(Cookie)`. A
//!   double-encoded `%2520` therefore becomes `%20`, which is what the client sent. `+` is not
//!   a space. A value whose escapes do not decode to UTF-8 is stored as written. Every other
//!   field is stored as written; `x-forwarded-for` keeps CloudFront's `\x20` escapes.
//! - `event_time` is `date` + `time` (UTC, when the edge finished the response), or, where a
//!   record has it, the more precise `timestamp(ms)` (epoch milliseconds) or `timestamp`
//!   (epoch seconds with a fraction) of standard logging v2 and real-time logs. A record
//!   with no usable time, a non-number in a numeric field, or bytes that are not UTF-8 is
//!   rejected as a whole.
//!
//! Standard logging v2 writes the same fields three ways, all read into this table so that
//! one query spans a distribution before and after the switch:
//! - W3C with a chosen subset of fields, often without `#Version`: read as above, by its
//!   `#Fields:` header.
//! - JSON, one object per record with the W3C names as keys (`"cs(User-Agent)"`) and every
//!   value a string: each record is mapped by its own keys, exactly like a header, with the
//!   same decoding and NULLs. Unknown keys (`asn`, `origin-fbl`) go to `extra_fields`.
//! - Parquet, with the field names written with underscores (`cs_user_agent`): each row is
//!   mapped by the file's column names like a header, its values taken as text.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use jiter::{Jiter, JiterResult, Peek};

use super::columns::{Column, Kind, RowBuilder, col};
use super::text::{parse_decimal, parse_hms, parse_int, parse_iso_date, to_micros};
use super::{Framing, LogFormat, Outcome, RecordDecoder, Reject, decode_text_line, schema_of};

/// The documented fields after `date` and `time`, in documented order.
const W3C_NAMES: [&str; 31] = [
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// The stored columns, in the same order as [`W3C_NAMES`].
static COLUMNS: [Column; 31] = [
    col("x_edge_location", Kind::Text),
    col("sc_bytes", Kind::Int64),
    col("c_ip", Kind::Text),
    col("cs_method", Kind::Text),
    col("cs_host", Kind::Text),
    col("cs_uri_stem", Kind::UrlEncoded),
    col("sc_status", Kind::Int16),
    col("cs_referer", Kind::UrlEncoded),
    col("cs_user_agent", Kind::UrlEncoded),
    col("cs_uri_query", Kind::UrlEncoded),
    col("cs_cookie", Kind::UrlEncoded),
    col("x_edge_result_type", Kind::Text),
    col("x_edge_request_id", Kind::Text),
    col("x_host_header", Kind::Text),
    col("cs_protocol", Kind::Text),
    col("cs_bytes", Kind::Int64),
    col("time_taken", Kind::Float64),
    col("x_forwarded_for", Kind::Text),
    col("ssl_protocol", Kind::Text),
    col("ssl_cipher", Kind::Text),
    col("x_edge_response_result_type", Kind::Text),
    col("cs_protocol_version", Kind::Text),
    col("fle_status", Kind::Text),
    col("fle_encrypted_fields", Kind::Int32),
    col("c_port", Kind::Int32),
    col("time_to_first_byte", Kind::Float64),
    col("x_edge_detailed_result_type", Kind::Text),
    col("sc_content_type", Kind::Text),
    col("sc_content_len", Kind::Int64),
    col("sc_range_start", Kind::Int64),
    col("sc_range_end", Kind::Int64),
];

/// The `cloudfront` table.
pub struct CloudFront;

impl LogFormat for CloudFront {
    fn table(&self) -> &'static str {
        "cloudfront"
    }

    fn schema(&self) -> SchemaRef {
        static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
        SCHEMA.get_or_init(|| schema_of(&COLUMNS)).clone()
    }

    fn decoder(&self, head: &[u8]) -> Box<dyn RecordDecoder> {
        let json = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        Box::new(CloudFrontDecoder {
            slots: documented_slots(),
            rows: RowBuilder::new(self.schema(), &COLUMNS),
            json,
            keys: Vec::new(),
            line: String::new(),
        })
    }
}

/// Where a field of a line goes.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Date,
    Time,
    /// `timestamp(ms)`: milliseconds since the epoch.
    EpochMillis,
    /// `timestamp`: seconds since the epoch, with a fraction.
    EpochSeconds,
    Column(usize),
    Extra(String),
}

fn documented_slots() -> Arc<[Slot]> {
    static SLOTS: OnceLock<Arc<[Slot]>> = OnceLock::new();
    SLOTS
        .get_or_init(|| {
            [Slot::Date, Slot::Time]
                .into_iter()
                .chain((0..COLUMNS.len()).map(Slot::Column))
                .collect()
        })
        .clone()
}

fn slot_for(name: &str) -> Slot {
    if name.eq_ignore_ascii_case("date") {
        return Slot::Date;
    }
    if name.eq_ignore_ascii_case("time") {
        return Slot::Time;
    }
    if name.eq_ignore_ascii_case("timestamp(ms)") || name.eq_ignore_ascii_case("timestamp_ms") {
        return Slot::EpochMillis;
    }
    if name.eq_ignore_ascii_case("timestamp") {
        return Slot::EpochSeconds;
    }
    let known = W3C_NAMES.iter().position(|known| known.eq_ignore_ascii_case(name));
    match known.or_else(|| COLUMNS.iter().position(|c| c.name.eq_ignore_ascii_case(name))) {
        Some(idx) => Slot::Column(idx),
        None => Slot::Extra(name.to_owned()),
    }
}

struct CloudFrontDecoder {
    slots: Arc<[Slot]>,
    rows: RowBuilder,
    /// The file is v2 JSON rather than W3C text.
    json: bool,
    /// Keys of the last JSON record, whose slots are in `slots`.
    keys: Vec<String>,
    /// A JSON record's values, tab-separated as in a W3C line.
    line: String,
}

impl CloudFrontDecoder {
    fn read_header(&mut self, line: &[u8]) {
        let Some(rest) = line.strip_prefix(b"#Fields:") else {
            return;
        };
        let names = String::from_utf8_lossy(rest);
        let slots: Vec<Slot> = names
            .split([' ', '\t'])
            .filter(|n| !n.trim().is_empty())
            .map(|n| slot_for(n.trim()))
            .collect();
        if !slots.is_empty() {
            self.slots = slots.into();
        }
    }

    /// Decodes a v2 JSON record by turning it into the W3C line its keys describe.
    fn decode_json(&mut self, record: &[u8]) -> Result<(), Reject> {
        if std::str::from_utf8(record).is_err() {
            return Err(Reject::new("record is not valid UTF-8"));
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let mut j = Jiter::new(record);
        let read = match j.peek() {
            Ok(Peek::Object) => self.json_fields(&mut j, &mut line).and_then(|()| j.finish()),
            Ok(_) => {
                self.line = line;
                return Err(Reject::new("record is not a JSON object"));
            }
            Err(e) => Err(e),
        };
        let result = match read {
            Ok(()) => self.decode_row(&line),
            Err(error) => Err(Reject::new(format!("invalid JSON: {error}"))),
        };
        self.line = line;
        result
    }

    /// Appends a JSON object's values to `line` as tab-separated W3C fields, and points
    /// `slots` at its keys.
    fn json_fields(&mut self, j: &mut Jiter<'_>, line: &mut String) -> JiterResult<()> {
        let mut changed = false;
        let mut n = 0;
        let mut key = j.known_object()?;
        while let Some(name) = key {
            if self.keys.get(n).is_none_or(|k| k != name) {
                self.keys.truncate(n);
                self.keys.push(name.to_owned());
                changed = true;
            }
            if n > 0 {
                line.push('\t');
            }
            n += 1;
            let peek = j.peek()?;
            match peek {
                Peek::String => push_w3c_value(line, j.known_str()?),
                Peek::Null => {
                    j.known_null()?;
                    line.push('-');
                }
                p => {
                    let start = j.current_index();
                    j.known_skip(p)?;
                    let raw = String::from_utf8_lossy(j.slice_to_current(start)).into_owned();
                    push_w3c_value(line, &raw);
                }
            }
            key = j.next_key()?;
        }
        if changed || n != self.keys.len() {
            self.keys.truncate(n);
            self.slots = self.keys.iter().map(|k| slot_for(k)).collect();
        }
        Ok(())
    }

    fn decode_row(&mut self, line: &str) -> Result<(), Reject> {
        let line = line.trim_end_matches(['\t', '\r']);
        self.rows.begin();
        let (mut date, mut time, mut epoch) = (None, None, None);
        let mut start = 0;
        for (i, end) in memchr::memchr_iter(b'\t', line.as_bytes())
            .chain(std::iter::once(line.len()))
            .enumerate()
        {
            let field = &line[start..end];
            match self.slots.get(i) {
                Some(Slot::Column(idx)) => self.rows.stage(*idx, line, start, end)?,
                Some(Slot::Date) => {
                    date = Some(parse_iso_date(field.as_bytes()).ok_or_else(|| bad("date", field))?)
                }
                Some(Slot::Time) => {
                    time = Some(parse_hms(field.as_bytes()).ok_or_else(|| bad("time", field))?)
                }
                Some(Slot::EpochMillis) if !matches!(field, "" | "-") => {
                    let ms =
                        parse_int(field.as_bytes()).ok_or_else(|| bad("timestamp(ms)", field))?;
                    epoch = Some(ms.checked_mul(1000).ok_or_else(|| bad("timestamp(ms)", field))?);
                }
                Some(Slot::EpochSeconds) if !matches!(field, "" | "-") => {
                    let seconds =
                        parse_decimal(field.as_bytes()).ok_or_else(|| bad("timestamp", field))?;
                    epoch = epoch.or(Some((seconds * 1e6).round() as i64));
                }
                Some(Slot::Extra(name)) if !field.is_empty() => {
                    self.rows.stage_extra(name.clone(), start, end)
                }
                None if !field.is_empty() => {
                    self.rows.stage_extra(format!("field_{}", i + 1), start, end)
                }
                _ => {}
            }
            start = end + 1;
        }
        let event_time = match (epoch, date, time) {
            (Some(micros), _, _) => micros,
            (None, Some(date), Some(time)) => to_micros(date, time),
            (None, None, _) => return Err(Reject::new("no date field")),
            (None, Some(_), None) => return Err(Reject::new("no time field")),
        };
        self.rows.commit(line, event_time);
        Ok(())
    }
}

/// Appends a v2 JSON value as a W3C field. Tabs and line breaks cannot appear in a W3C field,
/// so they are percent-encoded as CloudFront would; an empty value is `-`.
fn push_w3c_value(line: &mut String, value: &str) {
    if value.is_empty() {
        line.push('-');
    } else if value.contains(['\t', '\n', '\r']) {
        line.push_str(&value.replace('\t', "%09").replace('\n', "%0A").replace('\r', "%0D"));
    } else {
        line.push_str(value);
    }
}

fn bad(what: &str, field: &str) -> Reject {
    let shown: String = field.chars().take(32).collect();
    Reject::new(format!("{what} is not valid: {shown:?}"))
}

impl RecordDecoder for CloudFrontDecoder {
    fn framing(&self) -> Framing {
        if self.json { Framing::Json { wrapper: None } } else { Framing::Lines }
    }

    fn decode(&mut self, line: &[u8]) -> Outcome {
        if self.json {
            return Outcome::of(self.decode_json(line));
        }
        if line.first() == Some(&b'#') {
            self.read_header(line);
            return Outcome::Skipped;
        }
        decode_text_line(line, |line| {
            if !line.contains('\t') {
                return Err(Reject::new("not a tab-separated record"));
            }
            self.decode_row(line)
        })
    }

    fn decode_columns(&mut self, names: &[String], values: &[Option<&str>]) -> Outcome {
        if self.keys != names {
            self.keys = names.to_vec();
            self.slots = names.iter().map(|n| slot_for(n)).collect();
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            match value {
                Some(value) => push_w3c_value(&mut line, value),
                None => line.push('-'),
            }
        }
        let outcome = Outcome::of(self.decode_row(&line));
        self.line = line;
        outcome
    }

    fn buffered_rows(&self) -> usize {
        self.rows.rows()
    }

    fn finish_batch(&mut self) -> RecordBatch {
        self.rows.finish()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, MapArray};
    use arrow::datatypes::{Float64Type, Int16Type, Int64Type, TimestampMicrosecondType};

    use super::*;
    use crate::formats::test_util::text;
    use crate::formats::text::{days_from_civil, to_micros};

    const HEADER_33: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

    fn row33(date: &str, ip: &str, status: &str, ua: &str) -> String {
        [
            date,
            "08:15:02",
            "FRA56-P3",
            "5120",
            ip,
            "GET",
            "dxyz.cloudfront.net",
            "/a%20b.html",
            status,
            "-",
            ua,
            "q=%2Fx",
            "-",
            "Hit",
            "REQ1",
            "www.example.test",
            "https",
            "310",
            "0.012",
            "-",
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
            "Hit",
            "HTTP/2.0",
            "-",
            "-",
            "51234",
            "0.010",
            "Hit",
            "text/html",
            "4800",
            "-",
            "-",
        ]
        .join("\t")
    }

    fn decode_all(lines: &[&str]) -> (RecordBatch, Vec<Outcome>) {
        let mut decoder = CloudFront.decoder(b"");
        let outcomes = lines.iter().map(|l| decoder.decode(l.as_bytes())).collect();
        (decoder.finish_batch(), outcomes)
    }

    #[test]
    fn column_names_are_the_snake_case_of_aws_names() {
        for (w3c, column) in W3C_NAMES.iter().zip(&COLUMNS) {
            let snake: String = w3c.to_ascii_lowercase().replace(['-', '('], "_").replace(')', "");
            assert_eq!(snake, column.name);
        }
    }

    #[test]
    fn documented_example_line_is_typed() {
        let line = row33("2026-11-02", "192.0.2.10", "200", "Mozilla/5.0%20(X11)");
        let (batch, outcomes) = decode_all(&["#Version: 1.0", HEADER_33, &line]);
        assert_eq!(outcomes, vec![Outcome::Skipped, Outcome::Skipped, Outcome::Row]);
        let time = batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(time, to_micros(days_from_civil(2026, 11, 2), 8 * 3600 + 15 * 60 + 2));
        assert_eq!(
            batch.column_by_name("sc_bytes").unwrap().as_primitive::<Int64Type>().value(0),
            5120
        );
        assert_eq!(
            batch.column_by_name("sc_status").unwrap().as_primitive::<Int16Type>().value(0),
            200
        );
        let taken = batch.column_by_name("time_taken").unwrap().as_primitive::<Float64Type>();
        assert_eq!(taken.value(0), 0.012);
        assert_eq!(text(&batch, "cs_user_agent", 0).as_deref(), Some("Mozilla/5.0 (X11)"));
        assert_eq!(text(&batch, "cs_uri_stem", 0).as_deref(), Some("/a b.html"));
        assert_eq!(text(&batch, "cs_uri_query", 0).as_deref(), Some("q=/x"));
        assert_eq!(text(&batch, "cs_referer", 0), None);
        assert_eq!(text(&batch, "sc_content_type", 0).as_deref(), Some("text/html"));
    }

    #[test]
    fn file_without_header_uses_documented_order() {
        let line = row33("2026-11-02", "2001:db8::7", "000", "-");
        let (batch, outcomes) = decode_all(&["#", &line]);
        assert_eq!(outcomes[1], Outcome::Row);
        assert_eq!(text(&batch, "c_ip", 0).as_deref(), Some("2001:db8::7"));
        let status = batch.column_by_name("sc_status").unwrap().as_primitive::<Int16Type>();
        assert!(status.is_valid(0));
        assert_eq!(status.value(0), 0);
        assert_eq!(text(&batch, "cs_user_agent", 0), None);
    }

    #[test]
    fn header_with_tabs_and_reordered_fields_maps_by_name() {
        let header = "#Fields:\tsc-status\ttime\tdate\tc-ip";
        let (batch, outcomes) = decode_all(&[header, "404\t10:00:00\t2026-11-01\t203.0.113.9"]);
        assert_eq!(outcomes[1], Outcome::Row);
        assert_eq!(
            batch.column_by_name("sc_status").unwrap().as_primitive::<Int16Type>().value(0),
            404
        );
        assert_eq!(text(&batch, "c_ip", 0).as_deref(), Some("203.0.113.9"));
        assert_eq!(text(&batch, "cs_method", 0), None);
    }

    #[test]
    fn short_rows_get_nulls_and_trailing_empty_fields_are_ignored() {
        let full = row33("2026-11-02", "192.0.2.1", "200", "-");
        let short: Vec<&str> = full.split('\t').take(24).collect();
        let short = short.join("\t");
        let trailing = format!("{full}\t");
        let (batch, outcomes) = decode_all(&[HEADER_33, &short, &trailing]);
        assert_eq!(outcomes[1..], [Outcome::Row, Outcome::Row]);
        assert_eq!(text(&batch, "cs_protocol_version", 0).as_deref(), Some("HTTP/2.0"));
        assert_eq!(text(&batch, "sc_content_type", 0), None);
        let extra = batch.column_by_name("extra_fields").unwrap();
        assert!(extra.is_null(0) && extra.is_null(1));
    }

    #[test]
    fn header_with_extra_trailing_field_is_tolerated() {
        let header = format!("{HEADER_33} origin-fbl asn");
        let line =
            format!("{}\t0.254\t16509\tsurplus", row33("2026-11-02", "192.0.2.1", "200", "-"));
        let (batch, outcomes) = decode_all(&[&header, &line]);
        assert_eq!(outcomes[1], Outcome::Row);
        assert_eq!(text(&batch, "sc_content_type", 0).as_deref(), Some("text/html"));
        let extra: &MapArray = batch.column_by_name("extra_fields").unwrap().as_map();
        let entries = extra.value(0);
        let keys = entries.column(0).as_string::<i32>();
        let values = entries.column(1).as_string::<i32>();
        let pairs: Vec<(&str, &str)> =
            (0..keys.len()).map(|i| (keys.value(i), values.value(i))).collect();
        assert_eq!(pairs, vec![("origin-fbl", "0.254"), ("asn", "16509"), ("field_36", "surplus")]);
    }

    #[test]
    fn double_encoded_user_agent_is_decoded_once() {
        let line = row33("2026-11-02", "192.0.2.1", "200", "Mozilla/5.0%2520(X11;%2520Linux)");
        let (batch, _) = decode_all(&[&line]);
        assert_eq!(
            text(&batch, "cs_user_agent", 0).as_deref(),
            Some("Mozilla/5.0%20(X11;%20Linux)")
        );
    }

    #[test]
    fn undecodable_escape_is_kept_as_written() {
        let line = row33("2026-11-02", "192.0.2.1", "200", "bot%FF%FE");
        let (batch, _) = decode_all(&[&line]);
        assert_eq!(text(&batch, "cs_user_agent", 0).as_deref(), Some("bot%FF%FE"));
    }

    #[test]
    fn bad_lines_are_rejected_without_a_partial_row() {
        let good = row33("2026-11-02", "192.0.2.1", "200", "-");
        let bad_date = row33("2026-13-45", "192.0.2.1", "200", "-");
        let bad_bytes = good.replacen("5120", "abc", 1);
        let (batch, outcomes) = decode_all(&[&bad_date, &bad_bytes, "garbage line", &good]);
        assert!(matches!(outcomes[0], Outcome::Rejected(_)));
        assert!(matches!(outcomes[1], Outcome::Rejected(ref r) if r.reason.contains("sc_bytes")));
        assert_eq!(outcomes[2], Outcome::Rejected(Reject::new("not a tab-separated record")));
        assert_eq!(outcomes[3], Outcome::Row);
        assert_eq!(batch.num_rows(), 1);
    }

    #[test]
    fn invalid_utf8_and_blank_lines() {
        let mut decoder = CloudFront.decoder(b"");
        assert!(matches!(decoder.decode(b"2026-11-02\t\xff\xfe"), Outcome::Rejected(_)));
        assert_eq!(decoder.decode(b""), Outcome::Skipped);
        assert_eq!(decoder.decode(b"\r"), Outcome::Skipped);
    }

    #[test]
    fn v2_json_records_map_by_their_own_keys() {
        let mut decoder = CloudFront.decoder(b"  {\"date\"");
        assert_eq!(decoder.framing(), Framing::Json { wrapper: None });
        let first = r#"{"date":"2026-11-02","time":"08:15:02","timestamp(ms)":"1793607302250","x-edge-location":"FRA56-P3","sc-status":"404","cs(User-Agent)":"curl%2F8.4.0%2520x","asn":"16509","cs-bytes":""}"#;
        let second = r#"{"timestamp":"1793607303.5","c-ip":"2001:db8::1","sc-bytes":"512"}"#;
        let outcomes: Vec<Outcome> = [first, second, r#"{"x-edge-location":"FRA56-P3"}"#, "[1]"]
            .iter()
            .map(|r| decoder.decode(r.as_bytes()))
            .collect();
        assert_eq!(outcomes[..2], [Outcome::Row, Outcome::Row]);
        assert!(matches!(&outcomes[2], Outcome::Rejected(r) if r.reason.contains("date")));
        assert!(matches!(&outcomes[3], Outcome::Rejected(_)));
        let batch = decoder.finish_batch();
        let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(times.value(0), 1_793_607_302_250_000, "timestamp(ms) is the more precise time");
        assert_eq!(times.value(1), 1_793_607_303_500_000);
        assert_eq!(text(&batch, "cs_user_agent", 0).as_deref(), Some("curl/8.4.0%20x"));
        assert_eq!(text(&batch, "c_ip", 1).as_deref(), Some("2001:db8::1"));
        assert_eq!(text(&batch, "x_edge_location", 1), None);
        let status = batch.column_by_name("sc_status").unwrap().as_primitive::<Int16Type>();
        assert_eq!(status.value(0), 404);
        let extra = batch.column_by_name("extra_fields").unwrap().as_map().value(0);
        assert_eq!(extra.column(0).as_string::<i32>().value(0), "asn");
    }

    #[test]
    fn parquet_style_column_names_match_the_w3c_fields() {
        assert_eq!(slot_for("cs_user_agent"), slot_for("cs(User-Agent)"));
        assert_eq!(slot_for("x_edge_location"), Slot::Column(0));
    }
}
