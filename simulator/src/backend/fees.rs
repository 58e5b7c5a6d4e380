//! The acquirer's fee schedules: one per store (by the `point_of_checkout.store_reference`
//! a transaction was authorized under), else the default ([`FeeSchedule::default`]: 1.49 %
//! plus 20 minor units per sale, 25 % VAT on the fee). The settlement report charges
//! each settled sale its store's fee; `GET`/`POST /sim/fees` read and set the schedules.

use super::routes::{Shared, bad_json, error};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use posagent_acquirer_api::settlement::FeeSchedule;
use posagent_acquirer_api::{ErrorType, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The schedules in force, and which store each transaction belongs to.
#[derive(Debug, Default)]
pub struct Fees {
    /// For stores without a schedule of their own.
    default: FeeSchedule,
    /// By store reference.
    by_store: BTreeMap<String, FeeSchedule>,
    /// Transaction id → the store it was authorized in.
    store_of: HashMap<String, String>,
}

impl Fees {
    /// Remembers the store `transaction_id` was authorized in.
    pub fn remember_store(&mut self, transaction_id: &str, store_reference: &str) {
        self.store_of.insert(transaction_id.to_string(), store_reference.to_string());
    }

    /// The schedule the transaction's store pays.
    pub fn schedule_of(&self, transaction_id: &str) -> FeeSchedule {
        self.store_of.get(transaction_id).and_then(|s| self.by_store.get(s)).copied().unwrap_or(self.default)
    }

    /// Sets the schedule of `store` (`None`: the default).
    pub fn set(&mut self, store: Option<String>, schedule: FeeSchedule) {
        match store {
            Some(s) => {
                self.by_store.insert(s, schedule);
            }
            None => self.default = schedule,
        }
    }

    fn view(&self) -> FeesView {
        FeesView { default: self.default, stores: self.by_store.clone() }
    }
}

/// `GET /sim/fees`.
#[derive(Serialize)]
struct FeesView {
    default: FeeSchedule,
    stores: BTreeMap<String, FeeSchedule>,
}

/// `POST /sim/fees`: a store's schedule (no `store_reference`: the default).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFees {
    #[serde(default)]
    store_reference: Option<String>,
    schedule: FeeSchedule,
}

/// The schedules in force.
pub(super) async fn read_fees(State(b): State<Shared>) -> Response {
    axum::Json(b.books().fees.view()).into_response()
}

/// Sets a store's (or the default) schedule; answers the schedules in force.
pub(super) async fn set_fees(State(b): State<Shared>, body: Bytes) -> Response {
    let req: SetFees = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    if let Err(why) = req.schedule.check() {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            why,
            vec![ValidationError::new("schedule", "range")],
        );
    }
    b.books().fees.set(req.store_reference, req.schedule);
    read_fees(State(b)).await
}
