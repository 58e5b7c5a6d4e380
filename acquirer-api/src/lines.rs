//! Order lines and Klarna's rules for them.
//!
//! `total_amount = quantity × unit_price − total_discount_amount`; the lines sum to the
//! payment amount. Discounts, gift cards and store credit are lines of their own with a
//! negative `unit_price` and `total_amount` (Klarna's `type`); every other line is not
//! negative. With a `tax_rate` (percent × 100) the rate recomputed from the line,
//! `10000 × total_tax_amount / (total_amount − total_tax_amount)`, must be within one
//! percentage point of it — Klarna's check, which a register rounding tax per unit
//! passes (docs.klarna.com, tax handling).

use crate::money::MAX_AMOUNT;
use serde::{Deserialize, Serialize};

/// Most lines one payment may carry.
pub const MAX_LINES: usize = 1000;

/// Klarna's kind of an order line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LineType {
    /// A physical article (the default).
    #[default]
    Physical,
    /// A discount (negative).
    Discount,
    /// Shipping.
    ShippingFee,
    /// Sales tax (US).
    SalesTax,
    /// A digital article.
    Digital,
    /// A gift card paid with (negative).
    GiftCard,
    /// Store credit paid with (negative).
    StoreCredit,
    /// A surcharge.
    Surcharge,
}

impl LineType {
    /// Whether lines of this kind are negative (they take money off the order).
    pub fn is_negative(self) -> bool {
        matches!(self, LineType::Discount | LineType::GiftCard | LineType::StoreCredit)
    }
}

/// Klarna's order line. Discounts, gift cards and store credit are lines of their own with
/// a negative unit_price and total_amount; every other line is not negative. With
/// tax_rate, 10000 × total_tax_amount / (total_amount − total_tax_amount) must be within
/// 100 (one percentage point) of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    /// Klarna's kind of line; a physical article when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<LineType>,
    /// Display name of the article (1–255 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub name: String,
    /// Article reference / SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Quantity (whole units).
    #[serde(deserialize_with = "crate::integer::de")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub quantity: i64,
    /// Price of one unit in minor units, tax included, before discount; negative only on
    /// discount, gift_card and store_credit lines.
    #[cfg_attr(feature = "openapi", schema(minimum = -2_147_483_647, maximum = 2_147_483_647))]
    #[serde(deserialize_with = "crate::integer::de")]
    pub unit_price: i64,
    /// `quantity × unit_price − total_discount_amount`, in minor units; the lines sum to
    /// the amount (refused 400 VALIDATION_ERROR otherwise).
    #[cfg_attr(feature = "openapi", schema(minimum = -2_147_483_647, maximum = 2_147_483_647))]
    #[serde(deserialize_with = "crate::integer::de")]
    pub total_amount: i64,
    /// Tax rate in percent × 100 (2500 = 25 %).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::integer::de_opt")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10_000))]
    pub tax_rate: Option<i64>,
    /// Discount on the whole line, in minor units, tax included.
    #[serde(default, deserialize_with = "crate::integer::de")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 2_147_483_647))]
    pub total_discount_amount: i64,
    /// Tax included in `total_amount`, in minor units, with its sign.
    #[cfg_attr(feature = "openapi", schema(minimum = -2_147_483_647, maximum = 2_147_483_647))]
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::integer::de_opt")]
    pub total_tax_amount: Option<i64>,
    /// The article's GTIN, EAN or other product identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub product_identifier: Option<String>,
    /// The article's page (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^https://[^\s]+$", max_length = 1024))]
    pub product_url: Option<String>,
    /// The article's picture (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^https://[^\s]+$", max_length = 1024))]
    pub image_url: Option<String>,
}

impl LineItem {
    /// The line's kind (a physical article when not given).
    pub fn line_type(&self) -> LineType {
        self.kind.unwrap_or_default()
    }
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
        check_line(l).map_err(|(name, reason)| err(prefix, i, name, reason))?;
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

type Refusal = (&'static str, String);

/// One line against Klarna's rules: the field at fault and why.
fn check_line(l: &LineItem) -> Result<(), Refusal> {
    if l.name.trim().is_empty() || l.name.chars().count() > 255 {
        return Err(("name", "must be 1 to 255 characters".into()));
    }
    if l.quantity < 1 || l.quantity > 1_000_000 {
        return Err(("quantity", "must be a whole number from 1 to 1000000".into()));
    }
    let negative = l.line_type().is_negative();
    let prices = if negative { -MAX_AMOUNT..=0 } else { 0..=MAX_AMOUNT };
    if !prices.contains(&l.unit_price) {
        let why = if negative {
            format!("a {:?} line takes money off: 0 to -{MAX_AMOUNT} minor units", l.line_type()).to_lowercase()
        } else {
            format!("must be 0 to {MAX_AMOUNT} minor units (a discount is a line of type \"discount\")")
        };
        return Err(("unit_price", why));
    }
    if l.total_discount_amount < 0 || (negative && l.total_discount_amount != 0) {
        return Err((
            "total_discount_amount",
            "must be 0 or more (0 on a discount, gift card or store credit line)".into(),
        ));
    }
    let expected = l
        .quantity
        .checked_mul(l.unit_price)
        .and_then(|g| g.checked_sub(l.total_discount_amount))
        .filter(|t| (-MAX_AMOUNT..=MAX_AMOUNT).contains(t) && (*t <= 0) == (negative || *t == 0))
        .ok_or(("total_amount", "quantity × unit_price is out of range".into()))?;
    if l.total_amount != expected {
        let why =
            format!("must equal quantity × unit_price − total_discount_amount = {expected}, got {}", l.total_amount);
        return Err(("total_amount", why));
    }
    for (field, url) in [("product_url", &l.product_url), ("image_url", &l.image_url)] {
        if url
            .as_ref()
            .is_some_and(|u| !u.starts_with("https://") || u.len() > 1024 || u.chars().any(char::is_whitespace))
        {
            return Err((field, "must be an https:// URL of at most 1024 characters".into()));
        }
    }
    if l.product_identifier.as_ref().is_some_and(|p| p.trim().is_empty() || p.chars().count() > 64) {
        return Err(("product_identifier", "must be 1 to 64 characters".into()));
    }
    check_tax(l)
}

/// Klarna's tax check: the rate recomputed from the line within one percentage point.
fn check_tax(l: &LineItem) -> Result<(), Refusal> {
    match (l.tax_rate, l.total_tax_amount) {
        (Some(rate), Some(tax)) => {
            if !(0..=10_000).contains(&rate) {
                return Err(("tax_rate", "must be 0 to 10000 (percent × 100)".into()));
            }
            let same_sign = tax == 0 || (tax > 0) == (l.total_amount > 0);
            if !same_sign || tax.abs() > l.total_amount.abs() {
                return Err(("total_tax_amount", "must be 0 to total_amount, with its sign".into()));
            }
            // |10000·tax/(total − tax) − rate| ≤ 100, exactly in integers.
            let net = i128::from(l.total_amount) - i128::from(tax);
            let ok = if net == 0 {
                tax == 0
            } else {
                (10_000 * i128::from(tax) - i128::from(rate) * net).abs() <= 100 * net.abs()
            };
            if !ok {
                let why = format!(
                    "total_tax_amount {tax} on total_amount {} is not a tax of tax_rate {rate} (within one percentage point)",
                    l.total_amount
                );
                return Err(("tax_rate", why));
            }
            Ok(())
        }
        (Some(_), None) => Err(("total_tax_amount", "is required when tax_rate is given".into())),
        (None, Some(_)) => Err(("tax_rate", "is required when total_tax_amount is given".into())),
        (None, None) => Ok(()),
    }
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
            ..LineItem::default()
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
    fn tolerance_is_one_percentage_point_of_the_recomputed_rate() {
        // 10000 incl. 20 % VAT: a tax implying 19.0 % to 21.0 % passes (1597 → 19.01 %,
        // 1735 → 20.99 %), beyond does not.
        for (tax, ok) in [(1596, false), (1597, true), (1666, true), (1735, true), (1736, false)] {
            let lines = vec![line(1, 10000, 0, 10000, Some(2000), Some(tax))];
            assert_eq!(validate_lines("l", &lines, 10000).is_ok(), ok, "tax {tax}");
        }
    }

    #[test]
    fn klarnas_examples_per_unit_rounding_passes_and_a_tiny_line_with_too_much_tax_does_not() {
        // A register rounding tax per unit: 10 × 9.99 at 19 %, tax 16.00 (Klarna accepts it).
        let per_unit = vec![line(10, 999, 0, 9990, Some(1900), Some(1600))];
        assert_eq!(validate_lines("l", &per_unit, 9990), Ok(()));
        // 0.10 at 20 % with 0.02 of tax implies 25 %: refused, the rate named.
        let tiny = vec![line(1, 10, 0, 10, Some(2000), Some(2))];
        assert_eq!(validate_lines("l", &tiny, 10).err().map(|e| e.field), Some("l[0].tax_rate".into()));
    }

    #[test]
    fn discount_and_gift_card_lines_are_negative_and_only_they() {
        let typed = |kind: LineType, unit: i64, rate: Option<i64>, tax: Option<i64>| LineItem {
            kind: Some(kind),
            ..line(1, unit, 0, unit, rate, tax)
        };
        // Klarna's discount example: an article, 10.00 off it (with its tax), a gift card.
        let lines = vec![
            line(1, 50000, 0, 50000, Some(2500), Some(10000)),
            typed(LineType::Discount, -1000, Some(2500), Some(-200)),
            typed(LineType::GiftCard, -5000, None, None),
            typed(LineType::ShippingFee, 4900, Some(2500), Some(980)),
        ];
        assert_eq!(validate_lines("order_lines", &lines, 48900), Ok(()));
        // A negative physical line, or a positive discount, is refused with the field.
        let bad = vec![line(1, -1000, 0, -1000, None, None)];
        assert_eq!(validate_lines("l", &bad, 1).err().map(|e| e.field), Some("l[0].unit_price".into()));
        let bad = vec![typed(LineType::Discount, 1000, None, None)];
        assert_eq!(validate_lines("l", &bad, 1000).err().map(|e| e.field), Some("l[0].unit_price".into()));
        let bad = vec![typed(LineType::Discount, -1000, Some(2500), Some(200))];
        assert_eq!(validate_lines("l", &bad, -1000).err().map(|e| e.field), Some("l[0].total_tax_amount".into()));
        let json = serde_json::json!({"type": "store_credit", "name": "Credit", "quantity": 1, "unit_price": -5, "total_amount": -5});
        let credit: Result<LineItem, _> = serde_json::from_value(json);
        assert_eq!(credit.map(|l| l.line_type()).ok(), Some(LineType::StoreCredit));
    }

    #[test]
    fn product_links_must_be_https() {
        let with = |url: &str| LineItem { product_url: Some(url.into()), ..line(1, 100, 0, 100, None, None) };
        assert_eq!(validate_lines("l", &[with("https://shop.example/p/1")], 100), Ok(()));
        let e = validate_lines("l", &[with("javascript:alert(1)")], 100).err().map(|e| e.field);
        assert_eq!(e, Some("l[0].product_url".into()));
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
