//! JSON integers as JSON Schema counts them: `100` and `100.0` are the same integer (a
//! register or client in Python or JavaScript may send either); `100.5`, and numbers
//! beyond ±2^53 where a float is no longer exact, are refused. From here on the value is
//! an `i64`: money is never held as a float. For `#[serde(deserialize_with = …)]`.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// Largest magnitude a JSON number with a fraction part still gives exactly.
const EXACT: f64 = 9_007_199_254_740_992.0;

struct Integral(i64);

struct IntegralVisitor;

impl Visitor<'_> for IntegralVisitor {
    type Value = Integral;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Integral, E> {
        Ok(Integral(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Integral, E> {
        i64::try_from(v).map(Integral).map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Integral, E> {
        if v.fract() == 0.0 && v.abs() <= EXACT {
            // Exact: integral and within the range a float holds exactly.
            #[allow(clippy::cast_possible_truncation)]
            Ok(Integral(v as i64))
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &"an integer (minor units)"))
        }
    }
}

impl<'de> serde::Deserialize<'de> for Integral {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntegralVisitor)
    }
}

/// An integer field.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    <Integral as serde::Deserialize>::deserialize(d).map(|i| i.0)
}

/// An optional integer field (with `#[serde(default)]`).
pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    <Option<Integral> as serde::Deserialize>::deserialize(d).map(|o| o.map(|i| i.0))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    struct T {
        #[serde(deserialize_with = "super::de")]
        a: i64,
        #[serde(default, deserialize_with = "super::de_opt")]
        b: Option<i64>,
    }

    fn parse(s: &str) -> Result<(i64, Option<i64>), String> {
        serde_json::from_str::<T>(s).map(|t| (t.a, t.b)).map_err(|e| e.to_string())
    }

    #[test]
    fn integral_numbers_only() {
        assert_eq!(parse(r#"{"a": 100}"#), Ok((100, None)));
        assert_eq!(parse(r#"{"a": 100.0, "b": -5.0}"#), Ok((100, Some(-5))));
        assert_eq!(parse(r#"{"a": 1e3, "b": null}"#), Ok((1000, None)));
        assert!(parse(r#"{"a": 100.5}"#).is_err());
        assert!(parse(r#"{"a": 1e300}"#).is_err());
        assert!(parse(r#"{"a": "100"}"#).is_err());
        assert!(parse(r#"{"a": 18446744073709551615}"#).is_err());
    }
}
