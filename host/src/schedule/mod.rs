//! Schedules: when each integration syncs by itself.
//!
//! An entry is a cron expression in a time zone with a mode (full or
//! incremental). Only five-field crontab expressions (`0 */3 * * *`) are
//! accepted, read as the `cron` crate's six-field form with seconds 0; six or
//! seven fields (seconds, year) are refused rather than silently shifted. Fire times
//! are computed in the entry's zone, so "02:00 Europe/Berlin" stays 02:00
//! across daylight-saving changes. Pure code: the clock is passed in.

pub mod daemon;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::model::Mode;

/// The schedule `integration add` gives a new integration (it lives with
/// `integrations`, which writes it, so that module needs nothing of this
/// one).
pub use crate::integrations::{DEFAULT_CRON, DEFAULT_TZ};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{expr}` is not a valid cron expression: {why}")]
    Cron { expr: String, why: String },
    #[error("`{0}` is not a time zone (use an IANA name such as Europe/Berlin or America/Chicago)")]
    TimeZone(String),
    #[error("`{expr}` never fires")]
    Never { expr: String },
}

impl ScheduleError {
    pub fn hint(&self) -> String {
        match self {
            ScheduleError::Cron { .. } | ScheduleError::Never { .. } => {
                "use five fields `minute hour day month weekday`, e.g. `0 */3 * * *` (every 3 hours) or `0 2 * * *` (02:00)".into()
            }
            ScheduleError::TimeZone(_) => "e.g. --tz Europe/Berlin; `UTC` is also accepted".into(),
        }
    }
}

/// A checked schedule entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub cron: String,
    pub tz: Tz,
    pub mode: Mode,
    schedule: cron::Schedule,
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// crontab's weekday field (numbers 0-7 with 0 and 7 Sunday, names, ranges,
/// lists, steps) as a list of day names, or `*` for every day.
fn crontab_weekdays(field: &str) -> Result<String, String> {
    let day = |s: &str| -> Result<usize, String> {
        if let Ok(n) = s.parse::<usize>() {
            return if n <= 7 { Ok(n % 7) } else { Err(format!("weekday `{s}` is not 0-7 (0 and 7 are Sunday)")) };
        }
        DAY_NAMES
            .iter()
            .position(|d| d.eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("weekday `{s}` is neither 0-7 nor a day name (SUN, MON, …)"))
    };
    let mut days = [false; 7];
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => {
                let step: usize =
                    s.parse().ok().filter(|s| *s > 0).ok_or_else(|| format!("step `{s}` is not a positive number"))?;
                (b, step)
            }
            None => (item, 1),
        };
        // Numbers keep crontab's span 0-7 for steps (`*/2`: Sun, Tue, Thu, Sat).
        let (from, to) = match base {
            "*" => (0, 6),
            b => match b.split_once('-') {
                Some((a, z)) => {
                    let (a, z) = (day(a)?, if z == "7" { 7 } else { day(z)? });
                    if a > z {
                        return Err(format!("weekday range `{b}` goes backwards"));
                    }
                    (a, z)
                }
                None if item.contains('/') => (day(b)?, 6),
                None => (day(b)?, day(b)?),
            },
        };
        for d in (from..=to).step_by(step) {
            days[d % 7] = true;
        }
    }
    if days.iter().all(|d| *d) {
        return Ok("*".into());
    }
    Ok(DAY_NAMES.iter().zip(days).filter(|(_, on)| *on).map(|(n, _)| *n).collect::<Vec<_>>().join(","))
}

impl Entry {
    pub fn parse(cron_expr: &str, tz: &str, mode: Mode) -> Result<Entry, ScheduleError> {
        let cron_text = cron_expr.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = cron_text.split(' ').count();
        // Only crontab's five fields: the `cron` crate would also take six
        // or seven (seconds first, year last), so `0 2 * * * *` would mean
        // "every hour at minute 2" to it while an operator meant 02:00.
        if fields != 5 {
            return Err(ScheduleError::Cron {
                expr: cron_expr.to_string(),
                why: format!(
                    "it has {fields} fields; Ferry takes crontab's 5 (minute hour day month weekday), e.g. `0 2 * * *` for 02:00 daily"
                ),
            });
        }
        // crontab's weekday numbers (0 or 7 = Sunday, 1 = Monday) are not
        // the crate's (1 = Sunday): give it the days by name.
        let mut parts: Vec<String> = cron_text.split(' ').map(str::to_string).collect();
        parts[4] =
            crontab_weekdays(&parts[4]).map_err(|why| ScheduleError::Cron { expr: cron_expr.to_string(), why })?;
        let six = format!("0 {}", parts.join(" "));
        let schedule = cron::Schedule::from_str(&six).map_err(|e| {
            // The crate's message repeats the expression with a caret line;
            // its last line is the reason.
            let text = e.to_string();
            let why = text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("invalid").to_string();
            ScheduleError::Cron { expr: cron_expr.to_string(), why }
        })?;
        let tz: Tz = tz.trim().parse().map_err(|_| ScheduleError::TimeZone(tz.to_string()))?;
        let entry = Entry { cron: cron_text, tz, mode, schedule };
        if entry.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::Never { expr: cron_expr.to_string() });
        }
        Ok(entry)
    }

    /// The first fire time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.fire_times(t).next().map(|d| d.with_timezone(&Utc))
    }

    /// The next `n` fire times after `t`, in the entry's zone.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        self.fire_times(t).take(n).collect()
    }

    /// Fire times after `t`. When clocks go back, a wall-clock time such as
    /// 02:00 happens twice; the `cron` crate yields both instants, but an
    /// operator who wrote "02:00" means one sync, as crontab does it. The
    /// second instant of a repeated local time is dropped.
    fn fire_times(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Tz>> + '_ {
        self.schedule.after(&t.with_timezone(&self.tz)).filter(|d| !is_repeat_of_local_time(d))
    }
}

/// True for the later of two instants that share one local wall-clock time
/// (the hour repeated when daylight-saving time ends).
fn is_repeat_of_local_time(d: &DateTime<Tz>) -> bool {
    use chrono::{LocalResult, TimeZone};
    match d.timezone().from_local_datetime(&d.naive_local()) {
        LocalResult::Ambiguous(first, _) => first != *d,
        _ => false,
    }
}

impl Entry {
    /// The latest fire time in `(since, now]`, if the entry fired in that
    /// span: a daemon that was down runs a missed entry once, not once per
    /// missed slot.
    pub fn missed(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut last = None;
        let mut t = since;
        while let Some(next) = self.next_after(t) {
            if next > now {
                break;
            }
            last = Some(next);
            t = next;
        }
        last
    }
}

/// The "nightly" preset: full at 02:00 in `tz`, incremental every 4 hours.
pub fn nightly(tz: &str) -> Result<Vec<Entry>, ScheduleError> {
    Ok(vec![Entry::parse("0 2 * * *", tz, Mode::Full)?, Entry::parse("0 */4 * * *", tz, Mode::Incremental)?])
}

/// A schedule an operator picks by name (`ferry schedule NAME preset P`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "lowercase")]
pub enum Preset {
    /// Full at 02:00, incremental every 4 hours ([`nightly`]).
    Nightly,
    /// What a new integration gets: full every 3 hours ([`DEFAULT_CRON`]).
    Default,
}

impl Preset {
    /// The preset's entries in time zone `tz`.
    pub fn entries(self, tz: &str) -> Result<Vec<Entry>, ScheduleError> {
        match self {
            Preset::Nightly => nightly(tz),
            Preset::Default => Ok(vec![Entry::parse(DEFAULT_CRON, tz, Mode::Full)?]),
        }
    }
}

/// A schedule entry as stored and shown.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    pub id: i64,
    pub position: usize,
    pub cron: String,
    pub tz: String,
    pub mode: Mode,
    pub next: Vec<String>,
    pub last_fired_at: Option<String>,
}

/// "Now", overridable with `FERRY_NOW` (RFC 3339) so that schedules and the
/// daemon can be tested against a fixed clock.
pub fn now() -> DateTime<Utc> {
    std::env::var("FERRY_NOW")
        .ok()
        .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_field_crontab_and_default() {
        let e = Entry::parse(DEFAULT_CRON, "UTC", Mode::Full).unwrap();
        let next: Vec<String> = e.upcoming(at("2026-11-22T10:15:00Z"), 3).iter().map(|d| d.to_rfc3339()).collect();
        assert_eq!(next, vec!["2026-11-22T12:00:00+00:00", "2026-11-22T15:00:00+00:00", "2026-11-22T18:00:00+00:00"]);
    }

    #[test]
    fn time_zones_and_dst() {
        let e = Entry::parse("0 2 * * *", "Europe/Berlin", Mode::Full).unwrap();
        // Across the end of summer time (2026-10-25): still 02:00 local.
        let next = e.upcoming(at("2026-10-23T12:00:00Z"), 3);
        let utc: Vec<String> = next.iter().map(|d| d.with_timezone(&Utc).to_rfc3339()).collect();
        // 02:00 local on the 25th happens twice (00:00Z in summer time, 01:00Z
        // after the clocks went back); it fires once, at the first.
        assert_eq!(utc, vec!["2026-10-24T00:00:00+00:00", "2026-10-25T00:00:00+00:00", "2026-10-26T01:00:00+00:00"]);
    }

    #[test]
    fn repeated_hour_fires_once_and_skipped_hour_is_not_invented() {
        // Hourly in Berlin on the night clocks go back: 02:00 local exists
        // twice (00:00Z and 01:00Z); only the first fires.
        let hourly = Entry::parse("0 * * * *", "Europe/Berlin", Mode::Full).unwrap();
        let utc: Vec<String> =
            hourly.upcoming(at("2026-10-24T22:30:00Z"), 4).iter().map(|d| d.with_timezone(&Utc).to_rfc3339()).collect();
        assert_eq!(
            utc,
            vec![
                "2026-10-24T23:00:00+00:00",
                "2026-10-25T00:00:00+00:00",
                "2026-10-25T02:00:00+00:00",
                "2026-10-25T03:00:00+00:00"
            ]
        );
        // Spring forward (2026-03-29): 02:30 Berlin does not exist that day,
        // so that day has no 02:30 run (documented in README); the next is
        // the 30th, not an invented 03:30.
        let e = Entry::parse("30 2 * * *", "Europe/Berlin", Mode::Full).unwrap();
        let next = e.next_after(at("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-03-30T00:30:00+00:00");
    }

    #[test]
    fn bad_input_is_explained() {
        assert!(matches!(Entry::parse("every day", "UTC", Mode::Full), Err(ScheduleError::Cron { .. })));
        assert!(matches!(Entry::parse("61 * * * *", "UTC", Mode::Full), Err(ScheduleError::Cron { .. })));
        assert!(matches!(Entry::parse("0 2 * * *", "Mars/Olympus", Mode::Full), Err(ScheduleError::TimeZone(_))));
    }

    #[test]
    fn weekdays_count_as_crontab_does() {
        assert_eq!(crontab_weekdays("1-5").unwrap(), "MON,TUE,WED,THU,FRI");
        assert_eq!(crontab_weekdays("0").unwrap(), "SUN");
        assert_eq!(crontab_weekdays("7").unwrap(), "SUN");
        assert_eq!(crontab_weekdays("5-7").unwrap(), "SUN,FRI,SAT");
        assert_eq!(crontab_weekdays("*/2").unwrap(), "SUN,TUE,THU,SAT");
        assert_eq!(crontab_weekdays("mon-fri").unwrap(), "MON,TUE,WED,THU,FRI");
        assert_eq!(crontab_weekdays("*").unwrap(), "*");
        assert!(crontab_weekdays("8").is_err());
        assert!(crontab_weekdays("5-1").is_err());
        // 2026-11-30 is a Monday: "1" fires on Mondays, "1-5" never on a weekend.
        let monday = Entry::parse("0 12 * * 1", "UTC", Mode::Full).unwrap();
        let start = at("2026-11-28T00:00:00Z");
        assert_eq!(monday.next_after(start).map(|t| chrono::Datelike::weekday(&t)), Some(chrono::Weekday::Mon));
        let workdays = Entry::parse("0 12 * * 1-5", "UTC", Mode::Full).unwrap();
        for t in workdays.fire_times(start).take(10) {
            assert!(!matches!(chrono::Datelike::weekday(&t), chrono::Weekday::Sat | chrono::Weekday::Sun), "{t}");
        }
    }

    #[test]
    fn only_five_fields_are_accepted() {
        // Six fields would read as "second minute hour ...": hourly at :02.
        for expr in ["0 2 * * * *", "0 0 2 * * * 2026", "* * * *", "0"] {
            match Entry::parse(expr, "UTC", Mode::Full) {
                Err(e @ ScheduleError::Cron { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains("crontab's 5") && text.contains("`0 2 * * *`"), "{expr}: {text}");
                    assert!(e.hint().contains("0 2 * * *"));
                }
                other => panic!("{expr} must be refused, got {other:?}"),
            }
        }
        let e = Entry::parse("0 2 * * *", "UTC", Mode::Full).unwrap();
        let next: Vec<String> = e.upcoming(at("2026-11-22T10:15:00Z"), 2).iter().map(|d| d.to_rfc3339()).collect();
        assert_eq!(next, vec!["2026-11-23T02:00:00+00:00", "2026-11-24T02:00:00+00:00"]);
    }

    #[test]
    fn missed_slots_collapse_into_one() {
        let e = Entry::parse("0 * * * *", "UTC", Mode::Full).unwrap();
        assert_eq!(e.missed(at("2026-11-22T01:30:00Z"), at("2026-11-22T05:10:00Z")), Some(at("2026-11-22T05:00:00Z")));
        assert_eq!(e.missed(at("2026-11-22T05:00:00Z"), at("2026-11-22T05:10:00Z")), None);
    }

    #[test]
    fn nightly_preset() {
        let n = nightly("America/Chicago").unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].mode, Mode::Full);
        assert_eq!(n[1].mode, Mode::Incremental);
    }
}
