//! AWS WAF (v2) logs, as described in the WAF Developer Guide's "Log fields for web ACL
//! traffic".
//!
//! - One JSON object per web request. Files hold one object per line, or several objects run
//!   together on one line as Firehose writes them; both split the same way (see
//!   `ingest::records`).
//! - `event_time` is the millisecond `timestamp`. A record without a usable timestamp is
//!   rejected; every other key is optional, because WAF has added keys over the years without
//!   changing `formatVersion` (captcha and challenge responses, labels, JA3, then JA4 with
//!   `httpRequest.fragment`, `scheme` and `host`, body sizes, ASNs).
//! - `httpRequest` is flattened into top-level columns (`client_ip`, `country`, `uri`, `args`,
//!   `http_method`, `http_version`, `request_id`, `host`, `scheme`, `fragment`, `headers`).
//!   Records older than `httpRequest.host` get `host` from their `Host` header.
//! - The rule lists keep their nesting as typed Arrow lists of structs, with WAF's camelCase
//!   keys as snake_case fields. Numbers that WAF writes sometimes as numbers and sometimes
//!   as strings (`evaluationWindowSec` is `300` in one record and `"120"` in another) parse
//!   either way; a value that is not a number (`limitValue` can be `INVALID`) is NULL in a
//!   number column, so `limit_value` is text.
//! - `labels` is the list of label names. `oversizeFields` is kept as JSON text.
//! - Unknown top-level keys are kept in `extra_fields` as JSON text.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, SchemaRef};

use super::json::{
    JsonColumn, JsonDecoder, JsonKind, JsonTable, TimeKind, jcol, list_of, struct_of,
};
use super::{LogFormat, RecordDecoder};

fn match_details() -> DataType {
    list_of(struct_of(&[
        ("condition_type", DataType::Utf8),
        ("sensitivity_level", DataType::Utf8),
        ("location", DataType::Utf8),
        ("matched_data", list_of(DataType::Utf8)),
        ("matched_field_name", DataType::Utf8),
    ]))
}

fn solve_response() -> DataType {
    struct_of(&[
        ("response_code", DataType::Int32),
        ("solve_timestamp", DataType::Int64),
        ("failure_reason", DataType::Utf8),
    ])
}

fn name_values() -> DataType {
    list_of(struct_of(&[("name", DataType::Utf8), ("value", DataType::Utf8)]))
}

fn non_terminating_rules() -> DataType {
    list_of(struct_of(&[
        ("rule_id", DataType::Utf8),
        ("action", DataType::Utf8),
        ("overridden_action", DataType::Utf8),
        ("rule_match_details", match_details()),
        ("captcha_response", solve_response()),
        ("challenge_response", solve_response()),
    ]))
}

fn rule_groups() -> DataType {
    list_of(struct_of(&[
        ("rule_group_id", DataType::Utf8),
        (
            "terminating_rule",
            struct_of(&[
                ("rule_id", DataType::Utf8),
                ("action", DataType::Utf8),
                ("overridden_action", DataType::Utf8),
                ("rule_match_details", match_details()),
            ]),
        ),
        ("non_terminating_matching_rules", non_terminating_rules()),
        (
            "excluded_rules",
            list_of(struct_of(&[("exclusion_type", DataType::Utf8), ("rule_id", DataType::Utf8)])),
        ),
    ]))
}

fn rate_based_rules() -> DataType {
    list_of(struct_of(&[
        ("rate_based_rule_id", DataType::Utf8),
        ("rate_based_rule_name", DataType::Utf8),
        ("limit_key", DataType::Utf8),
        ("max_rate_allowed", DataType::Int64),
        ("evaluation_window_sec", DataType::Int64),
        ("limit_value", DataType::Utf8),
        (
            "custom_values",
            list_of(struct_of(&[
                ("key", DataType::Utf8),
                ("name", DataType::Utf8),
                ("value", DataType::Utf8),
            ])),
        ),
    ]))
}

fn table() -> &'static JsonTable {
    static TABLE: OnceLock<JsonTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        use JsonKind::*;
        let columns: Vec<JsonColumn> = vec![
            jcol("action", &["action"], Text),
            jcol("terminating_rule_id", &["terminatingRuleId"], Text),
            jcol("terminating_rule_type", &["terminatingRuleType"], Text),
            jcol("webacl_id", &["webaclId"], Text),
            jcol("http_source_name", &["httpSourceName"], Text),
            jcol("http_source_id", &["httpSourceId"], Text),
            jcol("client_ip", &["httpRequest", "clientIp"], Text),
            jcol("country", &["httpRequest", "country"], Text),
            jcol("uri", &["httpRequest", "uri"], Text),
            jcol("args", &["httpRequest", "args"], Text),
            jcol("http_method", &["httpRequest", "httpMethod"], Text),
            jcol("http_version", &["httpRequest", "httpVersion"], Text),
            jcol("request_id", &["httpRequest", "requestId"], Text),
            jcol("host", &["httpRequest", "host"], Text),
            jcol("scheme", &["httpRequest", "scheme"], Text),
            jcol("fragment", &["httpRequest", "fragment"], Text),
            jcol("ja3_fingerprint", &["ja3Fingerprint"], Text),
            jcol("ja4_fingerprint", &["ja4Fingerprint"], Text),
            jcol("response_code_sent", &["responseCodeSent"], Int32),
            jcol("labels", &["labels"], Names),
            jcol("headers", &["httpRequest", "headers"], Nested(name_values())),
            jcol(
                "terminating_rule_match_details",
                &["terminatingRuleMatchDetails"],
                Nested(match_details()),
            ),
            jcol("rule_group_list", &["ruleGroupList"], Nested(rule_groups())),
            jcol("rate_based_rule_list", &["rateBasedRuleList"], Nested(rate_based_rules())),
            jcol(
                "non_terminating_matching_rules",
                &["nonTerminatingMatchingRules"],
                Nested(non_terminating_rules()),
            ),
            jcol("request_headers_inserted", &["requestHeadersInserted"], Nested(name_values())),
            jcol("captcha_response", &["captchaResponse"], Nested(solve_response())),
            jcol("challenge_response", &["challengeResponse"], Nested(solve_response())),
            jcol("oversize_fields", &["oversizeFields"], Json),
            jcol("request_body_size", &["requestBodySize"], Int64),
            jcol("request_body_size_inspected_by_waf", &["requestBodySizeInspectedByWAF"], Int64),
            jcol("client_asn", &["clientAsn"], Int64),
            jcol("forwarded_asn", &["forwardedAsn"], Int64),
            jcol("format_version", &["formatVersion"], Int32),
        ];
        JsonTable::new(columns, &["timestamp"], TimeKind::EpochMillis, &[], &[])
    })
}

/// The `waf` table.
pub struct Waf;

impl LogFormat for Waf {
    fn table(&self) -> &'static str {
        "waf"
    }

    fn schema(&self) -> SchemaRef {
        static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
        SCHEMA.get_or_init(|| table().schema()).clone()
    }

    fn decoder(&self, _head: &[u8]) -> Box<dyn RecordDecoder> {
        Box::new(JsonDecoder::new(table(), self.schema(), None, host_from_headers))
    }
}

/// Fills a NULL `host` from the request's `Host` header.
fn host_from_headers(batch: RecordBatch) -> RecordBatch {
    let schema = batch.schema();
    let (Ok(host_at), Ok(headers_at)) = (schema.index_of("host"), schema.index_of("headers"))
    else {
        return batch;
    };
    let host = batch.column(host_at).as_string::<i32>();
    if host.null_count() == 0 {
        return batch;
    }
    let headers = batch.column(headers_at).as_list::<i32>();
    let filled: StringArray = (0..batch.num_rows())
        .map(|row| {
            if host.is_valid(row) {
                return Some(host.value(row).to_owned());
            }
            if headers.is_null(row) {
                return None;
            }
            let list = headers.value(row);
            let pairs = list.as_struct();
            let names = pairs.column(0).as_string::<i32>();
            let values = pairs.column(1).as_string::<i32>();
            (0..pairs.len())
                .find(|&i| names.is_valid(i) && names.value(i).eq_ignore_ascii_case("host"))
                .filter(|&i| values.is_valid(i))
                .map(|i| values.value(i).to_owned())
        })
        .collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[host_at] = Arc::new(filled);
    RecordBatch::try_new(schema, columns).expect("only the host values changed")
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::{Int32Type, Int64Type, TimestampMicrosecondType};

    use super::*;
    use crate::formats::{Outcome, Reject};

    const BLOCKED: &str = r#"{"timestamp":1762000000123,"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:111122223333:global/webacl/site/abc","terminatingRuleId":"SQLi","terminatingRuleType":"REGULAR","action":"BLOCK","terminatingRuleMatchDetails":[{"conditionType":"SQL_INJECTION","sensitivityLevel":"HIGH","location":"ARGS","matchedData":["1","OR","1"]}],"httpSourceName":"CF","httpSourceId":"E2TQ8ZVN4KJ1WF","ruleGroupList":[],"rateBasedRuleList":[{"rateBasedRuleId":"r1","limitKey":"IP","maxRateAllowed":100,"evaluationWindowSec":"120","limitValue":"INVALID"}],"nonTerminatingMatchingRules":[],"requestHeadersInserted":null,"responseCodeSent":403,"httpRequest":{"clientIp":"198.51.100.7","country":"NL","headers":[{"name":"Host","value":"www.example.com"},{"name":"User-Agent","value":"sqlmap/1.8"}],"uri":"/search","args":"q=1%20OR%201","httpVersion":"HTTP/1.1","httpMethod":"GET","requestId":"req-1"},"labels":[{"name":"awswaf:managed:aws:sql-database:SQLi_QueryArguments"}],"newKey":{"a":1}}"#;

    fn decode(records: &[&str]) -> (RecordBatch, Vec<Outcome>) {
        let mut decoder = Waf.decoder(b"{");
        let outcomes = records.iter().map(|r| decoder.decode(r.as_bytes())).collect();
        (decoder.finish_batch(), outcomes)
    }

    #[test]
    fn a_blocked_request_fills_flat_and_nested_columns() {
        let (batch, outcomes) = decode(&[BLOCKED]);
        assert_eq!(outcomes, [Outcome::Row]);
        let time = batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(time, 1_762_000_000_123_000);
        let text =
            |name: &str| batch.column_by_name(name).unwrap().as_string::<i32>().value(0).to_owned();
        assert_eq!(text("action"), "BLOCK");
        assert_eq!(text("client_ip"), "198.51.100.7");
        assert_eq!(text("host"), "www.example.com", "taken from the Host header");
        let code = batch.column_by_name("response_code_sent").unwrap();
        assert_eq!(code.as_primitive::<Int32Type>().value(0), 403);
        let labels = batch.column_by_name("labels").unwrap().as_list::<i32>().value(0);
        assert_eq!(
            labels.as_string::<i32>().value(0),
            "awswaf:managed:aws:sql-database:SQLi_QueryArguments"
        );
        let rates = batch.column_by_name("rate_based_rule_list").unwrap().as_list::<i32>().value(0);
        let rate = rates.as_struct();
        let window = rate.column_by_name("evaluation_window_sec").unwrap();
        assert_eq!(window.as_primitive::<Int64Type>().value(0), 120, "a string number parses");
        let limit = rate.column_by_name("limit_value").unwrap().as_string::<i32>();
        assert_eq!(limit.value(0), "INVALID");
        let extra = batch.column_by_name("extra_fields").unwrap().as_map();
        assert_eq!(extra.value(0).column(0).as_string::<i32>().value(0), "newKey");
        assert_eq!(extra.value(0).column(1).as_string::<i32>().value(0), r#"{"a":1}"#);
    }

    #[test]
    fn a_record_without_a_timestamp_or_with_broken_json_is_rejected_whole() {
        let (batch, outcomes) = decode(&[
            r#"{"action":"ALLOW","httpRequest":{"clientIp":"192.0.2.1"}}"#,
            r#"{"timestamp":1762000000000,"action":"ALLOW","labels":[{"name":"a"}],"httpRequest":{"clientIp":"#,
            r#"{"timestamp":"soon","action":"ALLOW"}"#,
            "[1,2]",
            BLOCKED,
        ]);
        assert!(
            matches!(&outcomes[0], Outcome::Rejected(Reject { reason }) if reason.contains("timestamp"))
        );
        assert!(
            matches!(&outcomes[1], Outcome::Rejected(Reject { reason }) if reason.contains("invalid JSON"))
        );
        assert!(matches!(&outcomes[2], Outcome::Rejected(_)));
        assert!(matches!(&outcomes[3], Outcome::Rejected(_)));
        assert_eq!(outcomes[4], Outcome::Row);
        assert_eq!(batch.num_rows(), 1);
        // The half-decoded second record left nothing behind.
        let labels = batch.column_by_name("labels").unwrap().as_list::<i32>();
        assert_eq!(labels.values().len(), 1);
    }

    #[test]
    fn a_string_timestamp_parses_like_a_number() {
        let (batch, outcomes) = decode(&[r#"{"timestamp":"1762000000000","action":"ALLOW"}"#]);
        assert_eq!(outcomes, [Outcome::Row]);
        assert!(batch.column_by_name("client_ip").unwrap().is_null(0));
    }
}
