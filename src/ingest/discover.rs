//! Finding the raw files of a source, laid out flat or in date folders as AWS writes them.
//! Hidden files and folders (`.name`) are skipped.
//!
//! Every AWS log layout writes a date into each key: CloudFront `<distribution>.YYYY-MM-DD-HH.…`,
//! S3 access logs `YYYY-MM-DD-HH-MM-SS-…` or `…/YYYY/MM/DD/…`, date folders `YYYY/MM/DD/` for
//! CloudTrail, WAF, ALB and CloudFront v2, Hive folders `year=YYYY/month=MM/day=DD/` or
//! `dt=YYYY-MM-DD/`. S3 lists keys in order, so the keys that share the text before their
//! date (a distribution, a region's folder) come sorted by date. A listing bounded to a date
//! range therefore reads keys in order and, on a key dated before the range, skips to the
//! range's first day under the same stem, and on one dated after it, skips past the stem:
//! each skip is one request that starts after a chosen key. A bucket of years of logs costs
//! a few requests per stem and day, not a listing of every object.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::IngestError;
use crate::storage::{Bucket, ScanStep};

/// Bounds on the dates keys carry, inclusive; keys without a date are always listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl DateRange {
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    fn admits(&self, date: NaiveDate) -> bool {
        self.since.is_none_or(|since| date >= since) && self.until.is_none_or(|until| date <= until)
    }
}

/// The first date written in a key: where it is and how it is spelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDate {
    /// Byte offset of the date's text in the key.
    pub start: usize,
    pub date: NaiveDate,
    /// The date's text, digits and all (`2026/11/01`, `year=2026/month=11/day=01`).
    text: String,
}

impl KeyDate {
    /// Finds the earliest date in `key` written as AWS log layouts write one.
    pub fn find(key: &str) -> Option<KeyDate> {
        let bytes = key.as_bytes();
        (0..bytes.len()).find_map(|i| Self::at(key, i))
    }

    fn at(key: &str, i: usize) -> Option<KeyDate> {
        let bytes = key.as_bytes();
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let segment_start = before.is_none_or(|b| b == b'/');
        let rest = &bytes[i..];
        let digits = |text: &[u8], shape: &[u8]| {
            text.len() >= shape.len()
                && shape
                    .iter()
                    .zip(text)
                    .all(|(s, t)| if *s == b'#' { t.is_ascii_digit() } else { s == t })
        };
        // `YYYY/MM/DD` as folders, or `YYYY-MM-DD` in a name (after a separator).
        let folders = segment_start
            && digits(rest, b"####/##/##")
            && matches!(rest.get(10), None | Some(b'/'));
        let dashed = digits(rest, b"####-##-##")
            && before.is_none_or(|b| matches!(b, b'/' | b'.' | b'-' | b'_' | b'='))
            && !rest.get(10).is_some_and(u8::is_ascii_digit);
        let len = if folders || dashed {
            10
        } else if before == Some(b'_') && digits(rest, b"########T") {
            8
        } else if segment_start {
            hive_length(rest)?
        } else {
            return None;
        };
        let text = &key[i..i + len];
        let found: Vec<u32> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty())
            .flat_map(|part| {
                if part.len() == 8 { vec![&part[..4], &part[4..6], &part[6..]] } else { vec![part] }
            })
            .filter_map(|part| part.parse().ok())
            .collect();
        let [year, month, day] = found[..] else { return None };
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        if !(1990..=2200).contains(&year) {
            return None;
        }
        Some(KeyDate { start: i, date, text: text.to_owned() })
    }

    /// The text of `key` before its date, followed by `date` spelled the same way.
    fn with_date(&self, key: &str, date: NaiveDate) -> String {
        use chrono::Datelike;
        let digits = format!("{:04}{:02}{:02}", date.year(), date.month(), date.day());
        let mut digits = digits.chars();
        let spelled: String = self
            .text
            .chars()
            .map(|c| if c.is_ascii_digit() { digits.next().unwrap_or(c) } else { c })
            .collect();
        format!("{}{spelled}", &key[..self.start])
    }
}

/// Length of `year=YYYY/month=MM/day=DD` (any case) at the start of `text`.
fn hive_length(text: &[u8]) -> Option<usize> {
    let mut at = 0;
    for (name, width, last) in [("year=", 4, false), ("month=", 2, false), ("day=", 2, true)] {
        let part = text.get(at..at + name.len() + width)?;
        if !part[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            || !part[name.len()..].iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        at += name.len() + width;
        match text.get(at) {
            Some(b'/') if !last => at += 1,
            None | Some(b'/') if last => {}
            _ => return None,
        }
    }
    Some(at)
}

/// A key that sorts after every key beginning with `text`.
fn past(text: &str) -> String {
    format!("{text}\u{10FFFF}")
}

/// What listing a source cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing {
    /// Keys the listing returned, in the range or not.
    pub keys: usize,
    /// Requests to the store (S3 only).
    pub requests: Option<u64>,
}

/// A raw log file to ingest.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The local path, or for an S3 object its `s3://bucket/key` URL (for messages).
    pub path: PathBuf,
    /// The object's key in its bucket, for an S3 source.
    pub object: Option<object_store::path::Path>,
    /// The path below the source location with `/` separators (the file name when the
    /// source is a single file): what the ledger records.
    pub key: String,
    pub size: u64,
    /// Modification time, milliseconds since the epoch: when AWS delivered it.
    pub modified_ms: i64,
    /// The date written in the key, if it has one.
    pub key_date: Option<NaiveDate>,
}

impl SourceFile {
    fn new(root: &Path, path: PathBuf, metadata: &fs::Metadata) -> Self {
        let relative = path.strip_prefix(root).ok().filter(|r| !r.as_os_str().is_empty());
        let key = match relative {
            Some(relative) => relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        let modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let key_date = KeyDate::find(&key).map(|found| found.date);
        SourceFile { path, object: None, key, size: metadata.len(), modified_ms, key_date }
    }
}

/// The objects under `prefix` in `bucket` whose key dates fall in `range`, largest first.
/// Keys whose last part starts with `.` are skipped, as hidden files are on disk.
pub fn list_bucket(
    bucket: &Bucket,
    prefix: &str,
    range: DateRange,
) -> Result<(Vec<SourceFile>, Listing), IngestError> {
    let requests_before = bucket.requests();
    let mut listing = Listing::default();
    let mut files = Vec::new();
    // Dates are looked for below the source prefix, which may hold dates of its own.
    let base = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
    bucket
        .scan(prefix, |object| {
            listing.keys += 1;
            let full = object.location.as_ref();
            let key = full.strip_prefix(&base).unwrap_or(full);
            let found = KeyDate::find(key);
            if let Some(found) = found.as_ref().filter(|_| !range.is_unbounded()) {
                if let Some(since) = range.since.filter(|since| found.date < *since) {
                    let day_before = since.pred_opt().unwrap_or(since);
                    return ScanStep::SeekAfter(past(&format!(
                        "{base}{}",
                        found.with_date(key, day_before)
                    )));
                }
                if range.until.is_some_and(|until| found.date > until) {
                    return ScanStep::SeekAfter(past(&format!("{base}{}", &key[..found.start])));
                }
            }
            if !object.location.filename().is_some_and(|name| name.starts_with('.')) {
                files.push(SourceFile {
                    path: PathBuf::from(bucket.url(full)),
                    object: Some(object.location.clone()),
                    key: key.to_owned(),
                    size: object.size,
                    modified_ms: object.last_modified.timestamp_millis(),
                    key_date: found.map(|found| found.date),
                });
            }
            ScanStep::Next
        })
        .map_err(|e| IngestError::Storage(Box::new(e)))?;
    listing.requests = Some(bucket.requests() - requests_before);
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    Ok((files, listing))
}

/// The files of a local source whose key dates fall in `range` (see [`list`]).
pub fn list_folder(
    root: &Path,
    range: DateRange,
) -> Result<(Vec<SourceFile>, Listing), IngestError> {
    let mut files = list(root)?;
    let listing = Listing { keys: files.len(), requests: None };
    files.retain(|f| f.key_date.is_none_or(|date| range.admits(date)));
    Ok((files, listing))
}

/// Every regular file under `root`, largest first so that the last file a worker picks up
/// is a small one and the workers finish together.
pub fn list(root: &Path) -> Result<Vec<SourceFile>, IngestError> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let err = |source| IngestError::List { path: folder.clone(), source };
        let metadata = fs::metadata(&folder).map_err(err)?;
        if metadata.is_file() {
            files.push(SourceFile::new(root, folder.clone(), &metadata));
            continue;
        }
        for entry in fs::read_dir(&folder).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(err)?;
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() {
                let metadata = entry.metadata().map_err(err)?;
                files.push(SourceFile::new(root, path, &metadata));
            }
        }
    }
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dates_are_found_in_every_aws_key_layout() {
        let cases = [
            ("E2TQ8ZVN4KJ1WF.2026-11-01-00.a7k2m9qx.gz", "E2TQ8ZVN4KJ1WF.", "2026-11-01"),
            ("2026-11-01-13-45-10-5A1B2C3D4E5F6A7B", "", "2026-11-01"),
            ("logs/my-bucket-2026-11-01-13-45-10-5A1B2C3D", "logs/my-bucket-", "2026-11-01"),
            (
                "123456789012/us-east-1/my-bucket/2026/11/01/2026-11-01-13-45-10-ABC",
                "123456789012/us-east-1/my-bucket/",
                "2026-11-01",
            ),
            (
                "AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/02/123456789012_CloudTrail_eu-west-1_20261102T0000Z_x.json.gz",
                "AWSLogs/123456789012/CloudTrail/eu-west-1/",
                "2026-11-02",
            ),
            (
                "AWSLogs/123456789012/WAFLogs/us-east-1/acl/2026/11/03/10/05/123456789012_waflogs_us-east-1_acl_20261103T1005Z_h.log.gz",
                "AWSLogs/123456789012/WAFLogs/us-east-1/acl/",
                "2026-11-03",
            ),
            (
                "AWSLogs/aws-account-id=1/CloudFront/DistributionId=E3/year=2026/Month=11/day=04/hour=10/f.parquet",
                "AWSLogs/aws-account-id=1/CloudFront/DistributionId=E3/",
                "2026-11-04",
            ),
            ("cloudfront/dt=2026-11-05/part-0.parquet", "cloudfront/dt=", "2026-11-05"),
            (
                "x/1_elasticloadbalancing_r_app.lb.1_20261106T0005Z_10.0.0.1_r.log.gz",
                "x/1_elasticloadbalancing_r_app.lb.1_",
                "2026-11-06",
            ),
        ];
        for (key, stem, date) in cases {
            let found = KeyDate::find(key).unwrap_or_else(|| panic!("no date in {key}"));
            assert_eq!((&key[..found.start], found.date), (stem, day(date)), "{key}");
        }
        for key in ["README", "123456789012/x.log", "2026/13/01/x", "a2026-11-01b", "9999-01-01/x"]
        {
            assert_eq!(KeyDate::find(key), None, "{key}");
        }
    }

    #[test]
    fn a_date_is_respelled_the_way_the_key_spells_it() {
        let key = "a/year=2026/Month=11/day=04/x";
        let found = KeyDate::find(key).unwrap();
        assert_eq!(found.with_date(key, day("2025-01-09")), "a/year=2025/Month=01/day=09");
        let key = "E1.2026-11-01-00.x.gz";
        assert_eq!(KeyDate::find(key).unwrap().with_date(key, day("2026-12-31")), "E1.2026-12-31");
        let key = "r/2026/11/01/f";
        assert_eq!(KeyDate::find(key).unwrap().with_date(key, day("2027-02-03")), "r/2027/02/03");
    }
}
