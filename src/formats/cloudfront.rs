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
//! - `event_time` is `date` + `time` (UTC, when the edge finished the response). A line with a
//!   missing or impossible date or time, a non-number in a numeric field, or bytes that are
//!   not UTF-8 is rejected as a whole.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::columns::{Column, Kind, RowBuilder, col};
use super::text::{parse_hms, parse_iso_date, to_micros};
use super::{LineDecoder, LineOutcome, LogFormat, Reject, schema_of};

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

    fn decoder(&self) -> Box<dyn LineDecoder> {
        Box::new(CloudFrontDecoder {
            slots: documented_slots(),
            rows: RowBuilder::new(self.schema(), &COLUMNS),
        })
    }
}

/// Where a field of a line goes.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Date,
    Time,
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
    match W3C_NAMES.iter().position(|known| known.eq_ignore_ascii_case(name)) {
        Some(idx) => Slot::Column(idx),
        None => Slot::Extra(name.to_owned()),
    }
}

struct CloudFrontDecoder {
    slots: Arc<[Slot]>,
    rows: RowBuilder,
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

    fn decode_row(&mut self, line: &str) -> Result<(), Reject> {
        let line = line.trim_end_matches(['\t', '\r']);
        if !line.contains('\t') {
            return Err(Reject::new("not a tab-separated record"));
        }
        self.rows.begin();
        let (mut date, mut time) = (None, None);
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
        let date = date.ok_or_else(|| Reject::new("no date field"))?;
        let time = time.ok_or_else(|| Reject::new("no time field"))?;
        self.rows.commit(line, to_micros(date, time));
        Ok(())
    }
}

fn bad(what: &str, field: &str) -> Reject {
    let shown: String = field.chars().take(32).collect();
    Reject::new(format!("{what} is not valid: {shown:?}"))
}

impl LineDecoder for CloudFrontDecoder {
    fn decode(&mut self, line: &[u8]) -> LineOutcome {
        if line.first() == Some(&b'#') {
            self.read_header(line);
            return LineOutcome::Skipped;
        }
        if line.iter().all(|&b| b == b'\r' || b == b'\t' || b == b' ') {
            return LineOutcome::Skipped;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return LineOutcome::Rejected(Reject::new("line is not valid UTF-8"));
        };
        match self.decode_row(line) {
            Ok(()) => LineOutcome::Row,
            Err(reject) => LineOutcome::Rejected(reject),
        }
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

    fn decode_all(lines: &[&str]) -> (RecordBatch, Vec<LineOutcome>) {
        let mut decoder = CloudFront.decoder();
        let outcomes = lines.iter().map(|l| decoder.decode(l.as_bytes())).collect();
        (decoder.finish_batch(), outcomes)
    }

    fn text(batch: &RecordBatch, name: &str, row: usize) -> Option<String> {
        let col = batch.column_by_name(name).unwrap().as_string::<i32>();
        col.is_valid(row).then(|| col.value(row).to_owned())
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
        assert_eq!(outcomes, vec![LineOutcome::Skipped, LineOutcome::Skipped, LineOutcome::Row]);
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
        assert_eq!(outcomes[1], LineOutcome::Row);
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
        assert_eq!(outcomes[1], LineOutcome::Row);
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
        assert_eq!(outcomes[1..], [LineOutcome::Row, LineOutcome::Row]);
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
        assert_eq!(outcomes[1], LineOutcome::Row);
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
        assert!(matches!(outcomes[0], LineOutcome::Rejected(_)));
        assert!(
            matches!(outcomes[1], LineOutcome::Rejected(ref r) if r.reason.contains("sc_bytes"))
        );
        assert_eq!(outcomes[2], LineOutcome::Rejected(Reject::new("not a tab-separated record")));
        assert_eq!(outcomes[3], LineOutcome::Row);
        assert_eq!(batch.num_rows(), 1);
    }

    #[test]
    fn invalid_utf8_and_blank_lines() {
        let mut decoder = CloudFront.decoder();
        assert!(matches!(decoder.decode(b"2026-11-02\t\xff\xfe"), LineOutcome::Rejected(_)));
        assert_eq!(decoder.decode(b""), LineOutcome::Skipped);
        assert_eq!(decoder.decode(b"\r"), LineOutcome::Skipped);
    }
}
