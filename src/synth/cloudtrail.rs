//! Synthetic CloudTrail log files: one account and region, one gzip `{"Records":[…]}` file
//! per delivery (about every five minutes) named as CloudTrail delivers them, with a realistic
//! mix of read-heavy API calls by roles and services, some IAM users, console sign-ins, S3 and
//! KMS management calls, and a share of AccessDenied errors.

use std::fmt::Write as _;
use std::io;

use super::{Generated, LogFile, Plan, Rng, client_pool, cumulative, hour_weight, zipf};
use crate::formats::days_to_date;

/// Average bytes of a generated event, to turn a size into an event count.
const AVERAGE_EVENT: u64 = 1_300;
const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

/// (event source, event name, read only, weight)
const CALLS: [(&str, &str, bool, f64); 14] = [
    ("s3.amazonaws.com", "GetBucketLocation", true, 14.0),
    ("s3.amazonaws.com", "ListBuckets", true, 6.0),
    ("s3.amazonaws.com", "PutBucketPolicy", false, 0.4),
    ("ec2.amazonaws.com", "DescribeInstances", true, 18.0),
    ("ec2.amazonaws.com", "RunInstances", false, 0.8),
    ("sts.amazonaws.com", "AssumeRole", true, 20.0),
    ("kms.amazonaws.com", "Decrypt", true, 16.0),
    ("kms.amazonaws.com", "DisableKey", false, 0.05),
    ("iam.amazonaws.com", "ListRoles", true, 3.0),
    ("iam.amazonaws.com", "CreateAccessKey", false, 0.2),
    ("iam.amazonaws.com", "AttachUserPolicy", false, 0.2),
    ("lambda.amazonaws.com", "Invoke", false, 8.0),
    ("cloudtrail.amazonaws.com", "LookupEvents", true, 1.0),
    ("signin.amazonaws.com", "ConsoleLogin", false, 0.5),
];

const ROLES: [&str; 5] = ["deploy-pipeline", "app-server", "data-loader", "Admin", "ReadOnly"];
const USERS: [&str; 4] = ["alice", "bob", "ci-bot", "carol"];
const AGENTS: [&str; 5] = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64",
    "Boto3/1.34.50 md/Botocore#1.34.50 Python/3.12.1",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0",
    "console.amazonaws.com",
];

pub(super) fn generate(plan: &Plan) -> io::Result<Generated> {
    let mut rng = Rng::new(plan.seed);
    let sources = client_pool(&mut rng, 300);
    let source_weights = zipf(sources.len(), 1.2);
    let call_weights = cumulative(&CALLS.map(|c| c.3));
    let hours: Vec<f64> = (0..24).map(hour_weight).collect();
    let hour_total: f64 = hours.iter().sum();
    let total = plan.bytes / AVERAGE_EVENT;

    let mut generated = Generated::default();
    let mut event = String::with_capacity(4096);
    for day in 0..i64::from(plan.days) {
        let date = days_to_date(plan.start_day + day);
        let compact = date.replace('-', "");
        for hour in 0..24u32 {
            let share = hours[hour as usize] / hour_total / f64::from(plan.days);
            let per_file = (total as f64 * share / 12.0).round() as u64;
            for slot in 0..12u32 {
                if per_file == 0 {
                    continue;
                }
                let minute = slot * 5;
                let name = format!(
                    "{ACCOUNT}_CloudTrail_{REGION}_{compact}T{hour:02}{minute:02}Z_{}.json{}",
                    rng.token(
                        16,
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                    ),
                    if plan.gzip { ".gz" } else { "" }
                );
                let mut file = LogFile::create(&plan.out.join(name), plan.gzip)?;
                file.header("{\"Records\":[")?;
                let base = i64::from(hour) * 3600 + i64::from(minute) * 60;
                for n in 0..per_file {
                    event.clear();
                    if n > 0 {
                        event.push(',');
                    }
                    // Events of a delivery happened in the five minutes before it, some later.
                    let second = (base - 300 + rng.below(300) as i64).max(0);
                    let call = CALLS[rng.pick(&call_weights)];
                    let source = &sources[rng.pick(&source_weights)];
                    write_event(&mut event, &mut rng, &date, second, call, source);
                    file.record(&event)?;
                }
                file.header("]}\n")?;
                generated.files += 1;
                generated.lines += file.lines;
                generated.bytes += file.bytes;
                file.finish()?;
            }
        }
    }
    Ok(generated)
}

fn write_event(
    out: &mut String,
    rng: &mut Rng,
    date: &str,
    second: i64,
    (event_source, event_name, read_only, _): (&str, &str, bool, f64),
    source_ip: &str,
) {
    let time = format!("{date}T{:02}:{:02}:{:02}Z", second / 3600, second / 60 % 60, second % 60);
    let identity = match rng.below(10) {
        0..=5 => {
            let role = ROLES[rng.below(ROLES.len() as u64) as usize];
            format!(
                r#"{{"type":"AssumedRole","principalId":"AROA{p}:{s}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{s}","accountId":"{ACCOUNT}","accessKeyId":"ASIA{k}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{p}","arn":"arn:aws:iam::{ACCOUNT}:role/{role}","accountId":"{ACCOUNT}","userName":"{role}"}},"attributes":{{"creationDate":"{date}T00:00:00Z","mfaAuthenticated":"{mfa}"}}}}}}"#,
                p = rng.token(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                s = rng.token(12, b"abcdefghijklmnopqrstuvwxyz0123456789"),
                k = rng.token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                mfa = rng.below(4) == 0,
            )
        }
        6..=8 => {
            let user = USERS[rng.below(USERS.len() as u64) as usize];
            format!(
                r#"{{"type":"IAMUser","principalId":"AIDA{p}","arn":"arn:aws:iam::{ACCOUNT}:user/{user}","accountId":"{ACCOUNT}","accessKeyId":"AKIA{k}","userName":"{user}"}}"#,
                p = rng.token(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                k = rng.token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
            )
        }
        _ => r#"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#.to_owned(),
    };
    let denied = rng.below(40) == 0;
    let error = if denied {
        format!(
            r#""errorCode":"AccessDenied","errorMessage":"User is not authorized to perform: {}:{event_name}","#,
            event_source.trim_end_matches(".amazonaws.com")
        )
    } else {
        String::new()
    };
    let parameters = match event_name {
        "GetBucketLocation" | "PutBucketPolicy" => format!(
            r#"{{"bucketName":"northwind-{}","Host":"s3.{REGION}.amazonaws.com"}}"#,
            ["media", "logs", "backups"][rng.below(3) as usize]
        ),
        "DescribeInstances" => r#"{"instancesSet":{},"filterSet":{}}"#.to_owned(),
        "AssumeRole" => format!(
            r#"{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/{}","roleSessionName":"{}","durationSeconds":3600}}"#,
            ROLES[rng.below(ROLES.len() as u64) as usize],
            rng.token(10, b"abcdefghijklmnopqrstuvwxyz")
        ),
        "Decrypt" | "DisableKey" => format!(
            r#"{{"keyId":"arn:aws:kms:{REGION}:{ACCOUNT}:key/{}","encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
            rng.token(36, b"0123456789abcdef-")
        ),
        _ => "null".to_owned(),
    };
    let _ = write!(
        out,
        r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{time}","eventSource":"{event_source}","eventName":"{event_name}","awsRegion":"{REGION}","sourceIPAddress":"{source_ip}","userAgent":"{agent}",{error}"requestParameters":{parameters},"responseElements":null,"requestID":"{request_id}","eventID":"{event_id}","readOnly":{read_only},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{host}"}}}}"#,
        agent = AGENTS[rng.below(AGENTS.len() as u64) as usize],
        request_id = rng.token(36, b"0123456789abcdef-"),
        event_id = rng.token(36, b"0123456789abcdef-"),
        host = event_source.replace(".amazonaws.com", &format!(".{REGION}.amazonaws.com")),
    );
}
