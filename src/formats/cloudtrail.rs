//! AWS CloudTrail log files, as described in the CloudTrail User Guide's "CloudTrail record
//! contents" (event versions 1.0 to 1.11).
//!
//! - A log file is one object `{"Records":[…]}`, often pretty-printed and sometimes hundreds
//!   of MB: it is streamed, one event at a time (see `ingest::records`). Files of bare events,
//!   one per line as CloudWatch Logs exports them, and bare JSON arrays of events read the
//!   same way.
//! - Digest files (`CloudTrail-Digest`, with `digestStartTime` and `logFiles`) are recognised
//!   and skipped: they describe log files, they are not events.
//! - `event_time` is `eventTime` (ISO-8601 UTC, when the request completed). An event without
//!   one cannot be placed in a day and is rejected; every other key is optional, because
//!   each minor event version only added keys.
//! - The identity is flattened into `user_identity_*` columns (plus `session_issuer_arn` and
//!   `session_mfa_authenticated` from its `sessionContext`) and also kept whole as JSON text
//!   in `user_identity`. `tlsDetails` becomes `tls_*` columns.
//! - The free-form parts, `requestParameters`, `responseElements`, `additionalEventData`,
//!   `serviceEventDetails`, `insightDetails`, `addendum` and `edgeDeviceDetails`, are JSON text
//!   exactly as written, for `json_get_str(request_parameters, 'bucketName')` and friends.
//! - `resources` is a list of `{arn, arn_prefix, account_id, type}`; CloudTrail spells the
//!   keys `ARN` and `ARNPrefix`, matched ignoring case.
//! - `readOnly`, `managementEvent`, `sessionCredentialFromConsole` and `mfaAuthenticated` are
//!   booleans whether CloudTrail writes them as `true` or as `"true"`.
//! - Unknown top-level keys are kept in `extra_fields` as JSON text.

use std::sync::OnceLock;

use arrow::datatypes::{DataType, SchemaRef};

use super::json::{
    JsonColumn, JsonDecoder, JsonKind, JsonTable, TimeKind, jcol, list_of, struct_of,
};
use super::{LogFormat, RecordDecoder};

fn table() -> &'static JsonTable {
    static TABLE: OnceLock<JsonTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        use JsonKind::*;
        let resources = list_of(struct_of(&[
            ("arn", DataType::Utf8),
            ("arn_prefix", DataType::Utf8),
            ("account_id", DataType::Utf8),
            ("type", DataType::Utf8),
        ]));
        let columns: Vec<JsonColumn> = vec![
            jcol("event_version", &["eventVersion"], Text),
            jcol("event_source", &["eventSource"], Text),
            jcol("event_name", &["eventName"], Text),
            jcol("aws_region", &["awsRegion"], Text),
            jcol("source_ip_address", &["sourceIPAddress"], Text),
            jcol("user_agent", &["userAgent"], Text),
            jcol("error_code", &["errorCode"], Text),
            jcol("error_message", &["errorMessage"], Text),
            jcol("request_id", &["requestID"], Text),
            jcol("event_id", &["eventID"], Text),
            jcol("event_type", &["eventType"], Text),
            jcol("api_version", &["apiVersion"], Text),
            jcol("read_only", &["readOnly"], Bool),
            jcol("recipient_account_id", &["recipientAccountId"], Text),
            jcol("event_category", &["eventCategory"], Text),
            jcol("management_event", &["managementEvent"], Bool),
            jcol("shared_event_id", &["sharedEventID"], Text),
            jcol("vpc_endpoint_id", &["vpcEndpointId"], Text),
            jcol("user_identity_type", &["userIdentity", "type"], Text),
            jcol("user_identity_arn", &["userIdentity", "arn"], Text),
            jcol("user_identity_principal_id", &["userIdentity", "principalId"], Text),
            jcol("user_identity_account_id", &["userIdentity", "accountId"], Text),
            jcol("user_identity_access_key_id", &["userIdentity", "accessKeyId"], Text),
            jcol("user_identity_user_name", &["userIdentity", "userName"], Text),
            jcol("user_identity_invoked_by", &["userIdentity", "invokedBy"], Text),
            jcol(
                "session_issuer_arn",
                &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
                Text,
            ),
            jcol(
                "session_issuer_user_name",
                &["userIdentity", "sessionContext", "sessionIssuer", "userName"],
                Text,
            ),
            jcol(
                "session_mfa_authenticated",
                &["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"],
                Bool,
            ),
            jcol("session_credential_from_console", &["sessionCredentialFromConsole"], Bool),
            jcol("tls_version", &["tlsDetails", "tlsVersion"], Text),
            jcol("tls_cipher_suite", &["tlsDetails", "cipherSuite"], Text),
            jcol(
                "tls_client_provided_host_header",
                &["tlsDetails", "clientProvidedHostHeader"],
                Text,
            ),
            jcol("resources", &["resources"], Nested(resources)),
            jcol("request_parameters", &["requestParameters"], Json),
            jcol("response_elements", &["responseElements"], Json),
            jcol("additional_event_data", &["additionalEventData"], Json),
            jcol("service_event_details", &["serviceEventDetails"], Json),
            jcol("insight_details", &["insightDetails"], Json),
            jcol("addendum", &["addendum"], Json),
            jcol("edge_device_details", &["edgeDeviceDetails"], Json),
            jcol("user_identity", &["userIdentity"], Json),
        ];
        JsonTable::new(
            columns,
            &["eventTime"],
            TimeKind::Iso8601,
            &["digestStartTime", "digestEndTime", "logFiles"],
            &[],
        )
    })
}

/// The `cloudtrail` table.
pub struct CloudTrail;

impl LogFormat for CloudTrail {
    fn table(&self) -> &'static str {
        "cloudtrail"
    }

    fn schema(&self) -> SchemaRef {
        static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
        SCHEMA.get_or_init(|| table().schema()).clone()
    }

    fn decoder(&self, _head: &[u8]) -> Box<dyn RecordDecoder> {
        Box::new(JsonDecoder::new(table(), self.schema(), Some("Records"), |batch| batch))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, RecordBatch};
    use arrow::datatypes::TimestampMicrosecondType;

    use super::*;
    use crate::formats::Outcome;
    use crate::formats::test_util::text;

    const ASSUMED_ROLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},"attributes":{"creationDate":"2026-11-02T08:00:00Z","mfaAuthenticated":"true"}}},"eventTime":"2026-11-02T08:15:02Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"northwind-media-assets","policy":"{\"Version\":\"2012-10-17\"}"},"responseElements":null,"requestID":"R1","eventID":"E1","readOnly":false,"resources":[{"ARN":"arn:aws:s3:::northwind-media-assets","accountId":"111122223333","type":"AWS::S3::Bucket"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"s3.eu-west-1.amazonaws.com"}}"#;

    fn decode(records: &[&str]) -> (RecordBatch, Vec<Outcome>) {
        let mut decoder = CloudTrail.decoder(b"{");
        let outcomes = records.iter().map(|r| decoder.decode(r.as_bytes())).collect();
        (decoder.finish_batch(), outcomes)
    }

    #[test]
    fn an_event_is_flattened_and_keeps_its_free_form_parts_as_json() {
        let (batch, outcomes) = decode(&[ASSUMED_ROLE]);
        assert_eq!(outcomes, [Outcome::Row]);
        let time = batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(time, 1_793_607_302_000_000);
        assert_eq!(text(&batch, "user_identity_type", 0).as_deref(), Some("AssumedRole"));
        assert_eq!(
            text(&batch, "session_issuer_arn", 0).as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        let mfa = batch.column_by_name("session_mfa_authenticated").unwrap().as_boolean();
        assert!(mfa.value(0), "the string \"true\" is a boolean true");
        assert!(!batch.column_by_name("read_only").unwrap().as_boolean().value(0));
        assert_eq!(
            text(&batch, "request_parameters", 0).as_deref(),
            Some(
                r#"{"bucketName":"northwind-media-assets","policy":"{\"Version\":\"2012-10-17\"}"}"#
            ),
            "kept byte for byte"
        );
        assert_eq!(text(&batch, "response_elements", 0), None, "JSON null is NULL");
        assert!(text(&batch, "user_identity", 0).unwrap().starts_with(r#"{"type":"AssumedRole""#));
        assert_eq!(text(&batch, "tls_version", 0).as_deref(), Some("TLSv1.3"));
        let resources = batch.column_by_name("resources").unwrap().as_list::<i32>().value(0);
        let arn = resources
            .as_struct()
            .column_by_name("arn")
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .to_owned();
        assert_eq!(arn, "arn:aws:s3:::northwind-media-assets");
    }

    #[test]
    fn digests_are_skipped_and_events_without_a_time_rejected() {
        let (batch, outcomes) = decode(&[
            r#"{"awsAccountId":"111122223333","digestStartTime":"2026-11-02T07:00:00Z","logFiles":[]}"#,
            r#"{"eventVersion":"1.05","userIdentity":{"type":"Root"}}"#,
            r#"{"eventTime":"2026-11-02T08:15:02Z","eventName":"ConsoleLogin","readOnly":"false"}"#,
        ]);
        assert_eq!(outcomes[0], Outcome::Skipped);
        assert!(matches!(&outcomes[1], Outcome::Rejected(r) if r.reason.contains("eventTime")));
        assert_eq!(outcomes[2], Outcome::Row);
        assert_eq!(batch.num_rows(), 1);
        assert!(!batch.column_by_name("read_only").unwrap().as_boolean().value(0));
    }
}
