//! Synthetic Application Load Balancer access logs: one load balancer with two nodes, each
//! writing a gzip file every five minutes named as ELB delivers them, with the current
//! 30-field layout (through `conn_trace_id`), keep-alive clients, a few redirects, 4xx and
//! 5xx responses, and requests that never reached a target (`-1` timings).

use std::fmt::Write as _;
use std::io;

use super::{
    Generated, LogFile, Plan, Rng, UA_WEIGHTS, USER_AGENTS, client_pool, cumulative, hour_weight,
    zipf,
};
use crate::formats::days_to_date;

/// Average bytes of a generated line, to turn a size into a line count.
const AVERAGE_LINE: u64 = 620;
const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const LB: &str = "app/shop-lb/50dc6c495c0c9188";
const NODES: [&str; 2] = ["10.0.1.17", "10.0.2.41"];
const TARGETS: [&str; 4] =
    ["10.0.1.100:8080", "10.0.1.101:8080", "10.0.2.100:8080", "10.0.2.101:8080"];
const PATHS: [&str; 7] =
    ["/", "/cart", "/api/v1/items", "/api/v1/orders", "/login", "/health", "/static/app.js"];
/// (status, weight)
const STATUSES: [(u16, f64); 8] = [
    (200, 85.0),
    (301, 2.0),
    (304, 3.0),
    (404, 4.0),
    (403, 1.0),
    (500, 1.5),
    (502, 1.5),
    (503, 2.0),
];

pub(super) fn generate(plan: &Plan) -> io::Result<Generated> {
    let mut rng = Rng::new(plan.seed);
    let clients = client_pool(&mut rng, 20_000);
    let client_weights = zipf(clients.len(), 1.05);
    let ua_weights = cumulative(&UA_WEIGHTS);
    let status_weights = cumulative(&STATUSES.map(|s| s.1));
    let hours: Vec<f64> = (0..24).map(hour_weight).collect();
    let hour_total: f64 = hours.iter().sum();
    let total = plan.bytes / AVERAGE_LINE;

    let mut generated = Generated::default();
    let mut line = String::with_capacity(1024);
    for day in 0..i64::from(plan.days) {
        let date = days_to_date(plan.start_day + day);
        let compact = date.replace('-', "");
        for hour in 0..24u32 {
            let share = hours[hour as usize] / hour_total / f64::from(plan.days);
            let per_file = (total as f64 * share / 12.0 / NODES.len() as f64).round() as u64;
            for slot in 0..12u32 {
                for node in NODES {
                    if per_file == 0 {
                        continue;
                    }
                    let end_minute = slot * 5 + 5;
                    let (end_hour, end_minute) =
                        if end_minute == 60 { ((hour + 1) % 24, 0) } else { (hour, end_minute) };
                    let name = format!(
                        "{ACCOUNT}_elasticloadbalancing_{REGION}_app.shop-lb.50dc6c495c0c9188_{compact}T{end_hour:02}{end_minute:02}Z_{node}_{}.log{}",
                        rng.token(8, b"0123456789abcdefghijklmnopqrstuvwxyz"),
                        if plan.gzip { ".gz" } else { "" }
                    );
                    let mut file = LogFile::create(&plan.out.join(name), plan.gzip)?;
                    let base = i64::from(hour) * 3600 + i64::from(slot) * 300;
                    for _ in 0..per_file {
                        line.clear();
                        let second = base + rng.below(300) as i64;
                        let client = &clients[rng.pick(&client_weights)];
                        let ua = USER_AGENTS[rng.pick(&ua_weights)].replace("%20", " ");
                        let status = STATUSES[rng.pick(&status_weights)].0;
                        write_line(&mut line, &mut rng, &date, second, client, &ua, status);
                        file.line(&line)?;
                    }
                    generated.files += 1;
                    generated.lines += file.lines;
                    generated.bytes += file.bytes;
                    file.finish()?;
                }
            }
        }
    }
    Ok(generated)
}

fn write_line(
    out: &mut String,
    rng: &mut Rng,
    date: &str,
    second: i64,
    client: &str,
    ua: &str,
    status: u16,
) {
    let micros = rng.below(1_000_000);
    let time = format!(
        "{date}T{:02}:{:02}:{:02}.{micros:06}Z",
        second / 3600,
        second / 60 % 60,
        second % 60
    );
    let created = format!(
        "{date}T{:02}:{:02}:{:02}.{:06}Z",
        second / 3600,
        second / 60 % 60,
        second % 60,
        micros / 2
    );
    let path = PATHS[rng.below(PATHS.len() as u64) as usize];
    let client = if client.contains(':') { format!("[{client}]") } else { client.to_owned() };
    let port = 1024 + rng.below(64_000);
    let (target, times, target_status, actions) = match status {
        301 => ("-".to_owned(), "-1 -1 -1".to_owned(), "-", "redirect"),
        503 if rng.below(2) == 0 => ("-".to_owned(), "-1 -1 -1".to_owned(), "-", "forward"),
        _ => (
            TARGETS[rng.below(TARGETS.len() as u64) as usize].to_owned(),
            format!("0.000 {:.3} 0.000", rng.log_normal(40.0, 0.9) as f64 / 1000.0),
            "",
            "forward",
        ),
    };
    let target_status = if target_status.is_empty() { status.to_string() } else { "-".to_owned() };
    let redirect = if status == 301 {
        format!("\"https://shop.example-shop.test:443{path}\"")
    } else {
        "\"-\"".to_owned()
    };
    let sent = match status {
        200 => rng.log_normal(9_000.0, 1.0),
        304 => 0,
        _ => rng.log_normal(400.0, 0.3),
    };
    let _ = write!(
        out,
        r#"https {time} {LB} {client}:{port} {target} {times} {status} {target_status} {received} {sent} "{method} https://shop.example-shop.test:443{path} HTTP/2.0" "{ua}" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/shop-web/73e2d6bc24d8a067 "Root=1-{trace:08x}-{trace_tail}" "shop.example-shop.test" "arn:aws:acm:{REGION}:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012" 1 {created} "{actions}" {redirect} "-" "{target_list}" "{target_status_list}" "-" "-" TID_{tid}"#,
        received = 200 + rng.below(900),
        method = if rng.below(10) == 0 { "POST" } else { "GET" },
        trace = second,
        trace_tail = rng.token(24, b"0123456789abcdef"),
        target_list = target.as_str(),
        target_status_list = target_status,
        tid = rng.token(32, b"0123456789abcdef"),
    );
}
