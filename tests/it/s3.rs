//! S3 as a source, against a real S3-compatible server (moto, which `.ci/run` installs from
//! PyPI and starts on loopback; `LOGQ_TEST_S3_ENDPOINT` names it). Without the variable the
//! tests are skipped, except under CI, where that is a failure.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::*;

/// A secret no output may contain.
const SECRET: &str = "logq-test-secret-do-not-print";

fn endpoint() -> Option<String> {
    match std::env::var("LOGQ_TEST_S3_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) => {
            assert!(!tools_required(), "CI must start an S3 server (LOGQ_TEST_S3_ENDPOINT)");
            eprintln!("skipping: no LOGQ_TEST_S3_ENDPOINT");
            None
        }
    }
}

/// An unsigned PUT, which the test server accepts: creates a bucket or an object.
fn put(endpoint: &str, path: &str, body: &[u8]) {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).expect("the S3 server is up");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "PUT {path}: {response}");
}

fn new_bucket(endpoint: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("logq-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    put(endpoint, &format!("/{name}"), b"");
    name
}

fn upload_folder(endpoint: &str, bucket: &str, prefix: &str, folder: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        put(endpoint, &format!("/{bucket}/{prefix}/{name}"), &std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

/// AWS settings pointing at the test server.
fn s3_env(endpoint: &str) -> Vec<(&str, &str)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "logq-test-key"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// `logq` with AWS settings pointing at the test server.
fn logq_s3(endpoint: &str, args: &[&str]) -> Run {
    logq_env(args, &s3_env(endpoint))
}

/// `logq partition --format cloudfront` from `source` into `warehouse`.
fn cloudfront_from<'a>(source: &'a str, warehouse: &'a Path) -> [&'a str; 7] {
    let warehouse = warehouse.to_str().unwrap();
    ["partition", "--format", "cloudfront", "--source", source, "--warehouse", warehouse]
}

fn by_day(warehouse: &Path) -> Vec<Value> {
    query(warehouse, BY_DAY)
}

#[test]
fn an_s3_source_partitions_exactly_like_the_same_local_folder() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = new_bucket(&endpoint);
    let uploaded = upload_folder(&endpoint, &bucket, "AWSLogs/cf", &fixtures("cloudfront"));
    // Outside the prefix: never listed.
    put(&endpoint, &format!("/{bucket}/elsewhere/E9.2026-11-01-00.x"), b"not a log");

    let (from_s3, local) = (scratch(), scratch());
    let source = format!("s3://{bucket}/AWSLogs/cf");
    let args = cloudfront_from(&source, from_s3.path());
    let run = logq_s3(&endpoint, &args).ok();
    assert!(
        run.stderr.contains(&format!("{uploaded} objects listed in "))
            && run.stderr.contains(&format!(": {uploaded} new")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SECRET));
    partition("cloudfront", &fixtures("cloudfront"), local.path()).ok();
    assert_eq!(
        by_day(from_s3.path()),
        by_day(local.path()),
        "the same answers from S3 as from disk"
    );
    let (rows, rejected, ..) = summary_counts(&run.stderr);
    assert_eq!(rows, expected()["cloudfront"]["rows"].as_u64().unwrap());
    assert_eq!(rejected, expected()["cloudfront"]["rejects"].as_u64().unwrap());

    // The ledger works on S3 keys: nothing new, then only the new object.
    let again = logq_s3(&endpoint, &args).ok();
    assert!(again.stderr.contains("nothing new"), "{}", again.stderr);
    let late = "#Version: 1.0\n2026-11-09\t10:00:00\tFRA56-P5\t100\t192.0.2.1\tGET\td1.cloudfront.net\t/p\t200\t-\tcurl/8.5.0\t-\t-\tHit\tLATE1\twww.example.test\thttps\t200\t0.001\n";
    put(&endpoint, &format!("/{bucket}/AWSLogs/cf/E1.2026-11-09-10.late"), late.as_bytes());
    let third = logq_s3(&endpoint, &args).ok();
    assert!(
        third.stderr.contains(&format!("1 new, {uploaded} already ingested")),
        "{}",
        third.stderr
    );
    assert_eq!(
        scalar(from_s3.path(), "SELECT count(*) FROM cloudfront WHERE dt = '2026-11-09'").as_u64(),
        Some(1)
    );
}

#[test]
fn an_object_that_cannot_be_read_is_reported_and_read_once_by_the_next_run() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = new_bucket(&endpoint);
    upload_folder(&endpoint, &bucket, "cf", &fixtures("cloudfront"));
    let victim = "E2TQ8ZVN4KJ1WF.2026-11-01-00.a7k2m9qx.gz";
    let warehouse = scratch();
    let source = format!("s3://{bucket}/cf");
    let args = cloudfront_from(&source, warehouse.path());
    let mut env = s3_env(&endpoint);
    env.push(("LOGQ_FAIL_GET", victim));
    let failing = logq_env(&args, &env);
    assert_eq!(failing.code, 2, "{}", failing.stderr);
    assert!(
        failing.stderr.contains(&format!("could not read s3://{bucket}/cf/{victim}")),
        "{}",
        failing.stderr
    );
    assert!(failing.stderr.contains("1 objects could not be read"), "{}", failing.stderr);
    assert!(!failing.stderr.contains(SECRET));
    let partial = scalar(warehouse.path(), "SELECT count(*) FROM cloudfront").as_u64().unwrap();

    let rerun = logq_s3(&endpoint, &args).ok();
    assert!(rerun.stderr.contains("1 new,"), "only the unread object is read: {}", rerun.stderr);
    let sql = "SELECT count(*) AS n, count(DISTINCT x_edge_request_id) AS ids FROM cloudfront";
    let rows = query(warehouse.path(), sql);
    assert_eq!(rows[0]["n"].as_u64(), expected()["cloudfront"]["rows"].as_u64());
    assert!(rows[0]["n"].as_u64().unwrap() > partial);
    assert_eq!(
        rows,
        query(fixture_warehouse(), sql),
        "every record once, as from the local folder"
    );
}

#[test]
fn a_missing_bucket_is_a_clear_error_without_secrets() {
    let Some(endpoint) = endpoint() else { return };
    let warehouse = scratch();
    let run = logq_s3(
        &endpoint,
        &[
            "partition",
            "--format",
            "waf",
            "--source",
            "s3://logq-no-such-bucket/x",
            "--warehouse",
            warehouse.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot list s3://logq-no-such-bucket/x"), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET));
}

/// An unsigned GET (the server allows listing this way, not reading objects); returns the
/// status line and the body.
fn get(endpoint: &str, path: &str) -> (String, String) {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).expect("the S3 server is up");
    // HTTP/1.0, so that the body comes whole rather than in chunks.
    let head = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

/// Every key under `prefix` (the test buckets hold fewer than 1,000).
fn keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let (status, body) = get(endpoint, &format!("/{bucket}?list-type=2&prefix={prefix}"));
    assert!(status.contains("200"), "{status}: {body}");
    let mut keys: Vec<String> = body
        .split("<Key>")
        .skip(1)
        .filter_map(|part| part.split_once("</Key>").map(|(key, _)| key.to_owned()))
        .collect();
    keys.sort();
    keys
}

/// A test's S3 settings, with its own temporary folder (where jobs on an S3 warehouse stage
/// their files) and a short lease, so that a job after a crash need not wait a minute.
struct S3Test {
    endpoint: String,
    bucket: String,
    tmp: tempfile::TempDir,
}

impl S3Test {
    fn new() -> Option<S3Test> {
        let endpoint = endpoint()?;
        let bucket = new_bucket(&endpoint);
        Some(S3Test { endpoint, bucket, tmp: scratch() })
    }

    fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    fn env(&self) -> Vec<(&str, &str)> {
        let mut env = s3_env(&self.endpoint);
        env.push(("TMPDIR", self.tmp.path().to_str().unwrap()));
        env.push(("LOGQ_LEASE_TTL", "1"));
        env
    }

    fn logq(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut env = self.env();
        env.extend_from_slice(extra);
        logq_env(args, &env)
    }

    fn query(&self, warehouse: &str, sql: &str) -> (Vec<Value>, Run) {
        let run = self.logq(&["sql", "--warehouse", warehouse, "--format", "json", sql], &[]).ok();
        match serde_json::from_str(&run.stdout) {
            Ok(Value::Array(rows)) => (rows, run),
            other => panic!("not a JSON array: {other:?}\n{}", run.stdout),
        }
    }

    /// Starts `logq` in the background with the test's settings and `extra`, and returns
    /// once a key under `prefix` ends with `suffix` (a step the job has reached).
    fn start_until(
        &self,
        args: &[&str],
        extra: &[(&str, &str)],
        prefix: &str,
        suffix: &str,
    ) -> std::process::Child {
        let mut env = self.env();
        env.extend_from_slice(extra);
        let mut job = command(&root(), args);
        job.envs(env.iter().copied()).stdout(std::process::Stdio::null());
        let job = job.stderr(std::process::Stdio::piped()).spawn().unwrap();
        let started = std::time::Instant::now();
        while !keys(&self.endpoint, &self.bucket, prefix).iter().any(|k| k.ends_with(suffix)) {
            assert!(started.elapsed().as_secs() < 30, "the job never wrote {prefix}…{suffix}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        job
    }

    /// Files left in the local staging area.
    fn staged_locally(&self) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut folders = vec![self.tmp.path().to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() { folders.push(path) } else { found.push(path) }
            }
        }
        found
    }
}

const BY_DAY: &str =
    "SELECT dt, count(*) AS n, sum(sc_bytes) AS bytes FROM cloudfront GROUP BY dt ORDER BY dt";

#[test]
fn a_warehouse_on_s3_holds_and_answers_exactly_what_one_on_disk_does() {
    let Some(s3) = S3Test::new() else { return };
    upload_folder(&s3.endpoint, &s3.bucket, "raw/cf", &fixtures("cloudfront"));
    let (source, warehouse) = (s3.url("raw/cf"), s3.url("wh"));
    let partition = ["partition", "--format", "cloudfront", "--source", &source];
    let run = s3.logq(&[&partition[..], &["--warehouse", &warehouse]].concat(), &[]).ok();
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);

    let (rows, answered) = s3.query(&warehouse, BY_DAY);
    assert_eq!(rows, by_day(fixture_warehouse()), "S3 to S3 answers as disk to disk");
    assert!(!answered.stderr.contains(SECRET));
    // Bytes fetched are reported, and a filter on dt prunes what is fetched from S3.
    let all = fetched_bytes(&answered.stderr);
    assert!(all > 0.0, "{}", answered.stderr);
    let one_day = "SELECT count(*) AS n FROM cloudfront WHERE dt = '2026-11-02'";
    let (day, pruned) = s3.query(&warehouse, one_day);
    assert_eq!(day, query(fixture_warehouse(), one_day));
    assert!(fetched_bytes(&pruned.stderr) < all, "{} vs {all}", pruned.stderr);
    // The byte-scan cap refuses before reading (unless a stored result answers, which reads
    // nothing); the estimate is what the query then fetches; a repeated query is answered
    // from its stored result.
    let select = ["sql", "--warehouse", warehouse.as_str(), "--format", "csv"];
    let capped = ["--no-reuse", "--max-bytes-scanned", "1KiB", BY_DAY];
    let refused = s3.logq(&[&select[..], &capped].concat(), &[]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("query refused before reading any data"), "{}", refused.stderr);
    assert!(answered.stderr.contains(" (estimated "), "{}", answered.stderr);
    let estimated = answered.stderr.split(" (estimated ").nth(1).unwrap();
    let fetched = answered.stderr.split("; ").nth(1).unwrap();
    assert_eq!(
        estimated.split(" before").next(),
        fetched.split(" fetched").next(),
        "{}",
        answered.stderr
    );
    let again = s3.logq(&[&select[..], &[BY_DAY]].concat(), &[]).ok();
    assert!(again.stderr.contains("reused result from"), "{}", again.stderr);
    // Queries of several columns, some read through a filter first, fetch exactly what was
    // estimated: the column chunks they need, not the gaps between them.
    for wide in [
        "SELECT c_ip, count(*) AS n, sum(sc_bytes) AS b FROM cloudfront \
         WHERE sc_status >= 400 GROUP BY c_ip ORDER BY c_ip",
        "SELECT x_edge_location, cs_uri_stem, sc_bytes FROM cloudfront \
         WHERE cs_method = 'GET' ORDER BY 1, 2, 3",
    ] {
        let (rows, run) = s3.query(&warehouse, wide);
        assert_eq!(rows, query(fixture_warehouse(), wide));
        let (fetched, estimated) =
            (fetched_bytes(&run.stderr), bytes_before(&run.stderr, "before"));
        assert_eq!(fetched, estimated, "{wide}: {}", run.stderr);
    }

    // Hive layout in the bucket, readable by any engine; the job's own state beside it.
    let stored = keys(&s3.endpoint, &s3.bucket, "wh/");
    let data: Vec<&String> = stored.iter().filter(|k| k.ends_with(".parquet")).collect();
    assert!(!data.is_empty());
    assert!(data.iter().all(|k| k.starts_with("wh/cloudfront/dt=2026-")), "{stored:?}");
    assert!(stored.iter().any(|k| k.starts_with("wh/_logq/snapshots/")), "{stored:?}");
    assert!(stored.iter().any(|k| k.starts_with("wh/_rejects/cloudfront/")), "{stored:?}");
    assert!(!stored.iter().any(|k| k.contains("_logq/staging/")), "staging is cleared: {stored:?}");
    assert!(!stored.iter().any(|k| k.ends_with("lock.json")), "the lease is released");
    assert_eq!(s3.staged_locally(), Vec::<std::path::PathBuf>::new());

    let status = s3.logq(&["status", "--warehouse", &warehouse, "--format", "json"], &[]).ok();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status[0]["table"], "cloudfront");
    assert_eq!(status[0]["rows"].as_u64(), expected()["cloudfront"]["rows"].as_u64());

    // Incremental on S3 too: nothing new, and the warehouse is unchanged.
    let again = s3.logq(&[&partition[..], &["--warehouse", &warehouse]].concat(), &[]).ok();
    assert!(again.stderr.contains("nothing new"), "{}", again.stderr);
    assert_eq!(s3.query(&warehouse, BY_DAY).0, rows);
}

#[cfg(feature = "cluster")]
#[test]
fn a_cluster_reads_a_warehouse_on_s3_and_answers_as_a_local_run_does() {
    let Some(s3) = S3Test::new() else { return };
    upload_folder(&s3.endpoint, &s3.bucket, "raw/cf", &fixtures("cloudfront"));
    let (source, warehouse) = (s3.url("raw/cf"), s3.url("wh"));
    let partition = ["partition", "--format", "cloudfront", "--source", &source];
    s3.logq(&[&partition[..], &["--warehouse", &warehouse]].concat(), &[]).ok();

    // The executors open the bucket with their own AWS settings; the scheduler has none.
    let cluster = crate::cluster::TestCluster::start_with(2, 0, &s3_env(&s3.endpoint));
    let top_clients = "SELECT c_ip, count(*) AS n, sum(sc_bytes) AS bytes FROM cloudfront \
                       GROUP BY c_ip ORDER BY n DESC, c_ip";
    for sql in [BY_DAY, top_clients] {
        let here = s3
            .logq(&["sql", "--warehouse", &warehouse, "--format", "json", "--no-reuse", sql], &[]);
        let args = ["sql", "--warehouse", &warehouse, "--format", "json", "--no-reuse"];
        let there = s3.logq(&[&args[..], &["--cluster", &cluster.address, sql]].concat(), &[]).ok();
        assert_eq!(there.stdout, here.ok().stdout, "{sql}");
        assert!(there.stderr.contains("on the cluster (job "), "{}", there.stderr);
        assert!(fetched_bytes(&there.stderr) > 0.0, "{}", there.stderr);
        assert!(!there.stderr.contains(SECRET), "{}", there.stderr);
    }
}

#[test]
fn compaction_on_s3_merges_committed_files_and_keeps_every_row() {
    let Some(s3) = S3Test::new() else { return };
    let all = fixtures("cloudfront");
    let mut names: Vec<_> = std::fs::read_dir(&all).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let warehouse = s3.url("wh");
    let source = s3.url("raw");
    // Two deliveries, each committed without compaction: several files per day.
    let (first, second) = names.split_at(names.len() / 2);
    for batch in [first, second] {
        for path in batch {
            let name = path.file_name().unwrap().to_string_lossy();
            put(&s3.endpoint, &format!("/{}/raw/{name}", s3.bucket), &std::fs::read(path).unwrap());
        }
        let args = ["partition", "--format", "cloudfront", "--source", &source];
        s3.logq(&[&args[..], &["--warehouse", &warehouse, "--no-compact"]].concat(), &[]).ok();
    }
    let parquet = |s3: &S3Test| -> Vec<String> {
        keys(&s3.endpoint, &s3.bucket, "wh/cloudfront/")
            .into_iter()
            .filter(|k| k.ends_with(".parquet"))
            .collect()
    };
    let before = parquet(&s3);
    let days = s3.query(&warehouse, "SELECT count(DISTINCT dt) AS d FROM cloudfront").0[0]["d"]
        .as_u64()
        .unwrap() as usize;
    assert!(before.len() > days, "{before:?} over {days} days before compaction");

    let compact = s3.logq(&["compact", "--warehouse", &warehouse], &[]).ok();
    assert!(compact.stderr.contains("compacted"), "{}", compact.stderr);
    let after = parquet(&s3);
    assert_eq!(after.len(), days, "one file per day in the table folders: {after:?}");
    assert_eq!(s3.query(&warehouse, BY_DAY).0, by_day(fixture_warehouse()));
    // Each file from before is either still in place (a day with one file) or in the trash
    // under the same relative path, for queries that planned with it.
    let trash = keys(&s3.endpoint, &s3.bucket, "wh/_logq/trash/");
    let trashed: Vec<String> = trash
        .iter()
        .map(|k| {
            let relative = k.splitn(5, '/').nth(4).unwrap();
            format!("wh/{relative}")
        })
        .collect();
    for file in &before {
        assert!(after.contains(file) != trashed.contains(file), "{file}: {after:?} {trash:?}");
    }
    assert_eq!(trashed.len() + after.iter().filter(|f| before.contains(f)).count(), before.len());
}

#[test]
fn a_job_on_s3_killed_at_any_commit_step_is_undone_or_finished_by_the_next() {
    let Some(s3) = S3Test::new() else { return };
    upload_folder(&s3.endpoint, &s3.bucket, "raw", &fixtures("cloudfront"));
    let source = s3.url("raw");
    let sql = "SELECT count(*) AS n, count(DISTINCT x_edge_request_id) AS ids FROM cloudfront";
    let expected_rows = query(fixture_warehouse(), sql);
    for (n, point) in
        ["staged", "intent", "move:1", "move:2", "ledger", "commit"].iter().enumerate()
    {
        let warehouse = s3.url(&format!("wh{n}"));
        let args =
            ["partition", "--format", "cloudfront", "--source", &source, "--warehouse", &warehouse];
        let crashed = s3.logq(&args, &[("LOGQ_FAULT", point)]);
        assert_eq!(crashed.code, 86, "{point}: {}", crashed.stderr);
        // The lease of the killed job runs out (1 s in these tests); the next job takes over.
        std::thread::sleep(std::time::Duration::from_millis(1300));
        let rerun = s3.logq(&args, &[]).ok();
        assert!(rerun.stderr.contains("took over the lock"), "{point}: {}", rerun.stderr);
        assert_eq!(s3.query(&warehouse, sql).0, expected_rows, "{point}: every row once");
        let prefix = format!("wh{n}/");
        let stored = keys(&s3.endpoint, &s3.bucket, &prefix);
        assert!(!stored.iter().any(|k| k.contains("_logq/staging/")), "{point}: {stored:?}");
        // As many files in the table folders as the snapshot commits: none left behind.
        let status = s3.logq(&["status", "--warehouse", &warehouse, "--format", "json"], &[]);
        let status: Value = serde_json::from_str(&status.ok().stdout).unwrap();
        let present = stored.iter().filter(|k| k.ends_with(".parquet")).count();
        assert_eq!(Some(present as u64), status[0]["files"].as_u64(), "{point}: {stored:?}");
    }
    assert_eq!(s3.staged_locally(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_second_job_on_an_s3_warehouse_is_refused_while_the_lease_is_renewed() {
    let Some(s3) = S3Test::new() else { return };
    upload_folder(&s3.endpoint, &s3.bucket, "raw", &fixtures("cloudfront"));
    let (source, warehouse) = (s3.url("raw"), s3.url("wh"));
    let args =
        ["partition", "--format", "cloudfront", "--source", &source, "--warehouse", &warehouse];
    // Once the first job holds its lease it pauses for 6 s, six times the lease's time to
    // live: only the heartbeat keeps the lease.
    let first = s3.start_until(&args, &[("LOGQ_PAUSE", "staged:6000")], "wh/_logq/", "lock.json");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let second = s3.logq(&args, &[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("another logq job holds the warehouse lock"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("lock.json"), "{}", second.stderr);
    let status = s3.logq(&["status", "--warehouse", &warehouse], &[]).ok();
    assert!(status.stderr.contains("running now: `logq partition`"), "{}", status.stderr);

    let output = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("took over"), "{stderr}");
    let sql = "SELECT count(*) AS n FROM cloudfront";
    assert_eq!(s3.query(&warehouse, sql).0, query(fixture_warehouse(), sql));
}

/// A server of the test's own, which the test may stop and resume.
struct PrivateServer {
    process: std::process::Child,
    endpoint: String,
}

impl PrivateServer {
    fn start() -> PrivateServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let process = std::process::Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m moto.server starts (.ci/run installs moto)");
        let server = PrivateServer { process, endpoint: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the private S3 server did not start");
    }

    fn signal(&self, signal: &str) {
        let pid = self.process.id().to_string();
        let status = std::process::Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn the_server_stopping_during_a_commit_to_s3_loses_and_duplicates_nothing() {
    if endpoint().is_none() {
        return;
    }
    let server = PrivateServer::start();
    let s3 = S3Test {
        bucket: new_bucket(&server.endpoint),
        endpoint: server.endpoint.clone(),
        tmp: scratch(),
    };
    upload_folder(&s3.endpoint, &s3.bucket, "raw", &fixtures("cloudfront"));
    let (source, warehouse) = (s3.url("raw"), s3.url("wh"));
    let args =
        ["partition", "--format", "cloudfront", "--source", &source, "--warehouse", &warehouse];

    // The job pauses once its intent is written; the server stops answering then, and the
    // job's uploads time out (1 s a request, retried for 1 s).
    let settings = [("LOGQ_PAUSE", "intent:2500"), ("LOGQ_S3_TIMEOUT", "1")];
    let job = s3.start_until(&args, &settings, "wh/_logq/staging/", "_intent.json");
    server.signal("-STOP");
    let output = job.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("s3://{}/wh/", s3.bucket)), "names what failed: {stderr}");
    assert!(!stderr.contains(SECRET));

    // The server comes back (and finishes whatever it had received); the next job undoes
    // the failed one and ingests every object once.
    server.signal("-CONT");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let rerun = s3.logq(&args, &[]).ok();
    assert!(rerun.stderr.contains("was stopped before its commit"), "{}", rerun.stderr);
    let sql = "SELECT count(*) AS n, count(DISTINCT x_edge_request_id) AS ids FROM cloudfront";
    assert_eq!(s3.query(&warehouse, sql).0, query(fixture_warehouse(), sql));
    let status = s3.logq(&["status", "--warehouse", &warehouse, "--format", "json"], &[]).ok();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    let stored = keys(&s3.endpoint, &s3.bucket, "wh/cloudfront/");
    assert_eq!(Some(stored.len() as u64), status[0]["files"].as_u64(), "{stored:?}");
}

/// One CloudFront log line for `day`, with a request id of its own.
fn cloudfront_line(day: &str, id: &str) -> String {
    format!(
        "#Version: 1.0\n{day}\t10:00:00\tFRA56-P5\t100\t192.0.2.1\tGET\td1.cloudfront.net\t/p\t200\t-\tcurl/8.5.0\t-\t-\tHit\t{id}\twww.example.test\thttps\t200\t0.001\n"
    )
}

/// The numbers a job's summary gives for the one source: keys listed and requests made.
fn listed_and_requests(stderr: &str) -> (u64, u64) {
    let line = stderr.lines().find(|l| l.contains("objects listed in")).expect(stderr);
    let words: Vec<&str> = line.split_whitespace().collect();
    let requests = words.iter().position(|w| w.starts_with("requests")).unwrap() - 1;
    (words[0].parse().unwrap(), words[requests].parse().unwrap())
}

#[test]
fn a_nightly_run_on_s3_lists_the_days_it_needs_not_the_bucket() {
    let Some(s3) = S3Test::new() else { return };
    let start = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let day = |n: u64| (start + chrono::Days::new(n)).format("%Y-%m-%d").to_string();
    let upload = |distribution: &str, n: u64, hour: u32| {
        let key = format!("cf/{distribution}.{}-{hour:02}.x{n}h{hour}.gz", day(n));
        let body = cloudfront_line(&day(n), &format!("{distribution}-{n}-{hour}"));
        put(&s3.endpoint, &format!("/{}/{key}", s3.bucket), body.as_bytes());
    };
    // Forty days of two distributions, three objects an hour apart each day, flat as
    // CloudFront writes them.
    for n in 0..40 {
        for distribution in ["E1AAAA", "E2BBBB"] {
            for hour in [0, 1, 2] {
                upload(distribution, n, hour);
            }
        }
    }
    let (source, warehouse) = (s3.url("cf"), s3.url("wh"));
    let args =
        ["partition", "--format", "cloudfront", "--source", &source, "--warehouse", &warehouse];
    let first = s3.logq(&args, &[]).ok();
    assert_eq!(listed_and_requests(&first.stderr).0, 240, "{}", first.stderr);

    // Nothing new: only the last days are listed (newest key date, less the 24 h delivery
    // lag and two days: four days of each distribution, and one key each to skip from).
    let nightly = s3.logq(&args, &[]).ok();
    assert!(nightly.stderr.contains("nothing new"), "{}", nightly.stderr);
    assert!(
        nightly.stderr.contains(&format!("key dates {} to the last", day(36))),
        "{}",
        nightly.stderr
    );
    assert_eq!(listed_and_requests(&nightly.stderr), (2 * 4 * 3 + 2, 3), "{}", nightly.stderr);

    // A late object for a recent day and a new day are found.
    upload("E1AAAA", 38, 7);
    upload("E2BBBB", 40, 0);
    let next = s3.logq(&args, &[]).ok();
    assert!(next.stderr.contains(": 2 new,"), "{}", next.stderr);
    let sql = "SELECT count(*) AS n, count(DISTINCT x_edge_request_id) AS ids FROM cloudfront";
    assert_eq!(s3.query(&warehouse, sql).0[0]["ids"].as_u64(), Some(242));

    // Explicit bounds: exactly the objects of those days.
    let bounded = s3.url("wh-bounded");
    let args =
        ["partition", "--format", "cloudfront", "--source", &source, "--warehouse", &bounded];
    let run = s3.logq(&[&args[..], &["--since", &day(10), "--until", &day(12)]].concat(), &[]).ok();
    assert!(run.stderr.contains(": 18 new,"), "{}", run.stderr);
    let days = s3
        .query(&bounded, "SELECT min(dt) AS first, max(dt) AS last, count(*) AS n FROM cloudfront")
        .0;
    assert_eq!(days[0]["first"].as_str(), Some(day(10).as_str()));
    assert_eq!(days[0]["last"].as_str(), Some(day(12).as_str()));
    assert_eq!(days[0]["n"].as_u64(), Some(18));
}

#[test]
fn a_job_whose_lease_is_taken_over_does_not_commit() {
    let Some(s3) = S3Test::new() else { return };
    upload_folder(&s3.endpoint, &s3.bucket, "raw", &fixtures("cloudfront"));
    let (source, warehouse) = (s3.url("raw"), s3.url("wh"));
    let args =
        ["partition", "--format", "cloudfront", "--source", &source, "--warehouse", &warehouse];
    // The job pauses after uploading its files; meanwhile something else writes the lease
    // (as a job that took it over would), so the job's next renewal finds it changed.
    let job =
        s3.start_until(&args, &[("LOGQ_PAUSE", "ledger:5000")], "wh/_logq/ledger/", ".ndjson");
    // A signed PUT (the server refuses anonymous writes over an object), with boto3, which
    // comes with the test server.
    let script = format!(
        "import boto3; boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
         aws_access_key_id='k', aws_secret_access_key='s').put_object(Bucket='{}', \
         Key='wh/_logq/lock.json', Body=b'{{\"taken\": true}}')",
        s3.endpoint, s3.bucket
    );
    let wrote = std::process::Command::new("python3").args(["-c", &script]).status().unwrap();
    assert!(wrote.success());
    let output = job.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("was taken over by another job; nothing was committed"), "{stderr}");
    let stored = keys(&s3.endpoint, &s3.bucket, "wh/");
    assert!(!stored.iter().any(|k| k.contains("_logq/snapshots/")), "{stored:?}");
    assert!(
        !stored.iter().any(|k| k.ends_with(".parquet")),
        "its uploads are taken back: {stored:?}"
    );

    // The next job takes the lease over (its holder cannot be read) and commits everything.
    let rerun = s3.logq(&args, &[]).ok();
    let sql = "SELECT count(*) AS n, count(DISTINCT x_edge_request_id) AS ids FROM cloudfront";
    assert_eq!(s3.query(&warehouse, sql).0, query(fixture_warehouse(), sql), "{}", rerun.stderr);
}
