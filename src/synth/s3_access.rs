//! Synthetic S3 server access logs: several buckets, many small files named for their
//! delivery time, 27-field records.

use std::fmt::Write as _;
use std::io;

use super::{Generated, LogFile, Plan, Rng, client_pool, cumulative, hour_weight, zipf};
use crate::formats::days_to_date;

/// Average bytes of a generated line, to turn a size into a line count.
const AVERAGE_LINE: u64 = 520;
/// Records per delivered file; S3 delivers many small files.
const LINES_PER_FILE: u64 = 2_000;

const BUCKETS: [(&str, &str); 3] = [
    ("media-assets-prod", "eu-west-1"),
    ("app-uploads-prod", "eu-west-1"),
    ("static-site-www", "us-east-1"),
];
const OWNER: &str = "8d3e5f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e";
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// (operation, method, weight)
const OPERATIONS: [(&str, &str, f64); 7] = [
    ("REST.GET.OBJECT", "GET", 70.0),
    ("REST.HEAD.OBJECT", "HEAD", 10.0),
    ("REST.PUT.OBJECT", "PUT", 8.0),
    ("REST.GET.BUCKET", "GET", 5.0),
    ("REST.DELETE.OBJECT", "DELETE", 2.0),
    ("REST.COPY.OBJECT_GET", "PUT", 1.0),
    ("REST.GET.ACL", "GET", 1.0),
];

const AGENTS: [&str; 6] = [
    "aws-sdk-java/2.29.1 Linux/6.1.112 OpenJDK_64-Bit_Server_VM/21.0.5",
    "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.1 md/arch#x86_64",
    "Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.7",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "S3Console/0.4",
    "aws-sdk-go-v2/1.32.4 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/s3#1.67.0",
];

pub(super) fn generate(plan: &Plan) -> io::Result<Generated> {
    let mut rng = Rng::new(plan.seed);
    let clients = client_pool(&mut rng, 5_000);
    let client_weights = zipf(clients.len(), 1.2);
    let keys: Vec<String> = (0..20_000)
        .map(|i| {
            let folder = ["images", "videos", "uploads/2026", "exports", "caf%C3%A9/menus"][i % 5];
            format!(
                "{folder}/{}-{i}.{}",
                rng.token(10, b"abcdefghijklmnopqrstuvwxyz0123456789"),
                ["jpg", "mp4", "png", "csv", "pdf"][i % 5]
            )
        })
        .collect();
    let key_weights = zipf(keys.len(), 1.1);
    let op_weights = cumulative(&OPERATIONS.map(|o| o.2));
    let requesters = [
        "arn:aws:iam::123456789012:user/deploy".to_owned(),
        "arn:aws:sts::123456789012:assumed-role/app-server/i-0abc12de34f567890".to_owned(),
        OWNER.to_owned(),
        "-".to_owned(),
    ];
    let hours: Vec<f64> = (0..24).map(hour_weight).collect();
    let hour_total: f64 = hours.iter().sum();
    let total_lines = plan.bytes / AVERAGE_LINE;

    let mut generated = Generated::default();
    let mut line = String::with_capacity(1024);
    for day in 0..i64::from(plan.days) {
        let date = days_to_date(plan.start_day + day);
        let (year, month, dom) = (&date[0..4], &date[5..7], &date[8..10]);
        let month_name = MONTHS[month.parse::<usize>().expect("date has a month") - 1];
        for hour in 0..24u32 {
            let lines =
                (total_lines as f64 * hours[hour as usize] / hour_total / f64::from(plan.days))
                    .round() as u64;
            let mut left = lines;
            while left > 0 {
                let in_file = left.min(LINES_PER_FILE);
                left -= in_file;
                // Named for its delivery time, a little after the hour it covers.
                let name = format!(
                    "{date}-{hour:02}-{:02}-{:02}-{}{}",
                    rng.below(60),
                    rng.below(60),
                    rng.token(16, b"0123456789ABCDEF"),
                    if plan.gzip { ".gz" } else { "" }
                );
                let mut file = LogFile::create(&plan.out.join(name), plan.gzip)?;
                for _ in 0..in_file {
                    line.clear();
                    let (bucket, region) = BUCKETS[rng.below(BUCKETS.len() as u64) as usize];
                    let (operation, method, _) = OPERATIONS[rng.pick(&op_weights)];
                    let key = &keys[rng.pick(&key_weights)];
                    let roll = rng.below(1000);
                    let (status, error) = match roll {
                        0..=899 => (
                            if method == "PUT" {
                                200
                            } else if roll.is_multiple_of(11) {
                                304
                            } else {
                                200
                            },
                            "-",
                        ),
                        900..=949 => (404, "NoSuchKey"),
                        950..=984 => (403, "AccessDenied"),
                        985..=994 => (503, "SlowDown"),
                        _ => (500, "InternalError"),
                    };
                    let size = rng.log_normal(250_000.0, 1.4);
                    let sent = if method == "GET" && status == 200 {
                        size.to_string()
                    } else {
                        "-".to_owned()
                    };
                    let total = 5 + rng.log_normal(40.0, 1.0);
                    let turnaround = 1 + total / 3;
                    let _ = write!(
                        line,
                        "{OWNER} {bucket} [{dom}/{month_name}/{year}:{hour:02}:{:02}:{:02} +0000] {} {} {} {operation} {key} \"{method} /{bucket}/{key} HTTP/1.1\" {status} {error} {sent} {size} {total} {turnaround} \"-\" \"{}\" - {}= SigV4 TLS_AES_128_GCM_SHA256 AuthHeader {bucket}.s3.{region}.amazonaws.com TLSv1.3 - - {region}",
                        rng.below(60),
                        rng.below(60),
                        clients[rng.pick(&client_weights)],
                        requesters[rng.below(requesters.len() as u64) as usize],
                        rng.token(16, b"0123456789ABCDEF"),
                        AGENTS[rng.below(AGENTS.len() as u64) as usize],
                        rng.token(
                            75,
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                        ),
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
    Ok(generated)
}
