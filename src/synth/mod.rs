//! Synthetic raw logs for benchmarks and demos, written the way AWS delivers them.
//!
//! The traffic is shaped like a real site's: client IPs and paths follow Zipf-like skew (a
//! few clients and pages take most requests), requests follow a day/night curve, statuses
//! and response sizes follow plausible distributions, and several CloudFront distributions
//! or S3 buckets write side by side. File names follow AWS's conventions:
//! `<distribution>.YYYY-MM-DD-HH.<id>.gz` for CloudFront and `YYYY-MM-DD-hh-mm-ss-<id>` for
//! S3 access logs; WAF, CloudTrail and ALB files carry the account, region and delivery minute
//! in their names as those services write them. The same seed always writes the same bytes.

mod alb;
mod cloudfront;
mod cloudtrail;
mod s3_access;
mod waf;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::formats::FormatName;

/// What to generate.
pub struct Plan {
    pub format: FormatName,
    pub out: PathBuf,
    /// Approximate uncompressed bytes over all files.
    pub bytes: u64,
    pub days: u32,
    /// Day number (days since 1970-01-01) of the first day.
    pub start_day: i64,
    pub seed: u64,
    pub gzip: bool,
}

/// What was generated.
#[derive(Debug, Default)]
pub struct Generated {
    pub files: usize,
    pub lines: u64,
    pub bytes: u64,
}

/// Writes the planned files.
pub fn generate(plan: &Plan) -> io::Result<Generated> {
    fs::create_dir_all(&plan.out)?;
    match plan.format {
        FormatName::CloudFront => cloudfront::generate(plan),
        FormatName::S3Access => s3_access::generate(plan),
        FormatName::Waf => waf::generate(plan),
        FormatName::CloudTrail => cloudtrail::generate(plan),
        FormatName::Alb => alb::generate(plan),
    }
}

/// A small, fast, seedable generator (SplitMix64); statistical quality is ample for traffic.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A log-normal size around `median` with spread `sigma`.
    pub(crate) fn log_normal(&mut self, median: f64, sigma: f64) -> u64 {
        (median * (sigma * self.normal()).exp()).round().max(0.0) as u64
    }

    /// Picks an index by weight from a cumulative weight table.
    pub(crate) fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = *cumulative.last().expect("table is not empty");
        let target = self.unit() * total;
        cumulative.partition_point(|&c| c <= target).min(cumulative.len() - 1)
    }

    pub(crate) fn token(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len).map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char).collect()
    }
}

/// Cumulative weights of a Zipf-like distribution over `n` items with exponent `s`.
pub(crate) fn zipf(n: usize, s: f64) -> Vec<f64> {
    let mut total = 0.0;
    (1..=n)
        .map(|rank| {
            total += 1.0 / (rank as f64).powf(s);
            total
        })
        .collect()
}

/// Cumulative weights of a fixed table.
pub(crate) fn cumulative(weights: &[f64]) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .iter()
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

/// Relative traffic of each UTC hour: quiet at night, busy in the afternoon.
pub(crate) fn hour_weight(hour: u32) -> f64 {
    let phase = (f64::from(hour) - 15.0) / 24.0 * std::f64::consts::TAU;
    1.0 + 0.6 * phase.cos()
}

/// A pool of client addresses, mostly IPv4 with some IPv6, from documentation ranges and a
/// few realistic-looking public blocks.
pub(crate) fn client_pool(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            if rng.below(20) == 0 {
                format!(
                    "2001:db8:{:x}:{:x}::{:x}",
                    rng.below(0xffff),
                    rng.below(0xffff),
                    rng.below(0xffff) + 1
                )
            } else {
                format!(
                    "{}.{}.{}.{}",
                    [203, 198, 192, 100, 34, 52, 81, 176][rng.below(8) as usize],
                    rng.below(256),
                    rng.below(256),
                    rng.below(254) + 1
                )
            }
        })
        .collect()
}

/// Realistic user agents as CloudFront writes them (spaces as `%20`); S3 gets them decoded.
pub(crate) const USER_AGENTS: [&str; 10] = [
    "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.0.0%20Safari/537.36",
    "Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/18.1%20Safari/605.1.15",
    "Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2018_1%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/18.1%20Mobile/15E148%20Safari/604.1",
    "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:132.0)%20Gecko/20100101%20Firefox/132.0",
    "Mozilla/5.0%20(Linux;%20Android%2014;%20Pixel%208)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/130.0.0.0%20Mobile%20Safari/537.36",
    "Mozilla/5.0%2520(compatible;%2520Googlebot/2.1;%2520+http://www.google.com/bot.html)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Mozilla/5.0%20(compatible;%20bingbot/2.0;%20+http://www.bing.com/bingbot.htm)",
];

pub(crate) const UA_WEIGHTS: [f64; 10] = [30.0, 14.0, 18.0, 6.0, 12.0, 4.0, 5.0, 4.0, 3.0, 4.0];

/// One output file, gzip or plain.
pub(crate) struct LogFile {
    out: Box<dyn Write>,
    pub bytes: u64,
    pub lines: u64,
}

impl LogFile {
    pub(crate) fn create(path: &Path, gzip: bool) -> io::Result<Self> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let out: Box<dyn Write> = if gzip {
            Box::new(GzEncoder::new(file, Compression::default()))
        } else {
            Box::new(file)
        };
        Ok(LogFile { out, bytes: 0, lines: 0 })
    }

    pub(crate) fn header(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.bytes += text.len() as u64;
        Ok(())
    }

    pub(crate) fn line(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += text.len() as u64 + 1;
        self.lines += 1;
        Ok(())
    }

    /// Writes one record that is not a line of its own (an element of a JSON array).
    pub(crate) fn record(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.bytes += text.len() as u64;
        self.lines += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(7).next_u64(), Rng::new(8).next_u64());
    }

    #[test]
    fn zipf_favours_the_first_items() {
        let table = zipf(1000, 1.1);
        let mut rng = Rng::new(3);
        let mut top10 = 0;
        for _ in 0..10_000 {
            if rng.pick(&table) < 10 {
                top10 += 1;
            }
        }
        // With s = 1.1 over 1000 items the first 10 carry about 45% of the weight.
        assert!((3500..5500).contains(&top10), "{top10}");
    }
}
