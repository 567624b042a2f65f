//! HTTP dates (RFC 9110 §5.6.7), for a `Retry-After` given as a date: the
//! host honours both forms, so the SDK's own reading of a 429 must too, or
//! a connector's `rate-limited` loses the PSA's wait and the operator is
//! told a default instead.
//!
//! A recipient must accept the three historic forms; all are GMT:
//! `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), `Sunday, 06-Nov-94
//! 08:49:37 GMT` (RFC 850) and `Sun Nov  6 08:49:37 1994` (asctime).
//! `UTC` and `+0000` are taken for `GMT`, as lenient servers write them.

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Seconds since the Unix epoch of an HTTP date; `None` when `value` is
/// none of the three forms or names no real time.
pub(crate) fn parse(value: &str) -> Option<u64> {
    let tokens: Vec<&str> = value.split([' ', ',']).filter(|t| !t.is_empty()).collect();
    let (day, month, year, time) = match tokens.as_slice() {
        // IMF-fixdate: weekday, day, month, year, time, zone
        [weekday, day, month, year, time, zone] if is_word(weekday) && is_gmt(zone) => {
            (*day, *month, year_of(year)?, *time)
        }
        // RFC 850: weekday, day-month-yy, time, zone
        [weekday, date, time, zone] if is_word(weekday) && is_gmt(zone) => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || year.len() != 2 {
                return None;
            }
            // Two-digit years: RFC 9110 reads one more than 50 years ahead
            // as the past century; for a wait, 19xx vs 20xx is all it takes.
            let yy: u64 = digits(year)?;
            (day, month, if yy < 70 { 2000 + yy } else { 1900 + yy }, *time)
        }
        // asctime: weekday, month, day, time, year
        [weekday, month, day, time, year] if is_word(weekday) => (*day, *month, year_of(year)?, *time),
        _ => return None,
    };
    let day: u64 = digits(day)?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u64 + 1;
    let mut hms = time.split(':');
    let (h, m, s): (u64, u64, u64) = (digits(hms.next()?)?, digits(hms.next()?)?, digits(hms.next()?)?);
    if hms.next().is_some() || !(1..=days_in_month(year, month)).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day)?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

fn is_word(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_gmt(zone: &str) -> bool {
    ["GMT", "UTC", "+0000", "-0000"].iter().any(|z| z.eq_ignore_ascii_case(zone))
}

/// Only ASCII digits (no sign, no spaces), at most 4 of them.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn year_of(text: &str) -> Option<u64> {
    digits(text).filter(|y| text.len() == 4 && *y >= 1970)
}

fn is_leap(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian), `None`
/// before the epoch.
fn days_since_epoch(year: u64, month: u64, day: u64) -> Option<u64> {
    let years: u64 = (1970..year).map(|y| if is_leap(y) { 366 } else { 365 }).sum();
    let months: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    Some(years + months + day.checked_sub(1)?)
}

/// The IMF-fixdate of `epoch` seconds: what a PSA would send, for tests.
#[cfg(test)]
pub(crate) fn format(epoch: u64) -> String {
    let (mut days, secs) = (epoch / 86_400, epoch % 86_400);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let mut year = 1970;
    while days >= if is_leap(year) { 366 } else { 365 } {
        days -= if is_leap(year) { 366 } else { 365 };
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    let name = MONTHS[(month - 1) as usize];
    let name = format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]);
    format!("{weekday}, {:02} {name} {year} {:02}:{:02}:{:02} GMT", days + 1, secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-11-06 08:49:37 UTC, RFC 9110's example.
    const EXAMPLE: u64 = 784_111_777;

    #[test]
    fn the_three_forms_of_rfc_9110() {
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(EXAMPLE));
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Some(EXAMPLE));
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(EXAMPLE));
        assert_eq!(parse("Wed, 21 Oct 2015 07:28:00 GMT"), Some(1_445_412_480));
        assert_eq!(parse("Thu, 29 Feb 2024 23:59:59 UTC"), Some(1_709_251_199));
    }

    #[test]
    fn anything_else_is_no_date() {
        for bad in [
            "",
            "7",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, +6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_and_parse_agree() {
        for epoch in [0, EXAMPLE, 1_445_412_480, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse(&format(epoch)), Some(epoch), "{}", format(epoch));
        }
        assert_eq!(format(EXAMPLE), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
