//! Times on receipts and reports: an instant shown in the store's time zone (IANA, from
//! the system's tz database), never in UTC.

use chrono::{DateTime, Utc};

/// The time zone receipts are printed in: `store.time_zone` (e.g. `Europe/Stockholm`), or
/// the system's (`TZ`, else `/etc/localtime`).
#[derive(Debug, Clone)]
pub struct StoreTimeZone {
    zone: jiff::tz::TimeZone,
}

impl Default for StoreTimeZone {
    fn default() -> Self {
        StoreTimeZone { zone: jiff::tz::TimeZone::system() }
    }
}

impl StoreTimeZone {
    /// The zone named `name` in the tz database.
    pub fn named(name: &str) -> Result<Self, String> {
        jiff::tz::TimeZone::get(name).map(|zone| StoreTimeZone { zone }).map_err(|e| {
            format!("`{name}` is not a time zone of this system's tz database ({e}); use an IANA name such as \"Europe/Stockholm\" (is package tzdata installed?)")
        })
    }

    /// `at` as the clock in the store showed it: `2026-11-25 15:02`.
    pub fn format(&self, at: DateTime<Utc>) -> String {
        match jiff::Timestamp::from_second(at.timestamp()) {
            Ok(ts) => ts.to_zoned(self.zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
            Err(_) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

impl StoreTimeZone {
    /// `at` on the store's clock as (month, day, hour, minute, second), for the date and
    /// time fields of a protocol (ZVT's `0D` and `0C`).
    pub fn clock(&self, at: DateTime<Utc>) -> (u8, u8, u8, u8, u8) {
        let Ok(ts) = jiff::Timestamp::from_second(at.timestamp()) else { return (1, 1, 0, 0, 0) };
        let z = ts.to_zoned(self.zone.clone());
        let byte = |v: i8| u8::try_from(v).unwrap_or(0);
        (byte(z.month()), byte(z.day()), byte(z.hour()), byte(z.minute()), byte(z.second()))
    }
}

impl<'de> serde::Deserialize<'de> for StoreTimeZone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        StoreTimeZone::named(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn receipt_times_are_the_stores_clock() {
        let Ok(stockholm) = StoreTimeZone::named("Europe/Stockholm") else { return };
        // Winter (CET) and summer (CEST).
        assert_eq!(stockholm.format(at("2026-11-25T20:25:00Z")), "2026-11-25 21:25");
        assert_eq!(stockholm.format(at("2026-07-01T08:00:30Z")), "2026-07-01 10:00");
        let Ok(utc) = StoreTimeZone::named("UTC") else { return };
        assert_eq!(utc.format(at("2026-11-25T20:25:00Z")), "2026-11-25 20:25");
        assert_eq!(stockholm.clock(at("2026-07-01T08:00:30Z")), (7, 1, 10, 0, 30));
    }

    #[test]
    fn an_unknown_zone_is_refused_with_what_to_write() {
        let e = StoreTimeZone::named("Mars/Olympus").err().unwrap_or_default();
        assert!(e.contains("Europe/Stockholm"), "{e}");
    }
}
