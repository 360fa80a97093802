//! Saved queries: the security and cost questions people ask of these logs, as SQL files
//! with a header that says what they answer, what they read, what they take and how to
//! chart them.
//!
//! ```sql
//! -- title: Top CloudFront clients by requests
//! -- description: The client IPs that sent the most requests, …
//! -- tables: cloudfront
//! -- param: since timestamp = -7d | start of the range (inclusive)
//! -- param: until timestamp = now | end of the range (exclusive)
//! -- param: limit int = 20 | how many clients
//! -- chart: bar x=client_ip y=requests
//! SELECT c_ip AS client_ip, count(*) AS requests FROM cloudfront
//! WHERE event_time >= $since AND event_time < $until GROUP BY 1 ORDER BY 2 DESC LIMIT $limit
//! ```
//!
//! Parameters are `$name` placeholders, bound as typed values into the plan (never pasted
//! into the SQL text), so a value cannot change what the query does. Times are UTC. A
//! relative time (`now`, `-7d`, `-24h`, `-90m`) counts from the end of the current hour, so
//! a dashboard's "last 7 days" is the same value all hour long and its result can be reused
//! until new data arrives.
//!
//! logq ships the queries of the repository's `queries/` folder inside the binary; a folder
//! of one's own (`--queries DIR`, `LOGQ_QUERIES`) adds queries and replaces shipped ones of
//! the same name.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use datafusion::common::ScalarValue;

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/", $name, ".sql")))),*]
    };
}

/// The saved queries in `queries/`, by name (each file's name without `.sql`).
const SHIPPED: &[(&str, &str)] = shipped![
    "alb_errors_by_reason",
    "cloudfront_bytes_by_country",
    "cloudfront_bytes_by_distribution",
    "cloudfront_bytes_by_edge",
    "cloudfront_bytes_by_path_prefix",
    "cloudfront_cache_hit_ratio",
    "cloudfront_daily_traffic",
    "cloudfront_error_rate_clients",
    "cloudfront_errors_by_edge",
    "cloudfront_scanners",
    "cloudfront_top_clients",
    "cloudfront_traffic_over_time",
    "cloudfront_unusual_agents",
    "cloudtrail_access_denied_bursts",
    "cloudtrail_console_logins_without_mfa",
    "cloudtrail_events_by_service",
    "cloudtrail_failed_signins",
    "cloudtrail_iam_changes",
    "cloudtrail_kms_key_deletion",
    "cloudtrail_logging_tampering",
    "cloudtrail_root_activity",
    "cloudtrail_s3_policy_changes",
    "s3_access_denied",
    "s3_anonymous_access",
    "s3_bytes_by_requester",
    "s3_egress_by_bucket",
    "s3_requests_by_operation",
    "s3_top_objects_by_egress",
    "s3_unusual_agents",
    "waf_blocks_by_country",
    "waf_blocks_by_country_over_time",
    "waf_blocks_by_ip",
    "waf_blocks_by_rule",
    "waf_counted_not_blocked",
    "waf_rate_limited_clients",
    "waf_request_cost",
];

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("saved query {name}: {message}")]
    Header { name: String, message: String },
    #[error("cannot read the saved queries in {path}")]
    Read { path: String, source: std::io::Error },
    #[error("no saved query is named {0:?}")]
    Unknown(String),
    #[error("{query} has no parameter {name:?} (it takes: {known})")]
    UnknownParam { query: String, name: String, known: String },
    #[error("parameter {name} of {query} is of type {kind}, which {value:?} is not ({hint})")]
    BadValue { query: String, name: String, kind: &'static str, value: String, hint: &'static str },
    #[error("--param takes NAME=VALUE, not {0:?}")]
    BadArgument(String),
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Timestamp,
    Date,
    Int,
    Float,
    String,
    Bool,
}

impl ParamKind {
    fn parse(text: &str) -> Option<ParamKind> {
        Some(match text {
            "timestamp" => ParamKind::Timestamp,
            "date" => ParamKind::Date,
            "int" => ParamKind::Int,
            "float" => ParamKind::Float,
            "string" => ParamKind::String,
            "bool" => ParamKind::Bool,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Timestamp => "timestamp",
            ParamKind::Date => "date",
            ParamKind::Int => "int",
            ParamKind::Float => "float",
            ParamKind::String => "string",
            ParamKind::Bool => "bool",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            ParamKind::Timestamp => {
                "write 2026-11-01, 2026-11-01 05:00:00, 2026-11-01T05:00:00Z, now, or -7d, -24h, -90m"
            }
            ParamKind::Date => "write 2026-11-01, today or -7d",
            ParamKind::Int => "write a whole number",
            ParamKind::Float => "write a number",
            ParamKind::String => "any text",
            ParamKind::Bool => "write true or false",
        }
    }
}

/// One parameter of a saved query.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub default: String,
    pub description: String,
}

/// How a saved query's result is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chart {
    /// Categories along x, one bar each for the value y.
    Bar { x: String, y: String },
    /// y over x (a time), one line per value of `series` if it is given.
    Line { x: String, y: String, series: Option<String> },
    /// Rows only.
    Table,
}

/// A saved query, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedQuery {
    pub name: String,
    pub title: String,
    pub description: String,
    pub tables: Vec<String>,
    pub params: Vec<Param>,
    pub chart: Chart,
    /// The whole file, header included.
    pub text: String,
}

impl SavedQuery {
    /// Parses a saved query file; `name` is its file name without `.sql`.
    pub fn parse(name: &str, text: &str) -> Result<SavedQuery, LibraryError> {
        let fail = |message: String| LibraryError::Header { name: name.to_owned(), message };
        let mut fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for line in text.lines() {
            let Some(comment) = line.trim().strip_prefix("--") else { break };
            if let Some((key, value)) = comment.trim().split_once(':') {
                fields.entry(key.trim()).or_default().push(value.trim());
            }
        }
        let one = |key: &str| -> Result<String, LibraryError> {
            match fields.get(key).map(Vec::as_slice) {
                Some([value]) if !value.is_empty() => Ok((*value).to_owned()),
                _ => Err(fail(format!("the header needs one `-- {key}:` line"))),
            }
        };
        let mut params = Vec::new();
        for spec in fields.get("param").into_iter().flatten() {
            params.push(parse_param(spec).map_err(|m| fail(format!("param {spec:?}: {m}")))?);
        }
        let chart = parse_chart(&one("chart")?).map_err(|m| fail(format!("chart: {m}")))?;
        let tables: Vec<String> = one("tables")?
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        let query = SavedQuery {
            name: name.to_owned(),
            title: one("title")?,
            description: one("description")?,
            tables,
            params,
            chart,
            text: text.to_owned(),
        };
        for placeholder in placeholders(&query.text) {
            if !query.params.iter().any(|p| p.name == placeholder) {
                return Err(fail(format!("${placeholder} is used but not declared as a param")));
            }
        }
        Ok(query)
    }

    /// The parameters bound to typed values: each given one (`name=value`), else its
    /// default; relative times count from `now`'s hour's end.
    pub fn bind(
        &self,
        given: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, ScalarValue)>, LibraryError> {
        for (name, _) in given {
            if !self.params.iter().any(|p| &p.name == name) {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(LibraryError::UnknownParam {
                    query: self.name.clone(),
                    name: name.clone(),
                    known: known.join(", "),
                });
            }
        }
        self.params
            .iter()
            .map(|param| {
                let text = given
                    .iter()
                    .rev()
                    .find(|(name, _)| name == &param.name)
                    .map_or(param.default.as_str(), |(_, value)| value.as_str());
                let value =
                    param_value(param.kind, text, now).ok_or_else(|| LibraryError::BadValue {
                        query: self.name.clone(),
                        name: param.name.clone(),
                        kind: param.kind.name(),
                        value: text.to_owned(),
                        hint: param.kind.hint(),
                    })?;
                Ok((param.name.clone(), value))
            })
            .collect()
    }
}

/// `name type = default | description`.
fn parse_param(spec: &str) -> Result<Param, String> {
    let (head, description) = spec.split_once('|').unwrap_or((spec, ""));
    let (decl, default) = head.split_once('=').ok_or("write `name type = default | what it is`")?;
    let mut words = decl.split_whitespace();
    let (Some(name), Some(kind), None) = (words.next(), words.next(), words.next()) else {
        return Err("write `name type = default | what it is`".to_owned());
    };
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(format!("{name:?} is not a lower-case name"));
    }
    let kind = ParamKind::parse(kind).ok_or_else(|| {
        format!("unknown type {kind:?} (timestamp, date, int, float, string, bool)")
    })?;
    let default = default.trim().to_owned();
    if param_value(kind, &default, Utc::now()).is_none() {
        return Err(format!("the default {default:?} is not a {}", kind.name()));
    }
    Ok(Param { name: name.to_owned(), kind, default, description: description.trim().to_owned() })
}

/// `bar x=COL y=COL`, `line x=COL y=COL [series=COL]` or `table`.
fn parse_chart(spec: &str) -> Result<Chart, String> {
    let mut words = spec.split_whitespace();
    let kind = words.next().unwrap_or_default();
    let mut options: BTreeMap<&str, String> = BTreeMap::new();
    for word in words {
        let (key, value) =
            word.split_once('=').ok_or_else(|| format!("{word:?} is not key=value"))?;
        options.insert(key, value.to_owned());
    }
    let mut take =
        |key: &str| options.remove(key).ok_or_else(|| format!("{kind} needs {key}=COLUMN"));
    let chart = match kind {
        "bar" => Chart::Bar { x: take("x")?, y: take("y")? },
        "line" => Chart::Line { x: take("x")?, y: take("y")?, series: take("series").ok() },
        "table" => Chart::Table,
        other => return Err(format!("unknown chart {other:?} (bar, line or table)")),
    };
    match options.keys().next() {
        Some(extra) => Err(format!("unknown option {extra:?}")),
        None => Ok(chart),
    }
}

/// The `$name` placeholders of `sql`, outside comments and string literals.
fn placeholders(sql: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in sql.lines() {
        let code = line.split("--").next().unwrap_or_default();
        let mut in_string = false;
        for (at, c) in code.char_indices() {
            match c {
                '\'' => in_string = !in_string,
                '$' if !in_string => {
                    let name: String = code[at + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && !found.contains(&name) {
                        found.push(name);
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// The end of `now`'s hour: relative times count from there.
fn hour_end(now: DateTime<Utc>) -> DateTime<Utc> {
    let start =
        now.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0));
    start.unwrap_or(now) + Duration::hours(1)
}

/// `-7d`, `-24h`, `-90m` (or with a `+`) as a duration.
fn offset(text: &str) -> Option<Duration> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => return None,
    };
    let unit = rest.chars().last()?;
    let number: i64 = rest[..rest.len() - 1].parse().ok()?;
    let duration = match unit {
        'd' => Duration::days(number),
        'h' => Duration::hours(number),
        'm' => Duration::minutes(number),
        _ => return None,
    };
    Some(duration * sign)
}

fn param_value(kind: ParamKind, text: &str, now: DateTime<Utc>) -> Option<ScalarValue> {
    let text = text.trim();
    Some(match kind {
        ParamKind::Timestamp => {
            let time = if text == "now" {
                hour_end(now)
            } else if let Some(offset) = offset(text) {
                hour_end(now) + offset
            } else if let Ok(time) = DateTime::parse_from_rfc3339(text) {
                time.with_timezone(&Utc)
            } else if let Ok(time) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
                Utc.from_utc_datetime(&time)
            } else {
                let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
                Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)
            };
            ScalarValue::TimestampMicrosecond(Some(time.timestamp_micros()), Some("UTC".into()))
        }
        ParamKind::Date => {
            let day = match (text, offset(text)) {
                ("today", _) => now.date_naive(),
                (_, Some(offset)) => (now + offset).date_naive(),
                _ => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?,
            };
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
            ScalarValue::Date32(Some(i32::try_from((day - epoch).num_days()).ok()?))
        }
        ParamKind::Int => ScalarValue::Int64(Some(text.parse().ok()?)),
        ParamKind::Float => {
            ScalarValue::Float64(Some(text.parse().ok().filter(|v: &f64| v.is_finite())?))
        }
        ParamKind::String => ScalarValue::Utf8(Some(text.to_owned())),
        ParamKind::Bool => ScalarValue::Boolean(Some(match text {
            "true" | "yes" => true,
            "false" | "no" => false,
            _ => return None,
        })),
    })
}

/// Splits each `--param name=value`.
pub fn parse_param_arguments(texts: &[String]) -> Result<Vec<(String, String)>, LibraryError> {
    texts
        .iter()
        .map(|text| match text.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.to_owned()))
            }
            _ => Err(LibraryError::BadArgument(text.to_owned())),
        })
        .collect()
}

/// The saved queries available: the shipped ones, and those of a folder of one's own.
#[derive(Debug, Clone)]
pub struct Library {
    pub queries: BTreeMap<String, SavedQuery>,
}

impl Library {
    /// The shipped queries, then every `*.sql` of `own` (replacing shipped ones by name).
    pub fn load(own: Option<&Path>) -> Result<Library, LibraryError> {
        let mut queries = BTreeMap::new();
        for (name, text) in SHIPPED {
            queries.insert((*name).to_owned(), SavedQuery::parse(name, text)?);
        }
        if let Some(dir) = own {
            let read = |source| LibraryError::Read { path: dir.display().to_string(), source };
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .map_err(read)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            paths.sort();
            for path in paths {
                let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&path).map_err(read)?;
                queries.insert(name.clone(), SavedQuery::parse(&name, &text)?);
            }
        }
        Ok(Library { queries })
    }

    pub fn get(&self, name: &str) -> Result<&SavedQuery, LibraryError> {
        self.queries.get(name).ok_or_else(|| LibraryError::Unknown(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_queries_is_shipped_and_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let shipped: Vec<&str> = SHIPPED.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, shipped);
        let library = Library::load(None).unwrap();
        assert!(library.queries.len() >= 25);
        for query in library.queries.values() {
            assert!(!query.tables.is_empty(), "{}", query.name);
        }
    }

    #[test]
    fn a_header_declares_every_placeholder() {
        let text = "-- title: t\n-- description: d\n-- tables: waf\n-- chart: table\n\
                    SELECT * FROM waf WHERE client_ip = $ip";
        let error = SavedQuery::parse("q", text).unwrap_err().to_string();
        assert!(error.contains("$ip is used but not declared"), "{error}");
        let text = text.replace("-- chart", "-- param: ip string = 1.2.3.4 | who\n-- chart");
        let query = SavedQuery::parse("q", &text).unwrap();
        assert_eq!(query.params[0].kind, ParamKind::String);
        // Inside a string literal or a comment, a `$` is text.
        assert_eq!(placeholders("SELECT '$x' -- $y\n, $z"), ["z"]);
    }

    #[test]
    fn values_bind_typed_and_relative_times_count_from_the_hours_end() {
        let text = "-- title: t\n-- description: d\n-- tables: cloudfront\n\
                    -- param: since timestamp = -7d | from\n-- param: n int = 5 | how many\n\
                    -- chart: bar x=a y=b\nSELECT $since, $n";
        let query = SavedQuery::parse("q", text).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 7, 42, 10).unwrap();
        let bound = query.bind(&[], now).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap().timestamp_micros();
        assert_eq!(bound[0].1, ScalarValue::TimestampMicrosecond(Some(end), Some("UTC".into())));
        assert_eq!(bound[1].1, ScalarValue::Int64(Some(5)));
        let given =
            [("since".to_owned(), "2026-11-01".to_owned()), ("n".to_owned(), "9".to_owned())];
        let bound = query.bind(&given, now).unwrap();
        let day = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap().timestamp_micros();
        assert_eq!(bound[0].1, ScalarValue::TimestampMicrosecond(Some(day), Some("UTC".into())));
        assert_eq!(bound[1].1, ScalarValue::Int64(Some(9)));
        let bad = [("n".to_owned(), "9; DROP TABLE x".to_owned())];
        assert!(query.bind(&bad, now).unwrap_err().to_string().contains("is of type int"));
        let unknown = [("m".to_owned(), "1".to_owned())];
        assert!(query.bind(&unknown, now).unwrap_err().to_string().contains("no parameter \"m\""));
    }
}
