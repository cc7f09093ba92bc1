//! Calendar arithmetic for the `Date:` header and the date placeholders.
//! No clock is read here: the time always comes from the caller.

use crate::CarrierError;

/// The moment a carrier is dated, as the sender's mail client would see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailDate {
    /// Seconds since 1970-01-01T00:00:00Z. Must lie in years 1970..=9999.
    pub unix_seconds: i64,
    /// The sender's offset from UTC in minutes (e.g. `120` for `+0200`,
    /// `-300` for `-0500`), in `-720..=840`.
    pub utc_offset_minutes: i16,
}

/// Last second of 9999-12-31 (RFC 5322 years have four digits here).
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A local calendar date and time of day (after applying the UTC offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LocalTime {
    pub(crate) year: i64,
    /// 1..=12
    pub(crate) month: u32,
    /// 1..=31
    pub(crate) day: u32,
    /// 0 = Sunday
    pub(crate) weekday: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) offset_minutes: i16,
}

impl MailDate {
    /// Converts to the sender's local calendar time, checking the ranges.
    pub(crate) fn local(self) -> Result<LocalTime, CarrierError> {
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(CarrierError::InvalidDate {
                reason: "UTC offset must be within -12:00..=+14:00",
            });
        }
        let local = self.unix_seconds + i64::from(self.utc_offset_minutes) * 60;
        if !(0..=MAX_UNIX_SECONDS).contains(&self.unix_seconds)
            || !(0..=MAX_UNIX_SECONDS).contains(&local)
        {
            return Err(CarrierError::InvalidDate {
                reason: "date must lie in the years 1970..=9999",
            });
        }
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday (4). `rem_euclid` keeps it in 0..7.
        let weekday = (days + 4).rem_euclid(7);
        Ok(LocalTime {
            year,
            month,
            day,
            weekday: u32::try_from(weekday).unwrap_or(0),
            hour: u32::try_from(secs / 3600).unwrap_or(0),
            minute: u32::try_from((secs / 60) % 60).unwrap_or(0),
            second: u32::try_from(secs % 60).unwrap_or(0),
            offset_minutes: self.utc_offset_minutes,
        })
    }
}

impl LocalTime {
    pub(crate) fn weekday_name(&self) -> &'static str {
        WEEKDAYS
            .get(self.weekday as usize)
            .copied()
            .unwrap_or("Monday")
    }

    pub(crate) fn month_name(&self) -> &'static str {
        MONTHS
            .get(self.month.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("January")
    }

    /// RFC 5322 `date-time`, as mail clients write it:
    /// `Fri, 7 Jun 2024 14:03:22 +0200`.
    pub(crate) fn rfc5322(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        format!(
            "{}, {} {} {:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            self.weekday_name().get(..3).unwrap_or("Mon"),
            self.day,
            self.month_name().get(..3).unwrap_or("Jan"),
            self.year,
            self.hour,
            self.minute,
            self.second,
            sign,
            off / 60,
            off % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant, "chrono-compatible low-level date algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_seconds: i64, utc_offset_minutes: i16) -> String {
        MailDate {
            unix_seconds,
            utc_offset_minutes,
        }
        .local()
        .map(|l| l.rfc5322())
        .unwrap_or_default()
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0, 0), "Thu, 1 Jan 1970 00:00:00 +0000");
        // 2024-02-29T23:30:00Z, a leap day, seen from +01:00 and -05:30.
        assert_eq!(at(1_709_249_400, 60), "Fri, 1 Mar 2024 00:30:00 +0100");
        assert_eq!(at(1_709_249_400, -330), "Thu, 29 Feb 2024 18:00:00 -0530");
        assert_eq!(at(MAX_UNIX_SECONDS, 0), "Fri, 31 Dec 9999 23:59:59 +0000");
    }

    #[test]
    fn out_of_range_is_rejected() {
        for (s, o) in [
            (-1, 0),
            (0, -60),
            (MAX_UNIX_SECONDS, 60),
            (0, 841),
            (0, -721),
        ] {
            let d = MailDate {
                unix_seconds: s,
                utc_offset_minutes: o,
            };
            assert!(d.local().is_err(), "{s} {o}");
        }
    }
}
