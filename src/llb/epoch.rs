//! A point in time for file timestamps and image `created` fields, in whole
//! seconds since 1970-01-01 UTC (what `SOURCE_DATE_EPOCH` holds).

use std::fmt;

/// Whole seconds since 1970-01-01T00:00:00Z, at most [`Epoch::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(i64);

impl Epoch {
    /// The last second whose nanoseconds (what a file op carries) fit in an
    /// i64: 2262-04-11T23:47:16Z.
    pub const MAX: i64 = i64::MAX / 1_000_000_000;

    /// `None` before 1970 or after [`Epoch::MAX`].
    pub fn from_seconds(seconds: i64) -> Option<Epoch> {
        (0..=Epoch::MAX)
            .contains(&seconds)
            .then_some(Epoch(seconds))
    }

    /// A decimal number of seconds, as `SOURCE_DATE_EPOCH` is written.
    pub fn parse_seconds(text: &str) -> Result<Epoch, EpochError> {
        let seconds = text.parse::<i64>().map_err(|_| EpochError::NotSeconds)?;
        Epoch::from_seconds(seconds).ok_or(EpochError::OutOfRange)
    }

    /// A UTC time written `YYYY-MM-DDTHH:MM:SSZ`, as Git hosts and the Go
    /// module proxy print commit times.
    pub fn parse_rfc3339(text: &str) -> Result<Epoch, EpochError> {
        let b = text.as_bytes();
        let shape_ok = b.len() == 20
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(EpochError::NotUtcTime);
        }
        let num = |from: usize, to: usize| -> i64 {
            b[from..to]
                .iter()
                .fold(0, |n, c| n * 10 + i64::from(c - b'0'))
        };
        let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
        let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
        let in_month = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        if !in_month || hour > 23 || minute > 59 || second > 59 {
            return Err(EpochError::NotUtcTime);
        }
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
        Epoch::from_seconds(seconds).ok_or(EpochError::OutOfRange)
    }

    pub fn seconds(self) -> i64 {
        self.0
    }

    /// The same instant in nanoseconds, as a file op's `timestamp` wants it.
    pub fn nanos(self) -> i64 {
        // Cannot overflow: seconds <= MAX.
        self.0 * 1_000_000_000
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form image configs use for `created`.
impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3_600,
            secs % 3_600 / 60,
            secs % 60
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    #[error("is not a whole number of seconds since 1970-01-01 UTC")]
    NotSeconds,
    #[error("is not a UTC time written like 2026-08-04T17:32:46Z")]
    NotUtcTime,
    #[error("is outside 1970-01-01T00:00:00Z..2262-04-11T23:47:16Z")]
    OutOfRange,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days: the proleptic
// Gregorian calendar in eras of 400 years.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_known_instants() {
        // `date -u -d @1785864766 +%FT%TZ` says 2026-08-04T17:32:46Z.
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_785_864_766, "2026-08-04T17:32:46Z"),
            (Epoch::MAX, "2262-04-11T23:47:16Z"),
        ] {
            let epoch = Epoch::from_seconds(seconds).unwrap();
            assert_eq!(epoch.to_string(), text);
            assert_eq!(Epoch::parse_rfc3339(text), Ok(epoch));
        }
    }

    #[test]
    fn round_trips_every_day_up_to_the_last() {
        for day in 0..Epoch::MAX / 86_400 {
            let epoch = Epoch::from_seconds(day * 86_400 + 86_399).unwrap();
            assert_eq!(Epoch::parse_rfc3339(&epoch.to_string()), Ok(epoch));
        }
    }

    #[test]
    fn rejects_what_is_not_a_utc_second() {
        for text in [
            "",
            "2026-08-04 17:32:46Z",
            "2026-08-04T17:32:46",
            "2026-08-04T17:32:46+02:00",
            "2026-08-04T17:32:46.5Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-08-04T24:00:00Z",
            "１９７０-01-01T00:00:00Z",
        ] {
            assert_eq!(
                Epoch::parse_rfc3339(text),
                Err(EpochError::NotUtcTime),
                "{text:?}"
            );
        }
        assert_eq!(
            Epoch::parse_rfc3339("2263-01-01T00:00:00Z"),
            Err(EpochError::OutOfRange)
        );
    }

    #[test]
    fn seconds_must_be_a_whole_number_in_range() {
        assert_eq!(
            Epoch::parse_seconds("1785864766").map(Epoch::seconds),
            Ok(1_785_864_766)
        );
        assert_eq!(
            Epoch::parse_seconds("1785864766").map(Epoch::nanos),
            Ok(1_785_864_766_000_000_000)
        );
        for text in ["", " 1", "1.5", "0x10", "tomorrow"] {
            assert_eq!(
                Epoch::parse_seconds(text),
                Err(EpochError::NotSeconds),
                "{text:?}"
            );
        }
        assert_eq!(Epoch::parse_seconds("-1"), Err(EpochError::OutOfRange));
        assert_eq!(
            Epoch::parse_seconds(&(Epoch::MAX + 1).to_string()),
            Err(EpochError::OutOfRange)
        );
    }
}
