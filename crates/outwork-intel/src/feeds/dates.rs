//! Dates feeds give for an entry, to unix seconds.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Saturating: a hostile id of 19+ digits is still "all digits" (what
    // `classify` asks), never an overflow panic.
    Some(b.iter().fold(0i64, |n, &c| {
        n.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    }))
}

/// ISO 8601 / RFC 3339 / `YYYY-MM-DD HH:MM:SS` (UTC unless an offset is
/// given) to unix seconds. Accepts a date alone, `T` or a space before the
/// time, optional seconds and fraction, `Z`, `UTC`, `GMT`, `+HH:MM`, `+HHMM`,
/// `+HH`.
pub(super) fn parse_time(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > mdays {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut i = 10;
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') && b.len() >= i + 6 && b[i + 3] == b':' {
        let hh = digits(&b[i + 1..i + 3])?;
        let mm = digits(&b[i + 4..i + 6])?;
        i += 6;
        let mut ss = 0;
        if i < b.len() && b[i] == b':' {
            ss = digits(b.get(i + 1..i + 3)?)?;
            i += 3;
            if i < b.len() && matches!(b[i], b'.' | b',') {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        secs += hh * 3600 + mm * 60 + ss;
    }
    let zone = s.trim().get(i..)?.trim_start();
    let zb = zone.as_bytes();
    let offset = match zb.first() {
        None => 0,
        Some(b'+' | b'-') => {
            let sign = if zb[0] == b'-' { -1 } else { 1 };
            let r = &zb[1..];
            let (h, m) = match r.len() {
                2 => (digits(r)?, 0),
                4 => (digits(&r[..2])?, digits(&r[2..])?),
                5 if r[2] == b':' => (digits(&r[..2])?, digits(&r[3..])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
        _ if zone.eq_ignore_ascii_case("z")
            || zone.eq_ignore_ascii_case("utc")
            || zone.eq_ignore_ascii_case("gmt") =>
        {
            0
        }
        _ => return None,
    };
    Some(secs - offset)
}
