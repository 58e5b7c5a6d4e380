//! Which lines a return gives back, and for how much: quantities never beyond what was
//! bought and not yet returned; discounts shared pro rata, the last unit taking the
//! remainder; tax recomputed per line so it passes Klarna's ±1 rule.

use posagent_acquirer_api::{LineItem, PaymentTransaction};

/// A line the customer brings back: the ECR wire type (`posagent-ecr-api`).
pub use posagent_ecr_api::ReturnLine;

/// Why the lines cannot be returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LineError {
    /// Offending field.
    pub field: String,
    /// Why.
    pub message: String,
}

fn returned(tx: &PaymentTransaction, reference: &str) -> (i64, i64) {
    tx.payment_refunds
        .iter()
        .flat_map(|r| r.line_items.iter())
        .filter(|l| l.reference.as_deref() == Some(reference))
        .fold((0, 0), |(q, d), l| (q + l.quantity, d + l.total_discount_amount))
}

/// The refund lines for `wanted` out of `tx`.
pub fn return_lines(tx: &PaymentTransaction, wanted: &[ReturnLine]) -> Result<Vec<LineItem>, LineError> {
    let err = |i: usize, f: &str, m: String| LineError { field: format!("lines[{i}].{f}"), message: m };
    let mut out: Vec<LineItem> = vec![];
    for (i, w) in wanted.iter().enumerate() {
        let orig = tx
            .line_items
            .iter()
            .find(|l| l.reference.as_deref() == Some(w.reference.as_str()))
            .ok_or_else(|| err(i, "reference", format!("`{}` is not on the original purchase", w.reference)))?;
        if orig.line_type().is_negative() {
            return Err(err(
                i,
                "reference",
                format!(
                    "`{}` is a discount, gift card or store credit line: return the articles, or an amount",
                    w.reference
                ),
            ));
        }
        let (already, discount_back) = returned(tx, &w.reference);
        let pending: i64 =
            out.iter().filter(|l| l.reference.as_deref() == Some(w.reference.as_str())).map(|l| l.quantity).sum();
        let available = orig.quantity - already - pending;
        if w.quantity < 1 || w.quantity > available {
            return Err(err(
                i,
                "quantity",
                format!("must be 1 to {available} (bought {}, returned {already})", orig.quantity),
            ));
        }
        let discount = if w.quantity == available {
            orig.total_discount_amount - discount_back
        } else {
            orig.total_discount_amount * w.quantity / orig.quantity
        };
        let total = w.quantity * orig.unit_price - discount;
        let tax = orig.tax_rate.map(|rate| (2 * total * rate + (10_000 + rate)) / (2 * (10_000 + rate)));
        out.push(LineItem {
            quantity: w.quantity,
            total_amount: total,
            total_discount_amount: discount,
            total_tax_amount: tax,
            ..orig.clone()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_acquirer_api::lines::validate_lines;
    use posagent_acquirer_api::{Currency, PaymentMethod, Refund, TransactionState};

    fn tx() -> PaymentTransaction {
        let line = |r: &str, q: i64, unit: i64, disc: i64| LineItem {
            name: r.into(),
            reference: Some(r.into()),
            quantity: q,
            unit_price: unit,
            total_amount: q * unit - disc,
            tax_rate: Some(2500),
            total_discount_amount: disc,
            total_tax_amount: Some((q * unit - disc) / 5),
            ..LineItem::default()
        };
        PaymentTransaction {
            payment_transaction_id: "krn:payment:eu1:transaction:t".into(),
            payment_transaction_reference: "S-1".into(),
            klarna_reference: "K1".into(),
            method: PaymentMethod::Klarna,
            authorization_code: None,
            state: TransactionState::Completed,
            amount: 3 * 1000 - 100 + 5000,
            captured_amount: 7900,
            refunded_amount: 0,
            currency: Currency::SEK,
            payment_captures: vec![],
            payment_refunds: vec![],
            line_items: vec![line("A", 3, 1000, 100), line("B", 1, 5000, 0)],
            created_at: chrono::Utc::now(),
            expires_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn partial_returns_share_the_discount_and_never_exceed_what_was_bought() {
        let mut t = tx();
        let first = return_lines(&t, &[ReturnLine { reference: "A".into(), quantity: 2 }]).unwrap_or_default();
        assert_eq!((first[0].total_discount_amount, first[0].total_amount), (66, 1934));
        assert_eq!(validate_lines("l", &first, 1934), Ok(()));
        t.payment_refunds.push(Refund {
            payment_refund_id: "r1".into(),
            payment_refund_reference: None,
            payment_capture_id: None,
            amount: 1934,
            line_items: first,
            created_at: chrono::Utc::now(),
        });
        // The last unit takes the rest of the discount: 2 × 967 + 966 = 2900 in all.
        let last = return_lines(&t, &[ReturnLine { reference: "A".into(), quantity: 1 }]).unwrap_or_default();
        assert_eq!((last[0].total_discount_amount, last[0].total_amount), (34, 966));
        assert_eq!(validate_lines("l", &last, 966), Ok(()));
        let e = return_lines(&t, &[ReturnLine { reference: "A".into(), quantity: 2 }]).err();
        assert_eq!(e.map(|e| e.field), Some("lines[0].quantity".into()));
        let e = return_lines(&t, &[ReturnLine { reference: "Z".into(), quantity: 1 }]).err();
        assert_eq!(e.map(|e| e.field), Some("lines[0].reference".into()));
        // The same line twice in one return counts both.
        let twice =
            [ReturnLine { reference: "B".into(), quantity: 1 }, ReturnLine { reference: "B".into(), quantity: 1 }];
        assert!(return_lines(&t, &twice).is_err());
    }
}
