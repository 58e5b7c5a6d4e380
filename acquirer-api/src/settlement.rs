//! The settlement report of one day: what the acquirer will pay out, per transaction,
//! with Klarna's fees, the VAT on the fees, chargebacks and the payout.
//!
//! Money is in integer minor units. A fee is `round_half_up(amount × basis_points /
//! 10 000) + fixed` per settled sale (a capture); a return carries no fee (the sale's fee
//! is not given back). The VAT is `round_half_up(fee × vat_basis_points / 10 000)` per
//! entry. Rounding is per entry, half up (a half minor unit goes up); the totals are sums
//! of the entries, so they add up exactly. Per currency:
//! `payout = net − fees − fee_vat − chargebacks`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Kind of a settled movement (Klarna settlement types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SettlementType {
    /// A capture.
    Sale,
    /// A refund.
    Return,
}

/// One settled movement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementEntry {
    /// Sale or return.
    #[serde(rename = "type")]
    pub kind: SettlementType,
    /// Transaction KRN.
    pub payment_transaction_id: String,
    /// The terminal's reference of the sale.
    pub reference: String,
    /// Amount in minor units.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Currency.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Currency))]
    pub currency: String,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
    /// The acquirer's fee on it, minor units (0 on a return; absent in older reports).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub fee: i64,
    /// VAT on the fee, minor units.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub fee_vat: i64,
}

/// Totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementTotal {
    /// Currency.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Currency))]
    pub currency: String,
    /// Sum of sales.
    pub sales: i64,
    /// Sum of returns.
    pub returns: i64,
    /// `sales − returns`.
    pub net: i64,
    /// Sum of the entries' fees (absent in older reports).
    #[serde(default)]
    pub fees: i64,
    /// Sum of the VAT on the fees.
    #[serde(default)]
    pub fee_vat: i64,
    /// Chargebacks debited this day.
    #[serde(default)]
    pub chargebacks: i64,
    /// What is paid out: `net − fees − fee_vat − chargebacks`.
    #[serde(default)]
    pub payout: i64,
}

impl SettlementTotal {
    /// Empty totals of `currency`.
    pub fn empty(currency: &str) -> Self {
        SettlementTotal {
            currency: currency.to_string(),
            sales: 0,
            returns: 0,
            net: 0,
            fees: 0,
            fee_vat: 0,
            chargebacks: 0,
            payout: 0,
        }
    }

    /// Adds `entry` (of this currency) and works out `net` and `payout` again.
    pub fn add(&mut self, entry: &SettlementEntry) {
        match entry.kind {
            SettlementType::Sale => self.sales += entry.amount,
            SettlementType::Return => self.returns += entry.amount,
        }
        self.fees += entry.fee;
        self.fee_vat += entry.fee_vat;
        self.net = self.sales - self.returns;
        self.payout = self.net - self.fees - self.fee_vat - self.chargebacks;
    }
}

/// A store's fee schedule: per settled sale, `basis_points` of the amount (rounded half
/// up) plus `fixed` minor units; VAT of `vat_basis_points` on the fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSchedule {
    /// Percentage fee in basis points (1/100 %), 0 to 10 000.
    pub basis_points: i64,
    /// Fixed fee per sale, minor units, 0 or more.
    pub fixed: i64,
    /// VAT on the fee in basis points, 0 to 10 000.
    pub vat_basis_points: i64,
}

impl Default for FeeSchedule {
    /// 1.49 % + 0.20 (minor units 20) per sale, 25 % VAT on the fee.
    fn default() -> Self {
        FeeSchedule { basis_points: 149, fixed: 20, vat_basis_points: 2_500 }
    }
}

/// `value × basis_points / 10 000`, rounded half up, for `value, basis_points ≥ 0`.
pub fn basis_points_of(value: i64, basis_points: i64) -> i64 {
    let product = i128::from(value) * i128::from(basis_points);
    i64::try_from((product + 5_000).div_euclid(10_000)).unwrap_or(i64::MAX)
}

impl FeeSchedule {
    /// Whether the schedule is one the acquirer can apply (rates 0 to 100 %, fixed ≥ 0).
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [("basis_points", self.basis_points), ("vat_basis_points", self.vat_basis_points)] {
            if !(0..=10_000).contains(&v) {
                return Err(format!("{name} must be 0 to 10000 (100 %), not {v}"));
            }
        }
        if self.fixed < 0 {
            return Err(format!("fixed must be 0 or more minor units, not {}", self.fixed));
        }
        Ok(())
    }

    /// The fee and its VAT on a settled movement of `kind` and `amount`.
    pub fn fee(&self, kind: SettlementType, amount: i64) -> (i64, i64) {
        if kind != SettlementType::Sale {
            return (0, 0);
        }
        let fee = basis_points_of(amount.max(0), self.basis_points).saturating_add(self.fixed);
        (fee, basis_points_of(fee, self.vat_basis_points))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up_per_entry() {
        let s = FeeSchedule { basis_points: 150, fixed: 25, vat_basis_points: 2_500 };
        // 1.5 % of 1 000 = 15 exactly; of 1 = 0.015 → 0; of 100 = 1.5 → 2 (half up).
        assert_eq!(s.fee(SettlementType::Sale, 1_000), (40, 10));
        assert_eq!(s.fee(SettlementType::Sale, 1), (25, 6), "VAT 6.25 → 6");
        assert_eq!(s.fee(SettlementType::Sale, 100), (27, 7), "fee 1.5 → 2, VAT 6.75 → 7");
        assert_eq!(s.fee(SettlementType::Return, 1_000), (0, 0), "a return carries no fee");
        assert_eq!(basis_points_of(i64::MAX, 10_000), i64::MAX, "no overflow");
        assert!(s.check().is_ok());
        assert!(FeeSchedule { basis_points: 10_001, ..s }.check().is_err());
        assert!(FeeSchedule { fixed: -1, ..s }.check().is_err());
    }

    #[test]
    fn the_payout_is_net_less_fees_vat_and_chargebacks() {
        let s = FeeSchedule::default();
        let entry = |kind, amount| {
            let (fee, fee_vat) = s.fee(kind, amount);
            SettlementEntry {
                kind,
                payment_transaction_id: "t".into(),
                reference: "r".into(),
                amount,
                currency: "SEK".into(),
                booked_at: DateTime::<Utc>::MIN_UTC,
                fee,
                fee_vat,
            }
        };
        let mut t = SettlementTotal::empty("SEK");
        t.add(&entry(SettlementType::Sale, 20_000));
        t.add(&entry(SettlementType::Return, 5_000));
        // 1.49 % of 200.00 = 2.98 + 0.20 = 3.18; VAT 25 % = 0.795 → 0.80.
        assert_eq!((t.net, t.fees, t.fee_vat), (15_000, 318, 80));
        assert_eq!(t.payout, 15_000 - 318 - 80);
        // An older report without the new fields still reads.
        let old = r#"{"currency":"SEK","sales":1,"returns":0,"net":1}"#;
        let old: SettlementTotal = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((old.fees, old.payout), (0, 0));
    }
}

/// `GET /v1/settlements/{date}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementReport {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Totals per currency.
    pub totals: Vec<SettlementTotal>,
    /// Every movement of the day.
    pub entries: Vec<SettlementEntry>,
}
