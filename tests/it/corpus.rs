//! The third-party samples in `../shared/corpus` (real AWS logs written by others), checked
//! against the record counts their SOURCES.md gives.

use std::fs;
use std::path::PathBuf;

use crate::support::*;

fn corpus(format: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/corpus").join(format);
    if dir.is_dir() {
        return Some(dir);
    }
    // CI always has the corpus beside the clone; elsewhere it may be missing.
    assert!(std::env::var_os("CI").is_none(), "corpus missing at {}", dir.display());
    eprintln!("skipping: no corpus at {}", dir.display());
    None
}

/// Copies the corpus files whose names pass `keep` into a fresh source folder.
fn source_of(format: &str, keep: impl Fn(&str) -> bool) -> Option<tempfile::TempDir> {
    let from = corpus(format)?;
    let to = scratch();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep(&name) {
            fs::copy(entry.path(), to.path().join(&name)).unwrap();
        }
    }
    Some(to)
}

#[test]
fn corpus_cloudfront_legacy_logs_parse_without_rejects() {
    // The v2 JSON samples are not the legacy format.
    let Some(source) = source_of("cloudfront", |n| n.ends_with(".log") || n.ends_with(".log.gz"))
    else {
        return;
    };
    let warehouse = scratch();
    let run = partition("cloudfront", source.path(), warehouse.path()).ok();
    let (rows, rejects, _, _) = summary_counts(&run.stderr);
    // 6 + 2 + 2 + 2 + 3 + 2 records, per SOURCES.md.
    assert_eq!((rows, rejects), (17, 0), "{}", run.stderr);
    let w = warehouse.path();
    // The 24-field 2016 line has no c-port; the 33-field lines do.
    assert_eq!(scalar(w, "SELECT count(*) FROM cloudfront WHERE c_port IS NULL").as_u64(), Some(3));
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudfront WHERE strpos(cs_user_agent, '%20') > 0")
            .as_u64(),
        Some(6),
        "the six double-encoded agents keep one level of encoding"
    );
    assert_eq!(
        scalar(w, "SELECT x_forwarded_for FROM cloudfront WHERE x_edge_request_id LIKE 'vKIiZi4%'"),
        serde_json::json!("10.3.200.121,\\x2010.56.14.213")
    );
}

#[test]
fn corpus_s3_access_logs_parse_with_only_the_negative_sample_rejected() {
    let Some(source) = source_of("s3access", |_| true) else {
        return;
    };
    let warehouse = scratch();
    let run = partition("s3", source.path(), warehouse.path()).ok();
    let (rows, rejects, _, _) = summary_counts(&run.stderr);
    assert_eq!((rows, rejects), (20, 1), "{}", run.stderr);
    let rejected = rejected_lines(warehouse.path(), "s3_access");
    assert_eq!(rejected, vec![("otel-contrib_NEG_too_few_values.log".to_owned(), 1)]);
    let w = warehouse.path();
    assert_eq!(
        scalar(w, "SELECT extra_fields['field_28'] FROM s3_access WHERE extra_fields IS NOT NULL"),
        serde_json::json!("ExtraUnknownField")
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM s3_access WHERE source_region = 'us-east-1'").as_u64(),
        Some(1)
    );
}

/// Decompresses a corpus file if it is gzip.
fn corpus_text(path: &std::path::Path) -> String {
    use std::io::Read;
    let bytes = fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
        text
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// The JSON values of a text, one after another (serde_json's own streaming reader), or
/// `None` when it is not valid JSON.
fn json_values(text: &str) -> Option<Vec<serde_json::Value>> {
    serde_json::Deserializer::from_str(text).into_iter().collect::<Result<Vec<_>, _>>().ok()
}

#[test]
fn corpus_waf_logs_parse_without_rejects() {
    let Some(source) = source_of("waf", |_| true) else {
        return;
    };
    // serde_json's count of the objects in the samples, independent of logq's reader.
    let (mut objects, mut with_ja4) = (0, 0);
    for entry in fs::read_dir(source.path()).unwrap() {
        for value in json_values(&corpus_text(&entry.unwrap().path())).unwrap() {
            objects += 1;
            with_ja4 += u64::from(value.get("ja4Fingerprint").is_some());
        }
    }
    assert_eq!(objects, 11, "6 + 2 + 1 + 2 records, per SOURCES.md");
    let warehouse = scratch();
    let run = partition("waf", source.path(), warehouse.path()).ok();
    assert_eq!(summary_counts(&run.stderr), (objects, 0, 0, objects), "{}", run.stderr);
    let w = warehouse.path();
    assert_eq!(
        scalar(w, "SELECT count(*) FROM waf WHERE ja4_fingerprint IS NOT NULL").as_u64(),
        Some(with_ja4)
    );
    assert_eq!(
        scalar(w, "SELECT sum(rate_based_rule_list[1]['evaluation_window_sec']) FROM waf"),
        serde_json::json!(420),
        "300 as a number and \"120\" as a string"
    );
}

#[test]
fn corpus_cloudtrail_logs_account_for_every_record() {
    let Some(source) = source_of("cloudtrail", |_| true) else {
        return;
    };
    // What serde_json makes of each sample: events with an eventTime are rows, digests are
    // skipped, events without a time and files that are not JSON are rejected.
    let (mut rows, mut rejects, mut skipped) = (0u64, 0u64, 0u64);
    for entry in fs::read_dir(source.path()).unwrap() {
        let Some(values) = json_values(&corpus_text(&entry.unwrap().path())) else {
            rejects += 1;
            continue;
        };
        for value in values {
            let events = match value.get("Records") {
                Some(serde_json::Value::Array(events)) => events.clone(),
                _ => vec![value],
            };
            for event in events {
                if event.get("digestStartTime").is_some() || event.get("logFiles").is_some() {
                    skipped += 1;
                } else if event.get("eventTime").and_then(|t| t.as_str()).is_some() {
                    rows += 1;
                } else {
                    rejects += 1;
                }
            }
        }
    }
    let warehouse = scratch();
    let run = partition("cloudtrail", source.path(), warehouse.path()).ok();
    let counts = summary_counts(&run.stderr);
    assert_eq!(counts, (rows, rejects, skipped, rows + rejects + skipped), "{}", run.stderr);
    let rejected = rejected_lines(warehouse.path(), "cloudtrail");
    assert!(
        rejected.iter().any(|(file, _)| file.contains("MALFORMED")),
        "the sample with a raw newline inside a string is rejected: {rejected:?}"
    );
    let w = warehouse.path();
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE event_name = 'ConsoleLogin'").as_u64(),
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE event_source = 'signin.amazonaws.com' AND event_name = 'ConsoleLogin'").as_u64(),
    );
    assert!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE user_identity_type = 'Root'")
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn corpus_alb_logs_parse_with_only_the_negative_sample_rejected() {
    let Some(source) = source_of("alb", |_| true) else {
        return;
    };
    let warehouse = scratch();
    let run = partition("alb", source.path(), warehouse.path()).ok();
    let (rows, rejects, skipped, records) = summary_counts(&run.stderr);
    // 7 + 2 + 2 + 1 + 2 + 1 + 15 lines, per SOURCES.md.
    assert_eq!(records, 30, "{}", run.stderr);
    assert_eq!((rejects, skipped), (1, 1), "the NEG sample and the test object: {}", run.stderr);
    assert_eq!(rows, 28);
    let rejected = rejected_lines(warehouse.path(), "alb");
    assert_eq!(rejected, vec![("otel-contrib_NEG_alb_al_invalid_syntax.log".to_owned(), 1)]);
    let w = warehouse.path();
    assert_eq!(
        scalar(w, "SELECT client_ip FROM alb WHERE client_ip LIKE 'fe80%'"),
        serde_json::json!("fe80::202:b3ff:fe1e:8329")
    );
}

#[test]
fn corpus_cloudfront_v2_json_parses() {
    let Some(source) = source_of("cloudfront", |n| n.contains("-v2_")) else {
        return;
    };
    let warehouse = scratch();
    let run = partition("cloudfront", source.path(), warehouse.path()).ok();
    assert_eq!(summary_counts(&run.stderr), (3, 0, 0, 3), "{}", run.stderr);
    let w = warehouse.path();
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudfront WHERE extra_fields['origin-fbl'] IS NOT NULL")
            .as_u64(),
        Some(3)
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudfront WHERE cs_cookie IS NOT NULL").as_u64(),
        Some(3)
    );
}
