//! Cluster mode: a scheduler and executors of this very build, on loopback, answering the
//! saved queries and ad-hoc SQL exactly as a local run does; and what the user sees when an
//! executor is lost in the middle of a query.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::library::{oracle_tables, same};
use crate::support::*;

/// A scheduler and its executors, stopped when dropped (a failing test included).
pub struct TestCluster {
    pub address: String,
    scheduler: Child,
    executors: Vec<Child>,
    logs: tempfile::TempDir,
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain([&mut self.scheduler]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl TestCluster {
    /// A scheduler that gives up on a silent executor after 3 s, and `executors` executors
    /// of 2 task slots each, their reads delayed by `read_delay_ms`.
    fn start(executors: usize, read_delay_ms: u64) -> TestCluster {
        TestCluster::start_with(executors, read_delay_ms, &[])
    }

    /// [`TestCluster::start`], the executors with `env` set (credentials, an endpoint).
    pub fn start_with(executors: usize, read_delay_ms: u64, env: &[(&str, &str)]) -> TestCluster {
        let logs = scratch();
        let dir = logs.path().to_owned();
        let port = free_port();
        let spawn = |args: &[&str], log: &str| -> Child {
            let log = std::fs::File::create(dir.join(log)).unwrap();
            let mut command = Command::new(env!("CARGO_BIN_EXE_logq"));
            command
                .args(args)
                .env("LOGQ_LOG", "info")
                .env("LOGQ_EXECUTOR_READ_DELAY_MS", read_delay_ms.to_string())
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(log);
            command.spawn().expect("logq starts")
        };
        let scheduler = spawn(
            &["scheduler", "--port", &port.to_string(), "--executor-timeout", "3s"],
            "scheduler.log",
        );
        let mut cluster = TestCluster {
            address: format!("127.0.0.1:{port}"),
            scheduler,
            executors: Vec::new(),
            logs,
        };
        wait_for_port(port, "the scheduler");
        for n in 0..executors {
            let (flight, tasks) = (free_port(), free_port());
            let args = [
                "executor",
                "--scheduler",
                &cluster.address,
                "--port",
                &flight.to_string(),
                "--grpc-port",
                &tasks.to_string(),
                "--concurrency",
                "2",
                "--heartbeat",
                "1s",
            ];
            cluster.executors.push(spawn(&args, &format!("executor-{n}.log")));
            wait_for_port(flight, "an executor");
            wait_for_port(tasks, "an executor");
        }
        // Registered once a query runs; the heartbeat a second later has both registered.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = cluster.sql(oracle_tables(), "SELECT count(*) AS n FROM cloudfront");
            if run.code == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the cluster never answered:\n{}", run.stderr);
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(1500));
        cluster
    }

    fn sql(&self, warehouse: &Path, sql: &str) -> Run {
        let warehouse = warehouse.to_str().unwrap();
        logq(&[
            "sql",
            sql,
            "--warehouse",
            warehouse,
            "--format",
            "json",
            "--no-reuse",
            "--cluster",
            &self.address,
        ])
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }
}

fn local_sql(warehouse: &Path, sql: &str) -> Run {
    let warehouse = warehouse.to_str().unwrap();
    logq(&["sql", sql, "--warehouse", warehouse, "--format", "json", "--no-reuse"])
}

fn rows(run: Run) -> Value {
    let run = run.ok();
    serde_json::from_str(&run.stdout).unwrap()
}

/// Aggregations, joins across tables, window functions, logq's `date_trunc` and the JSON
/// functions, each with an order that makes its answer one sequence of rows.
const AD_HOC: &[&str] = &[
    "SELECT dt, count(*) AS n, sum(sc_bytes) AS bytes, count(DISTINCT c_ip) AS clients, \
     avg(time_taken) AS mean_time FROM cloudfront GROUP BY dt ORDER BY dt",
    "SELECT date_trunc('hour', event_time) AS hour, count(*) AS n FROM cloudfront \
     GROUP BY hour ORDER BY hour",
    "SELECT x_edge_location, approx_distinct(c_ip) AS clients, max(sc_bytes) AS largest \
     FROM cloudfront GROUP BY x_edge_location ORDER BY x_edge_location",
    "SELECT w.client_ip, count(*) AS waf_requests, max(c.hits) AS cloudfront_hits \
     FROM waf w JOIN (SELECT c_ip, count(*) AS hits FROM cloudfront GROUP BY c_ip) c \
     ON w.client_ip = c.c_ip GROUP BY w.client_ip ORDER BY w.client_ip",
    "SELECT c.dt, count(*) AS requests, min(t.events) AS trail_events FROM cloudfront c \
     LEFT JOIN (SELECT dt, count(*) AS events FROM cloudtrail GROUP BY dt) t ON c.dt = t.dt \
     GROUP BY c.dt ORDER BY c.dt",
    "SELECT c_ip, n, rank() OVER (ORDER BY n DESC, c_ip) AS place, \
     sum(n) OVER (ORDER BY n DESC, c_ip ROWS UNBOUNDED PRECEDING) AS running \
     FROM (SELECT c_ip, count(*) AS n FROM cloudfront GROUP BY c_ip) ORDER BY place LIMIT 25",
    "SELECT dt, x_edge_request_id, row_number() OVER (PARTITION BY dt ORDER BY event_time, \
     x_edge_request_id) AS nth, lag(sc_status) OVER (PARTITION BY dt ORDER BY event_time, \
     x_edge_request_id) AS previous_status FROM cloudfront ORDER BY dt, nth",
    "SELECT event_name, json_get_str(request_parameters, 'bucketName') AS bucket, \
     request_parameters->>'userName' AS user_name, count(*) AS n FROM cloudtrail \
     GROUP BY 1, 2, 3 ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST",
    "SELECT event_source, count(*) FILTER (WHERE json_contains(request_parameters, \
     'bucketName')) AS with_bucket, count(*) AS n FROM cloudtrail GROUP BY event_source \
     ORDER BY event_source",
    "SELECT bucket, operation, count(*) AS n, sum(bytes_sent) AS sent FROM s3_access \
     WHERE event_time >= TIMESTAMP '2026-11-01 00:00:00' GROUP BY bucket, operation \
     ORDER BY bucket, operation",
    "WITH blocked AS (SELECT DISTINCT client_ip FROM waf WHERE action = 'BLOCK') \
     SELECT a.elb_status_code, count(*) AS n, count(b.client_ip) AS from_blocked FROM alb a \
     LEFT JOIN blocked b ON a.client_ip = b.client_ip GROUP BY a.elb_status_code \
     ORDER BY a.elb_status_code",
    "SELECT elb_status_code, count(*) AS n FROM alb a WHERE NOT EXISTS (SELECT 1 FROM waf w \
     WHERE w.client_ip = a.client_ip AND w.action = 'BLOCK') GROUP BY elb_status_code \
     ORDER BY elb_status_code",
    "SELECT count(*) AS n, count(w.client_ip) AS pairs FROM alb a RIGHT JOIN waf w \
     ON a.client_ip < w.client_ip",
];

#[test]
fn the_cluster_answers_every_saved_and_ad_hoc_query_as_a_local_run_does() {
    let cluster = TestCluster::start(2, 0);
    let warehouse = oracle_tables();

    for sql in AD_HOC {
        eprintln!("{sql}");
        let here = rows(local_sql(warehouse, sql));
        let there = cluster.sql(warehouse, sql);
        let footer = there.stderr.clone();
        let there = rows(there);
        assert!(here.as_array().is_some_and(|r| !r.is_empty()), "no rows for {sql}");
        assert!(same(&there, &here), "{sql}:\n cluster: {there}\n local:   {here}");
        assert!(footer.contains("on the cluster (job "), "{footer}");
    }

    let text = std::fs::read_to_string(root().join("fixtures/expected_queries.json")).unwrap();
    let expected: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let wh = warehouse.to_str().unwrap();
    for (name, want) in &expected {
        let mut args = vec!["run", name, "--warehouse", wh, "--format", "json", "--no-reuse"];
        let params: Vec<String> = want["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(param, value)| format!("{param}={}", value.as_str().unwrap()))
            .collect();
        for param in &params {
            args.extend(["--param", param]);
        }
        eprintln!("logq {}", args.join(" "));
        let here = rows(logq(&args));
        args.extend(["--cluster", &cluster.address]);
        let there = rows(logq(&args));
        assert!(same(&there, &here), "{name}:\n cluster: {there}\n local:   {here}");
        assert!(
            same(&there, &want["rows"]),
            "{name}:\n cluster: {there}\n oracle: {}",
            want["rows"]
        );
    }
    // The dashboard's panels, made on the cluster, hold the rows a local dashboard holds.
    let panels = |cluster_args: &[&str]| -> Vec<(Value, Value)> {
        let dir = scratch();
        let html = dir.path().join("dashboard.html");
        let mut args = vec!["dashboard", "--warehouse", wh, "--out", html.to_str().unwrap()];
        args.extend(["--param", "since=2026-10-01", "--param", "until=2026-12-01"]);
        args.extend(cluster_args);
        logq(&args).ok();
        let text = std::fs::read_to_string(&html).unwrap();
        let data = text.split("<script type=\"application/json\" id=\"data\">").nth(1).unwrap();
        let data = data.split("</script>").next().unwrap().replace("<\\/", "</");
        let page: Value = serde_json::from_str(&data).unwrap();
        let panels = page["panels"].as_array().unwrap();
        panels.iter().map(|p| (p["name"].clone(), p["rows"].clone())).collect()
    };
    let here = panels(&["--no-reuse"]);
    let there = panels(&["--no-reuse", "--cluster", &cluster.address]);
    assert!(here.len() > 3 && here.iter().all(|(_, rows)| rows.is_array()), "{here:?}");
    assert_eq!(there, here);

    // Both executors took part.
    for n in 0..2 {
        let log = cluster.log(&format!("executor-{n}.log"));
        assert!(log.contains("Execute task"), "executor {n} ran no task:\n{log}");
    }
}

#[test]
fn the_cluster_is_governed_as_a_local_run_is() {
    let cluster = TestCluster::start(1, 0);
    let warehouse = oracle_tables().to_str().unwrap();
    let sql = "SELECT cs_uri_stem, count(*) AS n FROM cloudfront GROUP BY 1 ORDER BY 2 DESC, 1";
    let base = ["sql", sql, "--warehouse", warehouse, "--cluster", &cluster.address];

    // Over the cap: refused before anything is submitted, so the scheduler sees no job.
    let jobs = || cluster.log("scheduler.log").matches("job received").count();
    let jobs_before = jobs();
    let refused = logq(&[&base[..], &["--max-bytes-scanned", "1KiB", "--no-reuse"]].concat());
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--max-bytes-scanned"), "{}", refused.stderr);
    assert_eq!(jobs(), jobs_before);

    // Bytes the executors read are in the footer, beside the footers read here.
    let ran = logq(&[&base[..], &["--no-reuse"]].concat()).ok();
    assert_eq!(jobs(), jobs_before + 1);
    let (fetched, footers) = (fetched_bytes(&ran.stderr), bytes_before(&ran.stderr, "of"));
    assert!(!ran.stderr.contains("share unknown"), "{}", ran.stderr);
    assert!(footers > 0.0 && fetched > footers, "{}", ran.stderr);
    // The same column chunks as a local run reads, no more and no fewer.
    let local = logq(&["sql", sql, "--warehouse", warehouse, "--no-reuse"]).ok();
    assert_eq!(fetched, fetched_bytes(&local.stderr), "{}\n{}", ran.stderr, local.stderr);

    // A result is stored and reused as locally, with the cache this test binary uses.
    let first = logq(&[&base[..], &["--format", "csv"]].concat()).ok();
    let again = logq(&[&base[..], &["--format", "csv"]].concat()).ok();
    assert!(again.stderr.contains("reused result"), "{}", again.stderr);
    assert_eq!(again.stdout, first.stdout);

    // Joins Ballista would answer wrongly, and recursion it cannot send to its executors,
    // are refused before they are submitted.
    for wrong_on_ballista in [
        "SELECT count(*) FROM alb WHERE client_ip NOT IN (SELECT client_ip FROM waf)",
        "SELECT count(*) FROM alb a LEFT JOIN waf w ON a.client_ip < w.client_ip",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT r.n + 1 FROM r, \
         (SELECT count(*) AS c FROM alb) a WHERE r.n < 3 + a.c * 0) SELECT max(n) FROM r",
    ] {
        let on = |cluster: &str| {
            let args = ["sql", wrong_on_ballista, "--warehouse", warehouse, "--no-reuse"];
            logq(&[&args[..], &["--cluster", cluster]].concat())
        };
        let before = jobs();
        let run = on(&cluster.address);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("cannot run on the cluster"), "{}", run.stderr);
        assert!(run.stderr.contains("--cluster local"), "{}", run.stderr);
        assert_eq!(jobs(), before);
        on("local").ok();
    }

    // An unreachable scheduler is a clear failure, not a hang.
    let port = free_port();
    let nowhere = format!("127.0.0.1:{port}");
    let gone = logq(&["sql", sql, "--warehouse", warehouse, "--no-reuse", "--cluster", &nowhere]);
    assert_eq!(gone.code, 2, "{}", gone.stderr);
    assert!(gone.stderr.contains("cannot reach the scheduler"), "{}", gone.stderr);
}

#[test]
fn an_executor_lost_mid_query_costs_a_retry_or_a_clear_error_never_a_wrong_answer() {
    // Every read on the executors waits 150 ms, so the query is still running when one of
    // them is killed.
    let mut cluster = TestCluster::start(2, 150);
    let warehouse = oracle_tables();
    let sql = "SELECT c.c_ip, count(*) AS n, sum(c.sc_bytes) AS bytes, max(w.action) AS waf \
               FROM cloudfront c LEFT JOIN waf w ON c.c_ip = w.client_ip \
               GROUP BY c.c_ip ORDER BY n DESC, c.c_ip";
    let here = rows(local_sql(warehouse, sql));

    let wh = warehouse.to_str().unwrap();
    let jobs = || cluster.log("scheduler.log").matches("job received").count();
    let jobs_before = jobs();
    let started = Instant::now();
    let query = command(
        &root(),
        &[
            "sql",
            sql,
            "--warehouse",
            wh,
            "--format",
            "json",
            "--no-reuse",
            "--cluster",
            &cluster.address,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Once the scheduler has the job and its tasks have begun reading, one executor dies.
    while jobs() == jobs_before {
        assert!(started.elapsed() < Duration::from_secs(30), "the job never reached the scheduler");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(400));
    let mut query = query;
    assert!(
        query.try_wait().unwrap().is_none(),
        "the query ended before an executor was lost, so nothing was tested"
    );
    let killed_at = started.elapsed();
    let mut lost = cluster.executors.remove(0);
    lost.kill().unwrap();
    lost.wait().unwrap();
    while query.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = query.kill();
            panic!("the query still had no answer 2 minutes after an executor was lost");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = query.wait_with_output().unwrap();
    let (code, stdout, stderr) = (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    eprintln!(
        "executor killed {:.1} s into the query; after {:.1} s the user saw exit {code}:\n{stderr}",
        killed_at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    match code {
        0 => {
            let there: Value = serde_json::from_str(&stdout).unwrap();
            assert!(same(&there, &here), "wrong answer after a lost executor:\n{there}\n{here}");
        }
        2 => {
            // Whatever was printed before the failure is not passed off as the answer.
            let printed = serde_json::from_str::<Value>(&stdout);
            assert!(printed.is_err() || same(&printed.unwrap(), &here), "{stdout}");
            assert!(
                stderr.contains("failed on the cluster")
                    || stderr.contains("cannot read the result"),
                "{stderr}"
            );
        }
        other => panic!("exit {other}:\n{stderr}"),
    }
    // The executor left still answers.
    let after = rows(cluster.sql(warehouse, sql));
    assert!(same(&after, &here));
}
