//! S3 server access logs, as described in the S3 User Guide's "Amazon S3 server access log
//! format" (27 fields in the current version).
//!
//! - Fields are separated by single spaces. The time is one `[06/Feb/2019:00:00:38 +0000]`
//!   token and is converted to UTC. A field starting with `"` runs to the next `"` not escaped
//!   by a backslash, which must end the field; inside it `\"` is a quote and `\\` a
//!   backslash. An unescaped quote inside a field therefore rejects the line rather than
//!   silently shifting every later field. A bare `-` (quoted or not) is NULL, so an unquoted
//!   `-` where AWS usually writes a quoted field is fine.
//! - Lines from every era are accepted: 18 fields (2014) up to the current 27; missing
//!   trailing fields are NULL, and fields past the 27th are kept in `extra_fields` under
//!   `field_<n>`, their 1-based position.
//! - A Host Id that contains a space (seen in real logs) is detected by the field after it:
//!   when that is not a signature version but the next one is, the two tokens are one Host Id.
//! - `key` is stored percent-decoded once; `request_uri` keeps the request line as sent.
//! - A line with fewer than 18 fields, an unterminated quote, an unparsable time or a
//!   non-number in a numeric field is rejected as a whole.

use std::sync::OnceLock;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::columns::{Column, Kind, RowBuilder, col};
use super::text::{Token, checked_days, parse_hms, parse_int, to_micros, tokenize};
use super::{Framing, LogFormat, Outcome, RecordDecoder, Reject, decode_text_line, schema_of};

/// Stored columns, in documented field order without the time (field 3).
static COLUMNS: [Column; 26] = [
    col("bucket_owner", Kind::Text),
    col("bucket", Kind::Text),
    col("remote_ip", Kind::Text),
    col("requester", Kind::Text),
    col("request_id", Kind::Text),
    col("operation", Kind::Text),
    col("key", Kind::UrlEncoded),
    col("request_uri", Kind::Text),
    col("http_status", Kind::Int16),
    col("error_code", Kind::Text),
    col("bytes_sent", Kind::Int64),
    col("object_size", Kind::Int64),
    col("total_time", Kind::Int32),
    col("turn_around_time", Kind::Int32),
    col("referer", Kind::Text),
    col("user_agent", Kind::Text),
    col("version_id", Kind::Text),
    col("host_id", Kind::Text),
    col("signature_version", Kind::Text),
    col("cipher_suite", Kind::Text),
    col("authentication_type", Kind::Text),
    col("host_header", Kind::Text),
    col("tls_version", Kind::Text),
    col("access_point_arn", Kind::Text),
    col("acl_required", Kind::Text),
    col("source_region", Kind::Text),
];

/// Fewest fields a record has had in any documented version (the 2014 layout).
const MIN_FIELDS: usize = 18;
/// 0-based position of the time among the fields.
const TIME_FIELD: usize = 2;
/// 0-based position of the Host Id among the fields.
const HOST_ID_FIELD: usize = 18;

/// The `s3_access` table.
pub struct S3Access;

impl LogFormat for S3Access {
    fn table(&self) -> &'static str {
        "s3_access"
    }

    fn schema(&self) -> SchemaRef {
        static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
        SCHEMA.get_or_init(|| schema_of(&COLUMNS)).clone()
    }

    fn decoder(&self, _head: &[u8]) -> Box<dyn RecordDecoder> {
        Box::new(S3AccessDecoder {
            rows: RowBuilder::new(self.schema(), &COLUMNS),
            tokens: Vec::with_capacity(32),
        })
    }
}

/// Parses `06/Feb/2019:00:00:38 +0000` into UTC microseconds.
fn parse_time(t: &[u8]) -> Option<i64> {
    if t.len() != 26 || t[2] != b'/' || t[6] != b'/' || t[11] != b':' || t[20] != b' ' {
        return None;
    }
    let month = match &t[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let day = u32::try_from(parse_int(&t[0..2])?).ok()?;
    let year = u32::try_from(parse_int(&t[7..11])?).ok()?;
    let days = checked_days(year, month, day)?;
    let seconds = parse_hms(&t[12..20])?;
    let sign = match t[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (parse_int(&t[22..24])?, parse_int(&t[24..26])?);
    if oh > 23 || om > 59 || oh < 0 || om < 0 {
        return None;
    }
    // Local time minus its offset is UTC.
    Some(to_micros(days, seconds - sign * (oh * 3600 + om * 60)))
}

fn is_signature_version(s: &str) -> bool {
    matches!(s, "SigV2" | "SigV4" | "-")
}

struct S3AccessDecoder {
    rows: RowBuilder,
    tokens: Vec<Token>,
}

impl S3AccessDecoder {
    fn decode_row(&mut self, line: &str) -> Result<(), Reject> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        tokenize(line, &mut self.tokens, true)?;
        if self.tokens.len() < MIN_FIELDS {
            return Err(Reject::new(format!(
                "{} fields, an S3 access log record has at least {MIN_FIELDS}",
                self.tokens.len()
            )));
        }
        let tokens = &mut self.tokens;
        let text = |t: &Token| &line[t.start..t.end];
        if tokens.len() > HOST_ID_FIELD + 2
            && !is_signature_version(text(&tokens[HOST_ID_FIELD + 1]))
            && is_signature_version(text(&tokens[HOST_ID_FIELD + 2]))
        {
            tokens[HOST_ID_FIELD].end = tokens[HOST_ID_FIELD + 1].end;
            tokens.remove(HOST_ID_FIELD + 1);
        }

        let time = tokens[TIME_FIELD];
        let event_time = parse_time(text(&time).as_bytes()).ok_or_else(|| {
            let shown: String = text(&time).chars().take(32).collect();
            Reject::new(format!("time is not valid: {shown:?}"))
        })?;

        self.rows.begin();
        for (i, token) in tokens.iter().enumerate() {
            let column = match i {
                TIME_FIELD => continue,
                i if i < TIME_FIELD => i,
                i => i - 1,
            };
            if column >= COLUMNS.len() {
                self.rows.stage_extra(format!("field_{}", i + 1), token.start, token.end);
            } else if token.quoted
                && COLUMNS[column].kind == Kind::Text
                && !matches!(text(token), "" | "-")
            {
                self.rows.stage_escaped(column, token.start, token.end);
            } else {
                self.rows.stage(column, line, token.start, token.end)?;
            }
        }
        self.rows.commit(line, event_time);
        Ok(())
    }
}

impl RecordDecoder for S3AccessDecoder {
    fn framing(&self) -> Framing {
        Framing::Lines
    }

    fn decode(&mut self, line: &[u8]) -> Outcome {
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
    use arrow::array::{Array, AsArray, MapArray};
    use arrow::datatypes::{Int16Type, Int64Type, TimestampMicrosecondType};

    use super::*;
    use crate::formats::test_util::text;
    use crate::formats::text::days_from_civil;

    const OWNER: &str = "5f1b9c0e8a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615243a";

    fn line(fields: &[&str]) -> String {
        fields.join(" ")
    }

    fn current(ua: &str, host_id: &str) -> String {
        line(&[
            OWNER,
            "media-bucket",
            "[02/Nov/2026:13:05:09 +0000]",
            "198.51.100.23",
            OWNER,
            "8F2C61D0A9B3E4F5",
            "REST.GET.OBJECT",
            "photos/caf%C3%A9.jpg",
            "\"GET /media-bucket/photos/caf%C3%A9.jpg HTTP/1.1\"",
            "200",
            "-",
            "48211",
            "48211",
            "37",
            "12",
            "\"https://www.example.test/\"",
            ua,
            "-",
            host_id,
            "SigV4",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "AuthHeader",
            "media-bucket.s3.eu-west-1.amazonaws.com",
            "TLSv1.3",
            "-",
            "-",
            "eu-west-1",
        ])
    }

    fn decode_all(lines: &[&str]) -> (RecordBatch, Vec<Outcome>) {
        let mut decoder = S3Access.decoder(b"");
        let outcomes = lines.iter().map(|l| decoder.decode(l.as_bytes())).collect();
        (decoder.finish_batch(), outcomes)
    }

    #[test]
    fn current_27_field_line_is_typed() {
        let l = current("\"aws-cli/2.15.0\"", "Zm9vYmFy+aGVsbG8=");
        let (batch, outcomes) = decode_all(&[&l]);
        assert_eq!(outcomes, vec![Outcome::Row]);
        let time = batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(time, to_micros(days_from_civil(2026, 11, 2), 13 * 3600 + 5 * 60 + 9));
        assert_eq!(text(&batch, "key", 0).as_deref(), Some("photos/café.jpg"));
        assert_eq!(
            text(&batch, "request_uri", 0).as_deref(),
            Some("GET /media-bucket/photos/caf%C3%A9.jpg HTTP/1.1")
        );
        assert_eq!(
            batch.column_by_name("http_status").unwrap().as_primitive::<Int16Type>().value(0),
            200
        );
        assert_eq!(
            batch.column_by_name("bytes_sent").unwrap().as_primitive::<Int64Type>().value(0),
            48211
        );
        assert_eq!(text(&batch, "error_code", 0), None);
        assert_eq!(text(&batch, "user_agent", 0).as_deref(), Some("aws-cli/2.15.0"));
        assert_eq!(text(&batch, "source_region", 0).as_deref(), Some("eu-west-1"));
        assert_eq!(text(&batch, "acl_required", 0), None);
    }

    #[test]
    fn escaped_quotes_inside_a_quoted_field_are_unescaped() {
        let l = current(r#""curl/8.4.0 \"custom\" agent""#, "aGk=");
        let (batch, outcomes) = decode_all(&[&l]);
        assert_eq!(outcomes, vec![Outcome::Row]);
        assert_eq!(text(&batch, "user_agent", 0).as_deref(), Some(r#"curl/8.4.0 "custom" agent"#));
        assert_eq!(text(&batch, "host_id", 0).as_deref(), Some("aGk="));
    }

    #[test]
    fn host_id_with_a_space_stays_one_field() {
        let l = current("\"ua\"", "AbCd+EfGh= IjKlMnOp");
        let (batch, outcomes) = decode_all(&[&l]);
        assert_eq!(outcomes, vec![Outcome::Row]);
        assert_eq!(text(&batch, "host_id", 0).as_deref(), Some("AbCd+EfGh= IjKlMnOp"));
        assert_eq!(text(&batch, "signature_version", 0).as_deref(), Some("SigV4"));
        assert_eq!(text(&batch, "source_region", 0).as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn unquoted_dash_where_a_quote_is_expected_is_null() {
        let l = current("-", "aGk=")
            .replace("\"GET /media-bucket/photos/caf%C3%A9.jpg HTTP/1.1\"", "-");
        let l = l.replace("\"https://www.example.test/\"", "\"-\"");
        let (batch, outcomes) = decode_all(&[&l]);
        assert_eq!(outcomes, vec![Outcome::Row]);
        assert_eq!(text(&batch, "request_uri", 0), None);
        assert_eq!(text(&batch, "referer", 0), None);
        assert_eq!(text(&batch, "user_agent", 0), None);
        assert_eq!(text(&batch, "host_id", 0).as_deref(), Some("aGk="));
    }

    #[test]
    fn old_18_field_lines_and_unknown_trailing_fields_are_tolerated() {
        let full = current("\"ua\"", "aGk=");
        let fields: Vec<&str> = full.split(' ').collect();
        // The time is two space-separated words and the request URI three, so 18 fields
        // are 21 words.
        let old = fields[..21].join(" ");
        let newer = format!("{full} NewField another");
        let (batch, outcomes) = decode_all(&[&old, &newer]);
        assert_eq!(outcomes, vec![Outcome::Row, Outcome::Row]);
        assert_eq!(text(&batch, "version_id", 0), None);
        assert_eq!(text(&batch, "host_id", 0), None);
        let extra: &MapArray = batch.column_by_name("extra_fields").unwrap().as_map();
        assert!(extra.is_null(0));
        let entries = extra.value(1);
        let keys = entries.column(0).as_string::<i32>();
        assert_eq!((keys.value(0), keys.value(1)), ("field_28", "field_29"));
    }

    #[test]
    fn time_offset_is_converted_to_utc() {
        let l = current("\"ua\"", "aGk=")
            .replace("02/Nov/2026:13:05:09 +0000", "03/Nov/2026:00:30:00 +0100");
        let (batch, _) = decode_all(&[&l]);
        let time = batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(time, to_micros(days_from_civil(2026, 11, 2), 23 * 3600 + 30 * 60));
    }

    #[test]
    fn broken_lines_are_rejected() {
        let good = current("\"ua\"", "aGk=");
        let short: String = good.split(' ').take(12).collect::<Vec<_>>().join(" ");
        let open_quote = good.replace("\"ua\"", "\"ua");
        let bad_month = good.replace("Nov", "Noo");
        let bad_status = good.replace(" 200 ", " abc ");
        let (batch, outcomes) = decode_all(&[&short, &open_quote, &bad_month, &bad_status, &good]);
        for outcome in &outcomes[..4] {
            assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
        }
        assert_eq!(outcomes[4], Outcome::Row);
        assert_eq!(batch.num_rows(), 1);
    }
}
