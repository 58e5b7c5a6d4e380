//! Schemas of what the wire types hold as plain integers, strings and JSON values: an
//! amount, the currencies the acquirer settles, a card's entry mode, an event's payload,
//! a batched operation's answer, and the simulator's ledger (its type lives in
//! posagent-sim, above this crate). Each list of values is checked against the type
//! that reads it (the tests below).
#![allow(missing_docs)]

use crate::money::{Currency, MAX_AMOUNT};
use std::borrow::Cow;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// An amount: minor units of the currency, at least 1 and at most `int32` max.
pub struct Amount;

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_AMOUNT))
            .description(Some("Minor units of the currency"))
            .into()
    }
}

impl ToSchema for Amount {
    fn name() -> Cow<'static, str> {
        "Amount".into()
    }
}

/// The currencies the acquirer settles (the wire's; posagent formats KWD too).
pub use crate::money::SETTLED_CURRENCIES;

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(SETTLED_CURRENCIES.iter().copied()))
            .description(Some("ISO 4217, the currencies the acquirer settles"))
            .into()
    }
}

impl ToSchema for Currency {
    fn name() -> Cow<'static, str> {
        "Currency".into()
    }
}

/// How a card was read (`CardData::entry_mode`).
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryMode {
    Chip,
    Contactless,
    Swipe,
}

/// An event's payload: the payment request or the transaction as it now is.
pub fn event_payload() -> Schema {
    OneOfBuilder::new()
        .item(Ref::from_schema_name("PaymentRequest"))
        .item(Ref::from_schema_name("PaymentTransaction"))
        .into()
}

/// A batched operation's answer: what its own endpoint would have answered.
pub fn batch_body() -> Schema {
    AnyOfBuilder::new()
        .item(Ref::from_schema_name("PaymentTransaction"))
        .item(Ref::from_schema_name("AuthorizeResponse"))
        .item(Ref::from_schema_name("ReversalResponse"))
        .item(Ref::from_schema_name("ApiError"))
        .description(Some("The resource, or the error envelope"))
        .into()
}

/// What a booking of the simulator's ledger did.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LedgerKind {
    Authorization,
    Capture,
    Refund,
    Void,
}

/// One booking of the simulator's ledger. An authorization captured at once books
/// AUTHORIZATION and CAPTURE under its one key; a reversal books VOID (and REFUND when it
/// had been captured) under the reversal's key.
#[derive(ToSchema)]
pub struct LedgerEntry {
    /// Order of booking.
    #[schema(minimum = 1)]
    pub seq: u64,
    pub kind: LedgerKind,
    #[schema(pattern = "^krn:payment:")]
    pub payment_transaction_id: String,
    /// The transaction's payment_transaction_reference (the terminal's sale reference).
    pub reference: String,
    /// Minor units; of a void, what it released.
    #[schema(minimum = 0)]
    pub amount: i64,
    pub currency: Currency,
    /// The key of the request that booked it.
    pub idempotency_key: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The values an enum's schema lists.
    fn values<T: PartialSchema>() -> Vec<Value> {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        schema["enum"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn every_listed_currency_is_one_posagent_takes() {
        let listed = values::<Currency>();
        assert_eq!(listed.len(), SETTLED_CURRENCIES.len());
        for v in listed {
            assert!(serde_json::from_value::<Currency>(v.clone()).is_ok(), "{v}");
        }
    }
}
