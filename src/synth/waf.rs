//! Synthetic AWS WAF logs: one web ACL in front of CloudFront, one gzip file of JSON lines
//! per five minutes named as WAF delivers them to S3, mostly allowed traffic with managed
//! rule groups evaluated, a share of blocks (SQL injection, bad bots, rate limits) from a
//! few abusive clients, and captcha challenges.

use std::fmt::Write as _;
use std::io;

use super::{
    Generated, LogFile, Plan, Rng, UA_WEIGHTS, USER_AGENTS, client_pool, cumulative, hour_weight,
    zipf,
};
use crate::formats::days_to_date;

/// Average bytes of a generated record, to turn a size into a record count.
const AVERAGE_RECORD: u64 = 1_500;
const ACCOUNT: &str = "111122223333";
const ACL: &str = "shop-edge";
const ACL_ARN: &str = "arn:aws:wafv2:us-east-1:111122223333:global/webacl/shop-edge/3f6c2a1e-8b0d-4c55-9e27-1a2b3c4d5e6f";
const COUNTRIES: [&str; 10] = ["US", "DE", "GB", "FR", "NL", "JP", "BR", "IN", "CN", "RU"];
const COUNTRY_WEIGHTS: [f64; 10] = [40.0, 12.0, 10.0, 7.0, 5.0, 6.0, 5.0, 6.0, 5.0, 4.0];
const URIS: [&str; 8] = [
    "/",
    "/cart",
    "/search",
    "/api/v1/items",
    "/login",
    "/checkout",
    "/static/app.js",
    "/wp-login.php",
];

pub(super) fn generate(plan: &Plan) -> io::Result<Generated> {
    let mut rng = Rng::new(plan.seed);
    let clients = client_pool(&mut rng, 20_000);
    let client_weights = zipf(clients.len(), 1.1);
    let ua_weights = cumulative(&UA_WEIGHTS);
    let country_weights = cumulative(&COUNTRY_WEIGHTS);
    let hours: Vec<f64> = (0..24).map(hour_weight).collect();
    let hour_total: f64 = hours.iter().sum();
    let total = plan.bytes / AVERAGE_RECORD;

    let mut generated = Generated::default();
    let mut record = String::with_capacity(4096);
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
                    "{ACCOUNT}_waflogs_cloudfront_{ACL}_{compact}T{hour:02}{minute:02}Z_{}.log{}",
                    rng.token(8, b"0123456789abcdef"),
                    if plan.gzip { ".gz" } else { "" }
                );
                let mut file = LogFile::create(&plan.out.join(name), plan.gzip)?;
                let base_ms = (plan.start_day + day) * 86_400_000
                    + i64::from(hour) * 3_600_000
                    + i64::from(minute) * 60_000;
                for _ in 0..per_file {
                    record.clear();
                    let client = &clients[rng.pick(&client_weights)];
                    let ms = base_ms + rng.below(300_000) as i64;
                    let country = COUNTRIES[rng.pick(&country_weights)];
                    let ua =
                        USER_AGENTS[rng.pick(&ua_weights)].replace("%20", " ").replace("%25", "%");
                    write_record(&mut record, &mut rng, ms, client, country, &ua);
                    file.line(&record)?;
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

fn write_record(out: &mut String, rng: &mut Rng, ms: i64, client: &str, country: &str, ua: &str) {
    let draw = rng.below(1000);
    let uri = URIS[rng.below(URIS.len() as u64) as usize];
    let (action, rule, rule_type, details, response) = match draw {
        0..=29 => (
            "BLOCK",
            "AWS-AWSManagedRulesSQLiRuleSet",
            "MANAGED_RULE_GROUP",
            r#"[{"conditionType":"SQL_INJECTION","sensitivityLevel":"LOW","location":"QUERY_STRING","matchedData":["1","OR","1"]}]"#,
            "403",
        ),
        30..=59 => ("BLOCK", "rate-limit-ip", "RATE_BASED", "[]", "429"),
        60..=79 => {
            ("BLOCK", "AWS-AWSManagedRulesBotControlRuleSet", "MANAGED_RULE_GROUP", "[]", "null")
        }
        80..=89 => ("CAPTCHA", "captcha-login", "REGULAR", "[]", "405"),
        _ => ("ALLOW", "Default_Action", "REGULAR", "[]", "null"),
    };
    let args = if draw < 30 {
        "id=1%20OR%201=1"
    } else {
        ["", "q=shoes", "page=2"][rng.below(3) as usize]
    };
    let _ = write!(
        out,
        r#"{{"timestamp":{ms},"formatVersion":1,"webaclId":"{ACL_ARN}","terminatingRuleId":"{rule}","terminatingRuleType":"{rule_type}","action":"{action}","terminatingRuleMatchDetails":{details},"httpSourceName":"CF","httpSourceId":"E1Q7GZK3M8XW2P","ruleGroupList":[{{"ruleGroupId":"AWS#AWSManagedRulesCommonRuleSet","terminatingRule":null,"nonTerminatingMatchingRules":[],"excludedRules":null,"customerConfig":null}},{{"ruleGroupId":"AWS#AWSManagedRulesAmazonIpReputationList","terminatingRule":null,"nonTerminatingMatchingRules":[],"excludedRules":null,"customerConfig":null}}],"rateBasedRuleList":[{{"rateBasedRuleId":"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/ratebasedrule/rate-limit-ip/9a8b7c6d","rateBasedRuleName":"rate-limit-ip","limitKey":"IP","maxRateAllowed":2000,"evaluationWindowSec":{window},"limitValue":"{client}"}}],"nonTerminatingMatchingRules":[{nonterminating}],"requestHeadersInserted":null,"responseCodeSent":{response},"httpRequest":{{"clientIp":"{client}","country":"{country}","headers":[{{"name":"host","value":"www.example-shop.test"}},{{"name":"user-agent","value":"{ua}"}},{{"name":"accept","value":"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}},{{"name":"accept-language","value":"en-US,en;q=0.5"}},{{"name":"accept-encoding","value":"gzip, deflate, br"}}],"uri":"{uri}","args":"{args}","httpVersion":"HTTP/2.0","httpMethod":"{method}","requestId":"{request_id}","fragment":"","scheme":"https","host":"www.example-shop.test"}},"labels":[{labels}],"ja3Fingerprint":"{ja3}","ja4Fingerprint":"t13d1516h2_8daaf6152771_{ja4}","requestBodySize":0,"requestBodySizeInspectedByWAF":0}}"#,
        window = if rng.below(2) == 0 { "300".to_owned() } else { "\"300\"".to_owned() },
        nonterminating = if rng.below(20) == 0 {
            r#"{"ruleId":"count-suspicious-ua","action":"COUNT","ruleMatchDetails":[]}"#
        } else {
            ""
        },
        method = if rng.below(10) == 0 { "POST" } else { "GET" },
        request_id =
            rng.token(56, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
        labels = match draw {
            0..=29 => r#"{"name":"awswaf:managed:aws:sql-database:SQLi_QueryArguments"}"#,
            60..=79 =>
                r#"{"name":"awswaf:managed:aws:bot-control:bot:category:http_library"},{"name":"awswaf:managed:aws:bot-control:signal:non_browser_user_agent"}"#,
            _ => r#"{"name":"awswaf:clientip:geo:country:US"}"#,
        },
        ja3 = rng.token(32, b"0123456789abcdef"),
        ja4 = rng.token(12, b"0123456789abcdef"),
    );
}
