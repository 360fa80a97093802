//! Small, allocation-free helpers shared by the text formats: percent-decoding, fixed-layout
//! date and time parsing, integer parsing that rejects anything but ASCII digits, and the
//! quoted-field tokenizer of S3 and ELB logs.

use super::Reject;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day number, as `(year, month, day)`.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day number (days since the epoch) of a UTC timestamp in microseconds.
pub fn micros_to_day(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// `YYYY-MM-DD` of a day number: the value of the `dt` partition column.
pub fn days_to_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Day number of a calendar date, checking that the date exists.
pub(crate) fn checked_days(year: u32, month: u32, day: u32) -> Option<i64> {
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses `YYYY-MM-DD` into a day number.
pub(crate) fn parse_iso_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    checked_days(digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// Parses `HH:MM:SS` into seconds of the day. A leap second (`:60`) is accepted.
pub(crate) fn parse_hms(b: &[u8]) -> Option<i64> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(h * 3600 + m * 60 + s))
}

/// Parses an ISO-8601 UTC time, `YYYY-MM-DDTHH:MM:SS`, with an optional fraction of up to
/// nine digits (kept to the microsecond) and a `Z` or `±HH:MM` offset, into microseconds
/// since the epoch. CloudTrail writes `2014-03-06T21:22:54Z`, ALB `…T22:23:00.186641Z`.
pub(crate) fn parse_iso8601(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let days = parse_iso_date(&b[..10])?;
    let seconds = parse_hms(&b[11..19])?;
    let mut rest = &b[19..];
    let mut fraction = 0i64;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let n = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for (i, &c) in after_dot[..n].iter().enumerate() {
            if i < 6 {
                fraction = fraction * 10 + i64::from(c - b'0');
            }
        }
        for _ in n..6 {
            fraction *= 10;
        }
        rest = &after_dot[n..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let minutes = i64::from(digits(&[*h1, *h2])? * 60 + digits(&[*m1, *m2])?);
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    Some(to_micros(days, seconds) + fraction - offset * 60 * MICROS_PER_SECOND)
}

/// Microseconds since the epoch of a day number plus seconds into that day.
pub(crate) fn to_micros(days: i64, seconds: i64) -> i64 {
    days * MICROS_PER_DAY + seconds * MICROS_PER_SECOND
}

/// Parses an optionally signed run of ASCII digits. Unlike `str::parse` this rejects a
/// leading `+` and never allocates.
pub(crate) fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, rest) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if rest.is_empty() || rest.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in rest {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(if neg { -v } else { v })
}

/// Parses a decimal number such as `0.082`. Only digits, one dot and a leading minus are
/// accepted, so `inf`, `NaN` and exponents are rejected as AWS never writes them.
pub(crate) fn parse_decimal(b: &[u8]) -> Option<f64> {
    let body = b.strip_prefix(b"-").unwrap_or(b);
    if body.is_empty()
        || body.iter().filter(|&&c| c == b'.').count() > 1
        || !body.iter().all(|&c| c.is_ascii_digit() || c == b'.')
        || body == b"."
    {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes once into `out` (cleared first). `+` stays `+`: AWS logs use `%20`
/// for spaces, and a `+` in a query string is what the client sent. A `%` not followed by two
/// hex digits is kept as written. Returns false when the input has no escape at all, in which
/// case `out` is left empty and the caller can use the input as it is.
pub(crate) fn percent_decode_into(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let Some(first) = memchr::memchr(b'%', input) else {
        return false;
    };
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < input.len() {
        let c = input[i];
        if c == b'%'
            && i + 2 < input.len()
            && let (Some(hi), Some(lo)) = (hex_value(input[i + 1]), hex_value(input[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    true
}

/// A space-separated field of a line: its byte range, without quotes or brackets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub quoted: bool,
}

/// Splits a line of space-separated fields into tokens, as S3 and ELB write them. A field
/// starting with `"` runs to the next `"` not escaped by a backslash, which must end the
/// field. With `bracketed`, a field starting with `[` runs to the next `]` (S3's time, which
/// contains a space). Quotes and brackets are not part of a token's range.
pub(crate) fn tokenize(line: &str, tokens: &mut Vec<Token>, bracketed: bool) -> Result<(), Reject> {
    tokens.clear();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' => i += 1,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let end = loop {
                    match b.get(j) {
                        None => return Err(Reject::new("unterminated quoted field")),
                        Some(b'\\') => j += 2,
                        Some(b'"') => break j,
                        Some(_) => j += 1,
                    }
                };
                if !matches!(b.get(end + 1), None | Some(b' ')) {
                    return Err(Reject::new("text after the closing quote of a quoted field"));
                }
                tokens.push(Token { start, end, quoted: true });
                i = end + 1;
            }
            b'[' if bracketed => {
                let start = i + 1;
                let Some(len) = memchr::memchr(b']', &b[start..]) else {
                    return Err(Reject::new("unterminated [time] field"));
                };
                tokens.push(Token { start, end: start + len, quoted: false });
                i = start + len + 1;
            }
            _ => {
                let end = memchr::memchr(b' ', &b[i..]).map_or(b.len(), |n| i + n);
                tokens.push(Token { start: i, end, quoted: false });
                i = end;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_across_leap_years_and_the_epoch() {
        for days in [-800_000, -1, 0, 1, 10_957, 11_016, 20_454, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_to_date(0), "1970-01-01");
        assert_eq!(parse_iso_date(b"2024-02-29"), Some(19_782));
        assert_eq!(days_to_date(19_782), "2024-02-29");
    }

    #[test]
    fn impossible_dates_and_times_are_refused() {
        assert_eq!(parse_iso_date(b"2023-02-29"), None);
        assert_eq!(parse_iso_date(b"2026-13-45"), None);
        assert_eq!(parse_iso_date(b"2026-1-05x"), None);
        assert_eq!(parse_hms(b"24:00:00"), None);
        assert_eq!(parse_hms(b"12:3a:00"), None);
        assert_eq!(parse_hms(b"23:59:60"), Some(86_400));
    }

    #[test]
    fn iso8601_times_parse_with_fractions_and_offsets() {
        let base = to_micros(parse_iso_date(b"2014-03-06").unwrap(), 21 * 3600 + 22 * 60 + 54);
        assert_eq!(parse_iso8601(b"2014-03-06T21:22:54Z"), Some(base));
        assert_eq!(parse_iso8601(b"2014-03-06T21:22:54.186641Z"), Some(base + 186_641));
        assert_eq!(parse_iso8601(b"2014-03-06T21:22:54.1Z"), Some(base + 100_000));
        assert_eq!(parse_iso8601(b"2014-03-06T21:22:54.123456789Z"), Some(base + 123_456));
        assert_eq!(parse_iso8601(b"2014-03-06T22:22:54+01:00"), Some(base));
        assert_eq!(parse_iso8601(b"2014-03-06T21:22:54"), None);
        assert_eq!(parse_iso8601(b"2014-03-06 21:22:54Z"), None);
        assert_eq!(parse_iso8601(b"2014-02-30T21:22:54Z"), None);
        assert_eq!(parse_iso8601(b"2014-03-06T21:22:54.Z"), None);
    }

    #[test]
    fn micros_before_the_epoch_fall_on_the_previous_day() {
        assert_eq!(micros_to_day(-1), -1);
        assert_eq!(micros_to_day(0), 0);
        assert_eq!(micros_to_day(MICROS_PER_DAY - 1), 0);
    }

    #[test]
    fn integers_and_decimals_accept_only_what_aws_writes() {
        assert_eq!(parse_int(b"000"), Some(0));
        assert_eq!(parse_int(b"-1"), Some(-1));
        assert_eq!(parse_int(b"+1"), None);
        assert_eq!(parse_int(b"12a"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_decimal(b"0.082"), Some(0.082));
        assert_eq!(parse_decimal(b"3"), Some(3.0));
        assert_eq!(parse_decimal(b"NaN"), None);
        assert_eq!(parse_decimal(b"1e5"), None);
        assert_eq!(parse_decimal(b"."), None);
        assert_eq!(parse_decimal(b"1.2.3"), None);
    }

    #[test]
    fn percent_decoding_happens_once_and_keeps_bad_escapes() {
        let mut out = Vec::new();
        assert!(!percent_decode_into(b"plain", &mut out));
        assert!(percent_decode_into(b"Mozilla/5.0%2520(X11)", &mut out));
        assert_eq!(out, b"Mozilla/5.0%20(X11)");
        assert!(percent_decode_into(b"a%20b+c", &mut out));
        assert_eq!(out, b"a b+c");
        assert!(percent_decode_into(b"100%", &mut out));
        assert_eq!(out, b"100%");
        assert!(percent_decode_into(b"%zz%4", &mut out));
        assert_eq!(out, b"%zz%4");
        assert!(percent_decode_into(b"caf%C3%A9", &mut out));
        assert_eq!(out, "café".as_bytes());
    }
}
