//! Application Load Balancer access logs, as described in the ELB User Guide's "Access logs
//! for your Application Load Balancer".
//!
//! - Fields are separated by spaces; `"…"` fields may contain spaces and use `\"` for a
//!   quote (the S3 tokenizer, without S3's bracketed time). A field AWS usually quotes may
//!   also come unquoted, and `-` is NULL either way.
//! - Lines from every era are accepted: 18 fields (through `trace_id`, the 2016 layout) up to
//!   the current 33; missing trailing fields are NULL and fields past the 33rd are kept in
//!   `extra_fields` under `field_<n>`, their 1-based position.
//! - `client:port` and `target:port` are split at the last colon into an address and an
//!   integer port; an IPv6 address may be written bare (`2001:db8::1:443`) or bracketed
//!   (`[2001:db8::1]:443`) and is stored without brackets. A value whose part after the
//!   colon is not a port is kept whole as the address.
//! - The three processing times are `-1` when the request never reached a target; that is
//!   stored as NULL, not as a negative duration.
//! - `request` (`GET https://host:443/path?q HTTP/1.1`) is kept as written and also split into
//!   `request_verb`, `request_url` and `request_proto`, as Athena's DDL does.
//! - `event_time` is `time`, when the load balancer sent the response (ISO-8601, µs, UTC).
//! - The line ELB writes into its test object when logging is enabled (`Enable AccessLog for
//!   ELB: …`) is skipped, not rejected. A line whose first field is not a request type
//!   (`http`, `https`, `h2`, `grpcs`, `ws`, `wss`), with fewer than 18 fields, an unterminated
//!   quote, an unparsable time or a non-number in a numeric field is rejected as a whole.

use std::sync::OnceLock;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::columns::{Column, Kind, RowBuilder, col};
use super::text::{Token, parse_iso8601, tokenize};
use super::{Framing, LogFormat, Outcome, RecordDecoder, Reject, decode_text_line, schema_of};

/// Stored columns. The fields map onto them through [`FIELDS`].
static COLUMNS: [Column; 37] = [
    col("type", Kind::Text),
    col("elb", Kind::Text),
    col("client_ip", Kind::Text),
    col("client_port", Kind::Int32),
    col("target_ip", Kind::Text),
    col("target_port", Kind::Int32),
    col("request_processing_time", Kind::Float64),
    col("target_processing_time", Kind::Float64),
    col("response_processing_time", Kind::Float64),
    col("elb_status_code", Kind::Int16),
    col("target_status_code", Kind::Int16),
    col("received_bytes", Kind::Int64),
    col("sent_bytes", Kind::Int64),
    col("request", Kind::Text),
    col("request_verb", Kind::Text),
    col("request_url", Kind::Text),
    col("request_proto", Kind::Text),
    col("user_agent", Kind::Text),
    col("ssl_cipher", Kind::Text),
    col("ssl_protocol", Kind::Text),
    col("target_group_arn", Kind::Text),
    col("trace_id", Kind::Text),
    col("domain_name", Kind::Text),
    col("chosen_cert_arn", Kind::Text),
    col("matched_rule_priority", Kind::Int32),
    col("request_creation_time", Kind::Timestamp),
    col("actions_executed", Kind::Text),
    col("redirect_url", Kind::Text),
    col("error_reason", Kind::Text),
    col("target_port_list", Kind::Text),
    col("target_status_code_list", Kind::Text),
    col("classification", Kind::Text),
    col("classification_reason", Kind::Text),
    col("conn_trace_id", Kind::Text),
    col("transformed_host", Kind::Text),
    col("transformed_uri", Kind::Text),
    col("request_transform_status", Kind::Text),
];

/// What each field of a line is, in documented order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldRole {
    /// Stored as the column at this index of [`COLUMNS`].
    Column(usize),
    Time,
    /// `address:port` into the address column at this index and the port column after it.
    Address(usize),
    /// A processing time: `-1` is NULL.
    Seconds(usize),
    /// The request line, also split into verb, URL and protocol.
    Request,
}

const FIELDS: [FieldRole; 33] = [
    FieldRole::Column(0),  // type
    FieldRole::Time,       // time
    FieldRole::Column(1),  // elb
    FieldRole::Address(2), // client:port
    FieldRole::Address(4), // target:port
    FieldRole::Seconds(6), // request_processing_time
    FieldRole::Seconds(7), // target_processing_time
    FieldRole::Seconds(8), // response_processing_time
    FieldRole::Column(9),  // elb_status_code
    FieldRole::Column(10), // target_status_code
    FieldRole::Column(11), // received_bytes
    FieldRole::Column(12), // sent_bytes
    FieldRole::Request,    // "request"
    FieldRole::Column(17), // "user_agent"
    FieldRole::Column(18), // ssl_cipher
    FieldRole::Column(19), // ssl_protocol
    FieldRole::Column(20), // target_group_arn
    FieldRole::Column(21), // "trace_id"
    FieldRole::Column(22), // "domain_name"
    FieldRole::Column(23), // "chosen_cert_arn"
    FieldRole::Column(24), // matched_rule_priority
    FieldRole::Column(25), // request_creation_time
    FieldRole::Column(26), // "actions_executed"
    FieldRole::Column(27), // "redirect_url"
    FieldRole::Column(28), // "error_reason"
    FieldRole::Column(29), // "target:port_list"
    FieldRole::Column(30), // "target_status_code_list"
    FieldRole::Column(31), // "classification"
    FieldRole::Column(32), // "classification_reason"
    FieldRole::Column(33), // conn_trace_id
    FieldRole::Column(34), // "transformed_host"
    FieldRole::Column(35), // "transformed_uri"
    FieldRole::Column(36), // "request_transform_status"
];

/// Fields of the oldest layout (2016, through `trace_id`).
const MIN_FIELDS: usize = 18;
const REQUEST: usize = 13;
const REQUEST_TYPES: [&str; 6] = ["http", "https", "h2", "grpcs", "ws", "wss"];
/// What ELB writes into the test object it creates when logging is switched on.
const TEST_OBJECT_LINE: &str = "Enable AccessLog for ELB:";

/// The `alb` table.
pub struct Alb;

impl LogFormat for Alb {
    fn table(&self) -> &'static str {
        "alb"
    }

    fn schema(&self) -> SchemaRef {
        static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
        SCHEMA.get_or_init(|| schema_of(&COLUMNS)).clone()
    }

    fn decoder(&self, _head: &[u8]) -> Box<dyn RecordDecoder> {
        Box::new(AlbDecoder {
            rows: RowBuilder::new(self.schema(), &COLUMNS),
            tokens: Vec::with_capacity(40),
        })
    }
}

struct AlbDecoder {
    rows: RowBuilder,
    tokens: Vec<Token>,
}

impl AlbDecoder {
    fn decode_row(&mut self, line: &str) -> Result<(), Reject> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        tokenize(line, &mut self.tokens, false)?;
        if self.tokens.len() < MIN_FIELDS {
            return Err(Reject::new(format!(
                "{} fields, an ALB access log record has at least {MIN_FIELDS}",
                self.tokens.len()
            )));
        }
        let text = |t: &Token| &line[t.start..t.end];
        let kind = text(&self.tokens[0]);
        if !REQUEST_TYPES.contains(&kind) {
            let shown: String = kind.chars().take(16).collect();
            return Err(Reject::new(format!("{shown:?} is not a request type")));
        }
        let time = self.tokens[1];
        let event_time = parse_iso8601(text(&time).as_bytes()).ok_or_else(|| {
            let shown: String = text(&time).chars().take(32).collect();
            Reject::new(format!("time is not valid: {shown:?}"))
        })?;

        self.rows.begin();
        for (i, token) in self.tokens.iter().enumerate() {
            let (start, end) = (token.start, token.end);
            match FIELDS.get(i) {
                None => self.rows.stage_extra(format!("field_{}", i + 1), start, end),
                Some(FieldRole::Time) => {}
                Some(FieldRole::Column(idx))
                    if token.quoted && COLUMNS[*idx].kind == Kind::Text =>
                {
                    if !matches!(text(token), "" | "-") {
                        self.rows.stage_escaped(*idx, start, end);
                    }
                }
                Some(FieldRole::Column(idx)) => self.rows.stage(*idx, line, start, end)?,
                Some(FieldRole::Seconds(_)) if text(token) == "-1" => {}
                Some(FieldRole::Seconds(idx)) => self.rows.stage(*idx, line, start, end)?,
                Some(FieldRole::Address(idx)) => {
                    let ((ip_start, ip_end), port) = split_address(line, start, end);
                    self.rows.stage(*idx, line, ip_start, ip_end)?;
                    if let Some((port_start, port_end)) = port {
                        self.rows.stage(*idx + 1, line, port_start, port_end)?;
                    }
                }
                Some(FieldRole::Request) => {
                    if !matches!(text(token), "" | "-") {
                        self.rows.stage_escaped(REQUEST, start, end);
                    }
                    // `METHOD URL PROTOCOL`; a request ALB could not parse is `- - -`-like
                    // text whose parts are left NULL.
                    let mut parts = text(token).splitn(3, ' ');
                    let mut at = start;
                    for column in REQUEST + 1..=REQUEST + 3 {
                        let Some(part) = parts.next() else { break };
                        if !part.contains(['"', '\\']) {
                            self.rows.stage(column, line, at, at + part.len())?;
                        }
                        at += part.len() + 1;
                    }
                }
            }
        }
        self.rows.commit(line, event_time);
        Ok(())
    }
}

/// Splits `address:port` at its last colon. Brackets around an IPv6 address are dropped. If
/// what follows the colon is not a port, the whole field is the address.
fn split_address(line: &str, start: usize, end: usize) -> ((usize, usize), Option<(usize, usize)>) {
    let field = &line[start..end];
    let Some(colon) = field.rfind(':') else {
        return ((start, end), None);
    };
    let port = &field[colon + 1..];
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return ((start, end), None);
    }
    let mut address = (start, start + colon);
    if field.starts_with('[') && field[..colon].ends_with(']') {
        address = (start + 1, start + colon - 1);
    }
    (address, Some((start + colon + 1, end)))
}

impl RecordDecoder for AlbDecoder {
    fn framing(&self) -> Framing {
        Framing::Lines
    }

    fn decode(&mut self, line: &[u8]) -> Outcome {
        if line.starts_with(TEST_OBJECT_LINE.as_bytes()) {
            return Outcome::Skipped;
        }
        decode_text_line(line, |line| self.decode_row(line))
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
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int16Type, Int32Type, TimestampMicrosecondType};

    use super::*;
    use crate::formats::test_util::text;

    const DOC_LINE: &str = r#"https 2026-11-02T08:15:02.186641Z app/shop-lb/50dc6c495c0c9188 192.0.2.10:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://shop.example.com:443/cart?id=7 HTTP/1.1" "curl/8.4.0 \"x\"" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "shop.example.com" "arn:aws:acm:eu-west-1:111122223333:certificate/1234" 1 2026-11-02T08:15:01.364000Z "waf,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd"#;

    fn decode(lines: &[&str]) -> (RecordBatch, Vec<Outcome>) {
        let mut decoder = Alb.decoder(b"");
        let outcomes = lines.iter().map(|l| decoder.decode(l.as_bytes())).collect();
        (decoder.finish_batch(), outcomes)
    }

    #[test]
    fn a_current_line_fills_every_column() {
        let (batch, outcomes) = decode(&[DOC_LINE]);
        assert_eq!(outcomes, [Outcome::Row]);
        let time = batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(time % 1_000_000, 186_641);
        assert_eq!(text(&batch, "client_ip", 0).as_deref(), Some("192.0.2.10"));
        let port = batch.column_by_name("client_port").unwrap().as_primitive::<Int32Type>();
        assert_eq!(port.value(0), 2817);
        assert_eq!(text(&batch, "request_verb", 0).as_deref(), Some("GET"));
        assert_eq!(
            text(&batch, "request_url", 0).as_deref(),
            Some("https://shop.example.com:443/cart?id=7")
        );
        assert_eq!(text(&batch, "request_proto", 0).as_deref(), Some("HTTP/1.1"));
        assert_eq!(text(&batch, "user_agent", 0).as_deref(), Some(r#"curl/8.4.0 "x""#));
        assert_eq!(text(&batch, "conn_trace_id", 0).as_deref(), Some("TID_1234abcd"));
        assert_eq!(text(&batch, "redirect_url", 0), None);
        let status = batch.column_by_name("elb_status_code").unwrap().as_primitive::<Int16Type>();
        assert_eq!(status.value(0), 200);
        assert!(batch.column_by_name("request_creation_time").unwrap().is_valid(0));
    }

    #[test]
    fn ipv6_addresses_split_with_or_without_brackets() {
        let bracketed =
            DOC_LINE.replace("192.0.2.10:2817 10.0.0.1:80", "[2001:db8::7]:443 [fd00::1]:80");
        let bare = DOC_LINE.replace("192.0.2.10:2817 10.0.0.1:80", "2001:db8::7:50599 -");
        let (batch, outcomes) = decode(&[&bracketed, &bare]);
        assert_eq!(outcomes, [Outcome::Row, Outcome::Row]);
        assert_eq!(text(&batch, "client_ip", 0).as_deref(), Some("2001:db8::7"));
        assert_eq!(text(&batch, "target_ip", 0).as_deref(), Some("fd00::1"));
        assert_eq!(text(&batch, "client_ip", 1).as_deref(), Some("2001:db8::7"));
        let port = batch.column_by_name("client_port").unwrap().as_primitive::<Int32Type>();
        assert_eq!(port.value(1), 50599);
        assert_eq!(text(&batch, "target_ip", 1), None);
    }

    #[test]
    fn minus_one_timings_are_null_and_trailing_fields_are_kept() {
        let line = r#"http 2026-11-02T08:15:02.000001Z app/shop-lb/50dc 192.0.2.10:40860 - -1 -1 -1 301 - 204 333 "GET http://shop.example.com:80/ HTTP/1.1" "Mozilla/5.0" - - - "Root=1-638f7ef8" "-" "-" 0 2026-11-02T08:15:02.000000Z "redirect" "https://shop.example.com:443/" "-" "-" "-" "-" "-" TID_1 "-" "-" "-" "new" "-""#;
        let (batch, outcomes) = decode(&[line]);
        assert_eq!(outcomes, [Outcome::Row]);
        let t = batch.column_by_name("target_processing_time").unwrap();
        assert!(t.is_null(0));
        assert!(t.as_primitive::<Float64Type>().is_null(0));
        let extra = batch.column_by_name("extra_fields").unwrap().as_map().value(0);
        assert_eq!(extra.column(0).as_string::<i32>().value(0), "field_34");
        assert_eq!(extra.column(1).as_string::<i32>().value(0), "new");
    }

    #[test]
    fn the_test_object_is_skipped_and_garbage_rejected() {
        let (batch, outcomes) = decode(&[
            "Enable AccessLog for ELB: app/shop-lb/abc123456 at 2026-11-02T08:00:00.781Z",
            &DOC_LINE.replacen("https", "invalid", 1),
            &DOC_LINE.replace("2026-11-02T08:15:02.186641Z", "yesterday"),
            "http 2026-11-02T08:15:02.186641Z app/x 1.2.3.4:5",
            "",
        ]);
        assert_eq!(outcomes[0], Outcome::Skipped);
        assert!(matches!(&outcomes[1], Outcome::Rejected(r) if r.reason.contains("request type")));
        assert!(matches!(&outcomes[2], Outcome::Rejected(r) if r.reason.contains("time")));
        assert!(matches!(&outcomes[3], Outcome::Rejected(r) if r.reason.contains("fields")));
        assert_eq!(outcomes[4], Outcome::Skipped);
        assert_eq!(batch.num_rows(), 0);
    }
}
