//! Synthetic CloudFront standard logs: several distributions, one or more gzip files per
//! distribution and hour, the 33-field header, unsorted times within an hour.

use std::fmt::Write as _;
use std::io;

use super::{
    Generated, LogFile, Plan, Rng, UA_WEIGHTS, USER_AGENTS, client_pool, cumulative, hour_weight,
    zipf,
};
use crate::formats::days_to_date;

const HEADER: &str = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";

/// Average bytes of a generated line, to turn a size into a line count.
const AVERAGE_LINE: u64 = 430;
/// Lines per file before an hour's traffic is split into another file.
const LINES_PER_FILE: u64 = 60_000;

const DISTRIBUTIONS: [(&str, &str, &str); 3] = [
    ("E1Q7GZK3M8XW2P", "d2x9k4qtr7b1vz.cloudfront.net", "www.example-shop.test"),
    ("E3HV0NB6TS4YDA", "d1m5c8wq0ae3ty.cloudfront.net", "static.example-shop.test"),
    ("E2LR9PF5UJ1KCE", "d3pk7zs2vn6gfh.cloudfront.net", "api.example-shop.test"),
];
const DISTRIBUTION_WEIGHTS: [f64; 3] = [5.0, 3.0, 2.0];

const EDGES: [&str; 12] = [
    "IAD89-C1", "IAD61-P2", "FRA56-P5", "LHR62-C2", "CDG50-P1", "NRT57-C4", "SIN2-C1", "GRU3-P1",
    "SEA19-C3", "DFW56-P1", "SYD1-C2", "BOM78-P3",
];

/// (status, weight, result type)
const STATUSES: [(u16, f64, &str); 10] = [
    (200, 78.0, "Hit"),
    (304, 7.0, "Hit"),
    (206, 2.0, "Hit"),
    (301, 1.0, "Redirect"),
    (404, 5.5, "Error"),
    (403, 2.5, "Error"),
    (500, 0.6, "Error"),
    (502, 0.6, "Error"),
    (503, 0.5, "Error"),
    (0, 0.6, "Error"),
];

struct Page {
    stem: String,
    content_type: &'static str,
    median_size: f64,
}

fn pages(rng: &mut Rng, n: usize) -> Vec<Page> {
    let kinds: [(&str, &str, &str, f64); 6] = [
        ("/", ".html", "text/html", 24_000.0),
        ("/static/js/", ".js", "application/javascript", 90_000.0),
        ("/static/css/", ".css", "text/css", 30_000.0),
        ("/images/products/", ".webp", "image/webp", 60_000.0),
        ("/api/v1/", "", "application/json", 2_500.0),
        ("/downloads/", ".pdf", "application/pdf", 900_000.0),
    ];
    let words = [
        "index", "cart", "checkout", "search", "item", "gallery", "about", "login", "account",
        "orders", "app", "vendor", "main", "runtime", "winter", "sale", "shoes", "coats",
    ];
    let mut pages =
        vec![Page { stem: "/index.html".into(), content_type: "text/html", median_size: 24_000.0 }];
    while pages.len() < n {
        let (prefix, ext, content_type, median) = kinds[rng.below(kinds.len() as u64) as usize];
        let word = words[rng.below(words.len() as u64) as usize];
        let stem = match ext {
            ".js" | ".css" => format!("{prefix}{word}.{}{ext}", rng.token(8, b"0123456789abcdef")),
            "" => format!("{prefix}{word}/{}", rng.below(5000)),
            _ => format!("{prefix}{word}-{}{ext}", rng.below(100_000)),
        };
        pages.push(Page { stem, content_type, median_size: median });
    }
    pages
}

pub(super) fn generate(plan: &Plan) -> io::Result<Generated> {
    let mut rng = Rng::new(plan.seed);
    let clients = client_pool(&mut rng, 40_000);
    let client_weights = zipf(clients.len(), 1.05);
    let pages = pages(&mut rng, 3_000);
    let page_weights = zipf(pages.len(), 1.15);
    let ua_weights = cumulative(&UA_WEIGHTS);
    let status_weights = cumulative(&STATUSES.map(|s| s.1));
    let hours: Vec<f64> = (0..24).map(hour_weight).collect();
    let hour_total: f64 = hours.iter().sum();
    let total_lines = plan.bytes / AVERAGE_LINE;
    let dist_total: f64 = DISTRIBUTION_WEIGHTS.iter().sum();

    let mut generated = Generated::default();
    let mut line = String::with_capacity(1024);
    for day in 0..i64::from(plan.days) {
        let date = days_to_date(plan.start_day + day);
        for hour in 0..24u32 {
            let hour_share = hours[hour as usize] / hour_total / f64::from(plan.days);
            for (d, (id, domain, host)) in DISTRIBUTIONS.iter().enumerate() {
                let lines = (total_lines as f64 * hour_share * DISTRIBUTION_WEIGHTS[d] / dist_total)
                    .round() as u64;
                let mut left = lines;
                while left > 0 {
                    let in_file = left.min(LINES_PER_FILE);
                    left -= in_file;
                    let name = format!(
                        "{id}.{date}-{hour:02}.{}{}",
                        rng.token(8, b"0123456789abcdefghijklmnopqrstuvwxyz"),
                        if plan.gzip { ".gz" } else { "" }
                    );
                    let mut file = LogFile::create(&plan.out.join(name), plan.gzip)?;
                    file.header(HEADER)?;
                    for _ in 0..in_file {
                        line.clear();
                        let client = &clients[rng.pick(&client_weights)];
                        let page = &pages[rng.pick(&page_weights)];
                        write_line(
                            &mut line,
                            &mut rng,
                            &date,
                            hour,
                            domain,
                            host,
                            client,
                            page,
                            ua_weights.as_slice(),
                            status_weights.as_slice(),
                        );
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

#[expect(clippy::too_many_arguments, reason = "one call site, each argument a distinct draw")]
fn write_line(
    line: &mut String,
    rng: &mut Rng,
    date: &str,
    hour: u32,
    domain: &str,
    host: &str,
    client: &str,
    page: &Page,
    ua_weights: &[f64],
    status_weights: &[f64],
) {
    let (status, _, mut result) = STATUSES[rng.pick(status_weights)];
    let edge = EDGES[rng.below(EDGES.len() as u64) as usize];
    let method = match rng.below(100) {
        0..=91 => "GET",
        92..=95 => "HEAD",
        96..=98 => "POST",
        _ => "OPTIONS",
    };
    if status == 200 && rng.below(100) < 28 {
        result = "Miss";
    } else if status == 200 && rng.below(100) < 4 {
        result = "RefreshHit";
    }
    let body = match status {
        200 | 206 => rng.log_normal(page.median_size, 0.8),
        304 | 0 => 0,
        _ => rng.log_normal(900.0, 0.3),
    };
    let sc_bytes = if status == 0 { rng.below(400) } else { body + 300 + rng.below(200) };
    let https = rng.below(100) < 96;
    let taken = match result {
        "Hit" | "RefreshHit" => 0.001 + rng.unit() * 0.02,
        _ => 0.02 + rng.log_normal(120.0, 0.9) as f64 / 1000.0,
    };
    let ttfb = taken * (0.6 + rng.unit() * 0.4);
    let query = match rng.below(10) {
        0 => format!(
            "q={}&page={}",
            ["shoes", "red%20coat", "sale", "gift%2Bcard"][rng.below(4) as usize],
            rng.below(9) + 1
        ),
        1 => format!("utm_source=newsletter&v={}", rng.below(100)),
        _ => "-".to_owned(),
    };
    let referer = if rng.below(3) == 0 { format!("https://{host}/") } else { "-".to_owned() };
    let (ssl_protocol, ssl_cipher) = if https {
        if rng.below(4) == 0 {
            ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
        } else {
            ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
        }
    } else {
        ("-", "-")
    };
    let (range_start, range_end) = if status == 206 {
        let start = rng.below(body.max(1));
        (start.to_string(), (start + body / 4).to_string())
    } else {
        ("-".to_owned(), "-".to_owned())
    };
    let content_len = if status == 304 || status == 0 { "-".to_owned() } else { body.to_string() };
    let detailed = if status >= 500 { "OriginConnectError" } else { result };
    let _ = write!(
        line,
        "{date}\t{hour:02}:{:02}:{:02}\t{edge}\t{sc_bytes}\t{client}\t{method}\t{domain}\t{}\t{:03}\t{referer}\t{}\t{query}\t-\t{result}\t{}\t{host}\t{}\t{}\t{taken:.3}\t-\t{ssl_protocol}\t{ssl_cipher}\t{result}\t{}\t-\t-\t{}\t{ttfb:.3}\t{detailed}\t{}\t{content_len}\t{range_start}\t{range_end}",
        rng.below(60),
        rng.below(60),
        page.stem,
        status,
        USER_AGENTS[rng.pick(ua_weights)],
        rng.token(56, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
        if https { "https" } else { "http" },
        200 + rng.below(600),
        if rng.below(3) == 0 { "HTTP/1.1" } else { "HTTP/2.0" },
        1024 + rng.below(64_000),
        if status == 0 { "-" } else { page.content_type },
    );
}
