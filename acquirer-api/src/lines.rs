//! Order lines and Klarna's arithmetic rules for them.
//!
//! `total_amount = quantity × unit_price − total_discount_amount`; the lines sum to the
//! payment amount; with a `tax_rate` (percent × 100) the line's `total_tax_amount` must be
//! within ±1 minor unit of the tax included in `total_amount` at that rate,
//! `total_amount × tax_rate / (10000 + tax_rate)`.

use crate::money::MAX_AMOUNT;
use serde::{Deserialize, Serialize};

/// Most lines one payment may carry.
pub const MAX_LINES: usize = 1000;

/// One order line, Klarna Network naming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Display name of the article (1–255 characters).
    pub name: String,
    /// Article reference / SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Quantity (whole units).
    #[serde(deserialize_with = "crate::integer::de")]
    pub quantity: i64,
    /// Price of one unit in minor units, tax included, before discount.
    #[serde(deserialize_with = "crate::integer::de")]
    pub unit_price: i64,
    /// `quantity × unit_price − total_discount_amount`, in minor units.
    #[serde(deserialize_with = "crate::integer::de")]
    pub total_amount: i64,
    /// Tax rate in percent × 100 (2500 = 25 %).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::integer::de_opt")]
    pub tax_rate: Option<i64>,
    /// Discount on the whole line, in minor units, tax included.
    #[serde(default, deserialize_with = "crate::integer::de")]
    pub total_discount_amount: i64,
    /// Tax included in `total_amount`, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::integer::de_opt")]
    pub total_tax_amount: Option<i64>,
}

/// A line that breaks Klarna's rules; `field` is the JSON path of the culprit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct LineItemError {
    /// JSON path, e.g. `order_lines[1].total_amount`.
    pub field: String,
    /// What is wrong and what to send instead.
    pub reason: String,
}

fn err(prefix: &str, i: usize, name: &str, reason: String) -> LineItemError {
    LineItemError { field: format!("{prefix}[{i}].{name}"), reason }
}

/// Checks every line and that the lines sum to `amount`. `prefix` names the array in errors.
pub fn validate_lines(prefix: &str, lines: &[LineItem], amount: i64) -> Result<(), LineItemError> {
    if lines.len() > MAX_LINES {
        return Err(LineItemError {
            field: prefix.to_string(),
            reason: format!("at most {MAX_LINES} lines are allowed, got {}", lines.len()),
        });
    }
    let mut sum: i64 = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.name.trim().is_empty() || l.name.chars().count() > 255 {
            return Err(err(prefix, i, "name", "must be 1 to 255 characters".into()));
        }
        if l.quantity < 1 || l.quantity > 1_000_000 {
            return Err(err(prefix, i, "quantity", "must be a whole number from 1 to 1000000".into()));
        }
        if l.unit_price < 0 || l.unit_price > MAX_AMOUNT {
            return Err(err(prefix, i, "unit_price", format!("must be 0 to {MAX_AMOUNT} minor units")));
        }
        if l.total_discount_amount < 0 {
            return Err(err(prefix, i, "total_discount_amount", "must not be negative".into()));
        }
        let expected = l
            .quantity
            .checked_mul(l.unit_price)
            .and_then(|g| g.checked_sub(l.total_discount_amount))
            .filter(|t| (0..=MAX_AMOUNT).contains(t))
            .ok_or_else(|| err(prefix, i, "total_amount", "quantity × unit_price is out of range".into()))?;
        if l.total_amount != expected {
            return Err(err(
                prefix,
                i,
                "total_amount",
                format!(
                    "must equal quantity × unit_price − total_discount_amount = {expected}, got {}",
                    l.total_amount
                ),
            ));
        }
        match (l.tax_rate, l.total_tax_amount) {
            (Some(rate), Some(tax)) => {
                if !(0..=10_000).contains(&rate) {
                    return Err(err(prefix, i, "tax_rate", "must be 0 to 10000 (percent × 100)".into()));
                }
                if tax < 0 || tax > l.total_amount {
                    return Err(err(prefix, i, "total_tax_amount", "must be 0 to total_amount".into()));
                }
                // |tax − total·rate/(10000+rate)| ≤ 1, exactly in integers.
                let denominator = 10_000 + i128::from(rate);
                let ok = (i128::from(tax) * denominator - i128::from(l.total_amount) * i128::from(rate)).abs()
                    <= denominator;
                if !ok {
                    return Err(err(
                        prefix,
                        i,
                        "tax_rate",
                        format!(
                            "total_tax_amount {tax} does not match tax_rate {rate} on total_amount {}",
                            l.total_amount
                        ),
                    ));
                }
            }
            (Some(_), None) => {
                return Err(err(prefix, i, "total_tax_amount", "is required when tax_rate is given".into()));
            }
            (None, Some(_)) => {
                return Err(err(prefix, i, "tax_rate", "is required when total_tax_amount is given".into()));
            }
            (None, None) => {}
        }
        sum += l.total_amount;
    }
    if !lines.is_empty() && sum != amount {
        return Err(LineItemError {
            field: prefix.to_string(),
            reason: format!("the lines' total_amount sum to {sum} but the amount is {amount}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: i64, unit: i64, disc: i64, total: i64, rate: Option<i64>, tax: Option<i64>) -> LineItem {
        LineItem {
            name: "Battery Power Pack".into(),
            reference: Some("19-402".into()),
            quantity: q,
            unit_price: unit,
            total_amount: total,
            tax_rate: rate,
            total_discount_amount: disc,
            total_tax_amount: tax,
        }
    }

    #[test]
    fn klarna_eu_example_passes() {
        // docs.klarna.com tax-handling example: 59500 @ 20 % → 9917 tax; 2900 @ 20 % → 483.
        let lines =
            vec![line(1, 59500, 0, 59500, Some(2000), Some(9917)), line(1, 2900, 0, 2900, Some(2000), Some(483))];
        assert_eq!(validate_lines("order_lines", &lines, 62400), Ok(()));
    }

    #[test]
    fn klarna_wrong_rate_is_refused() {
        // Klarna's "Example 2": tax_rate 2500 but the tax amount implies 2000.
        let lines = vec![line(1, 59500, 0, 59500, Some(2500), Some(9917))];
        let e = validate_lines("order_lines", &lines, 59500).err();
        assert_eq!(e.map(|e| e.field), Some("order_lines[0].tax_rate".to_string()));
    }

    #[test]
    fn in_store_sample_with_discount_passes() {
        // 2 × 10000 − 2000 discount = 18000 incl. 3000 VAT at 20 %.
        let lines = vec![line(2, 10000, 2000, 18000, Some(2000), Some(3000))];
        assert_eq!(validate_lines("order_lines", &lines, 18000), Ok(()));
    }

    #[test]
    fn tolerance_is_one_minor_unit_of_tax() {
        // 10000 incl. 20 % VAT holds 1666.67 of tax: 1666 and 1667 pass, 1665 and 1668 do not.
        for (tax, ok) in [(1665, false), (1666, true), (1667, true), (1668, false)] {
            let lines = vec![line(1, 10000, 0, 10000, Some(2000), Some(tax))];
            assert_eq!(validate_lines("l", &lines, 10000).is_ok(), ok, "tax {tax}");
        }
    }

    #[test]
    fn totals_must_add_up() {
        let lines = vec![line(2, 500, 0, 900, None, None)];
        assert_eq!(validate_lines("l", &lines, 900).err().map(|e| e.field), Some("l[0].total_amount".into()));
        let lines = vec![line(2, 500, 0, 1000, None, None)];
        assert_eq!(validate_lines("l", &lines, 1200).err().map(|e| e.field), Some("l".into()));
        assert_eq!(validate_lines("l", &lines, 1000), Ok(()));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let lines = vec![line(1_000_000, i64::from(i32::MAX), 0, 1, None, None)];
        assert!(validate_lines("l", &lines, 1).is_err());
    }
}
