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
