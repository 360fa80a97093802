use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures(format: &str) -> PathBuf {
    root().join("fixtures").join(format)
}

pub fn expected() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The result of one `logq` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().expect("logq exits normally"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "logq failed:\n{}", self.stderr);
        self
    }
}

/// A `logq` command with `args` in `cwd`, without any inherited logq setting.
pub fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_logq"));
    command.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for name in [
        "LOGQ_WAREHOUSE",
        "LOGQ_LOG",
        "LOGQ_CONFIG",
        "LOGQ_FAULT",
        "LOGQ_PAUSE",
        "LOGQ_MAX_BYTES_SCANNED",
    ] {
        command.env_remove(name);
    }
    // Stored results go to the test binary's own folder, not the user's cache.
    command.env("LOGQ_CACHE_DIR", cache_dir());
    command
}

/// Where the `logq` runs of this test binary store results (unless a test picks another).
pub fn cache_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(scratch).path()
}

/// Runs `logq` with `args` in `cwd`, without any inherited logq setting.
pub fn logq_in(cwd: &Path, args: &[&str]) -> Run {
    Run::from(command(cwd, args).output().expect("logq runs"))
}

/// Runs `logq` with `args` and extra environment variables.
pub fn logq_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = command(&root(), args);
    command.envs(env.iter().copied());
    Run::from(command.output().expect("logq runs"))
}

pub fn logq(args: &[&str]) -> Run {
    logq_in(&root(), args)
}

/// Partitions a source folder into `warehouse` and returns the run.
pub fn partition(format: &str, source: &Path, warehouse: &Path) -> Run {
    logq(&[
        "partition",
        "--format",
        format,
        "--source",
        source.to_str().unwrap(),
        "--warehouse",
        warehouse.to_str().unwrap(),
    ])
}

/// The arguments of `logq partition` of CloudFront logs from `source` into `warehouse`.
pub fn partition_args<'a>(
    source: &'a Path,
    warehouse: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "partition",
        "--format",
        "cloudfront",
        "--source",
        source.to_str().unwrap(),
        "--warehouse",
        warehouse.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs a query and returns its rows as JSON objects.
pub fn query(warehouse: &Path, sql: &str) -> Vec<Value> {
    let run =
        logq(&["sql", "--warehouse", warehouse.to_str().unwrap(), "--format", "json", sql]).ok();
    match serde_json::from_str(&run.stdout) {
        Ok(Value::Array(rows)) => rows,
        other => panic!("not a JSON array: {other:?}\n{}", run.stdout),
    }
}

/// The single value of a one-row, one-column query.
pub fn scalar(warehouse: &Path, sql: &str) -> Value {
    let rows = query(warehouse, sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    let object = rows[0].as_object().unwrap();
    assert_eq!(object.len(), 1, "{sql}: {rows:?}");
    object.values().next().unwrap().clone()
}

/// A fresh folder under cargo's scratch space for integration tests.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("logq-it-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// A warehouse with both fixture tables partitioned into it, made once per test binary.
pub fn fixture_warehouse() -> &'static Path {
    static WAREHOUSE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    WAREHOUSE
        .get_or_init(|| {
            let dir = scratch();
            partition("cloudfront", &fixtures("cloudfront"), dir.path()).ok();
            partition("s3", &fixtures("s3"), dir.path()).ok();
            dir
        })
        .path()
}

/// The `(file name, line)` of every rejected line kept for `table`.
pub fn rejected_lines(warehouse: &Path, table: &str) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(warehouse.join("_rejects").join(table)).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            let source = PathBuf::from(record["source"].as_str().unwrap());
            let name = source.file_name().unwrap().to_string_lossy().into_owned();
            found.push((name, record["line"].as_u64().unwrap()));
            assert!(record.get("raw").is_some() || record.get("raw_base64").is_some());
        }
    }
    found.sort();
    found
}

/// Numbers in a summary line such as `…: 93 rows, 4 rejected, 20 skipped (117 records read)`.
pub fn summary_counts(stderr: &str) -> (u64, u64, u64, u64) {
    let line = stderr.lines().find(|l| l.starts_with("partitioned ")).expect("summary line");
    let number_before = |word: &str| -> u64 {
        let at = line.find(word).unwrap_or_else(|| panic!("{word} in {line}"));
        line[..at].split_whitespace().last().unwrap().trim_start_matches('(').parse().unwrap()
    };
    (
        number_before(" rows"),
        number_before(" rejected"),
        number_before(" skipped"),
        number_before(" records read"),
    )
}

/// The bytes a `logq sql` footer (or the part of it from the byte count on) says were
/// fetched from storage: `… 41.3 KiB fetched from storage in 9 requests …`.
pub fn fetched_bytes(footer: &str) -> f64 {
    bytes_before(footer, "fetched")
}

/// The size written just before the first `word` of the footer's line:
/// `… 41.3 KiB <word> …`.
pub fn bytes_before(footer: &str, word: &str) -> f64 {
    let line = footer.lines().find(|l| l.contains("fetched from storage")).expect(footer);
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == word).unwrap();
    let unit = match words[at - 1] {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        other => panic!("unit {other} in {line}"),
    };
    words[at - 2].trim_start_matches(';').parse::<f64>().unwrap() * unit
}

/// Whether a missing test tool (Chromium, DuckDB, the S3 server) fails its test instead of
/// skipping that half: under `CI`, and wherever `.ci/run` installed them
/// (`LOGQ_TEST_TOOLS_REQUIRED`).
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("LOGQ_TEST_TOOLS_REQUIRED").is_some()
}
