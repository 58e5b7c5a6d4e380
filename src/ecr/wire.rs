//! The daemon's records as the ECR API's wire types (`posagent-ecr-api`): every answer
//! is one of those types, mapped here field by field and enum by exhaustive enum, so a
//! record that changes shape does not change the API unnoticed.

use super::problem::Problem;
use crate::domain::{self, OfflineStatus, OpKind, OpState, ReturnState, ReversalStatus, SaleState};
use axum::http::StatusCode;
use posagent_ecr_api as wire;

/// A sale as the register sees it.
pub(super) fn sale(v: domain::SaleView) -> wire::Sale {
    wire::Sale {
        id: v.id,
        reference: v.reference,
        state: sale_state(v.state),
        method: v.method,
        offered_methods: v.offered_methods,
        klarna_unavailable_reason: v.klarna_unavailable_reason,
        amount: v.amount,
        currency: v.currency,
        interoperability_status: v.interoperability_status,
        payment_request_id: v.payment_request_id,
        payment_request_url: v.payment_request_url,
        payment_request_expires_at: v.payment_request_expires_at,
        payment_transaction_id: v.payment_transaction_id,
        klarna_reference: v.klarna_reference,
        masked_pan: v.masked_pan,
        entry_mode: v.entry_mode,
        cvm: v.cvm,
        aid: v.aid,
        application_label: v.application_label,
        authorization_code: v.authorization_code,
        pin_required: v.pin_required,
        reason: v.reason,
        retryable: v.retryable,
        retry_of: v.retry_of,
        capture: v.capture,
        captured_amount: v.captured_amount,
        voided: v.voided,
        offline: v.offline.map(|o| match o {
            OfflineStatus::Queued => wire::OfflineStatus::Queued,
            OfflineStatus::Forwarded => wire::OfflineStatus::Forwarded,
            OfflineStatus::Declined => wire::OfflineStatus::Declined,
        }),
        queued_capture_amount: v.queued_capture_amount,
        void_queued: v.void_queued,
        sync_error: v.sync_error,
        reversal: v.reversal.map(|r| match r {
            ReversalStatus::Queued => wire::ReversalStatus::Queued,
            ReversalStatus::Reversed => wire::ReversalStatus::Reversed,
            ReversalStatus::NothingFound => wire::ReversalStatus::NothingFound,
            ReversalStatus::Refused => wire::ReversalStatus::Refused,
        }),
        transaction_state: v.transaction_state,
        refunded_amount: v.refunded_amount,
        order_lines: v.order_lines,
        receipt_printed: v.receipt_printed,
        receipt_error: v.receipt_error,
        cashier: v.cashier,
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

/// A sale's state on the wire.
pub(super) fn sale_state(s: SaleState) -> wire::SaleState {
    match s {
        SaleState::Created => wire::SaleState::Created,
        SaleState::AvailabilityChecked => wire::SaleState::AvailabilityChecked,
        SaleState::AwaitingMethod => wire::SaleState::AwaitingMethod,
        SaleState::QrShown => wire::SaleState::QrShown,
        SaleState::CustomerInProgress => wire::SaleState::CustomerInProgress,
        SaleState::CustomerCompleted => wire::SaleState::CustomerCompleted,
        SaleState::AwaitingCard => wire::SaleState::AwaitingCard,
        SaleState::Authorizing => wire::SaleState::Authorizing,
        SaleState::Approved => wire::SaleState::Approved,
        SaleState::Declined => wire::SaleState::Declined,
        SaleState::Canceled => wire::SaleState::Canceled,
        SaleState::Expired => wire::SaleState::Expired,
        SaleState::Unavailable => wire::SaleState::Unavailable,
        SaleState::Failed => wire::SaleState::Failed,
    }
}

/// The sale and every change journaled for it.
pub(super) fn history(
    v: domain::SaleView,
    events: Vec<crate::store::SaleEvent>,
    actions: Vec<domain::StaffAction>,
) -> wire::SaleHistory {
    let history = events
        .into_iter()
        .map(|e| wire::HistoryEntry { seq: e.seq, state: sale_state(e.state), detail: e.detail, at: e.at })
        .collect();
    wire::SaleHistory { sale: sale(v), history, actions: actions.into_iter().map(staff_action).collect() }
}

/// One thing done at the console.
pub(super) fn staff_action(a: domain::StaffAction) -> wire::StaffAction {
    wire::StaffAction {
        at: a.at,
        cashier: a.cashier,
        approved_by: a.approved_by,
        action: a.action,
        subject: a.subject,
        status: a.status,
    }
}

/// A cashier.
pub(super) fn cashier(c: domain::Cashier) -> wire::Cashier {
    wire::Cashier {
        id: c.id,
        name: c.name,
        role: match c.role {
            domain::Role::Cashier => wire::CashierRole::Cashier,
            domain::Role::Supervisor => wire::CashierRole::Supervisor,
        },
        active: c.active,
    }
}

/// A return.
pub(super) fn return_(r: domain::ReturnRecord) -> wire::Return {
    wire::Return {
        id: r.id,
        reference: r.reference,
        original_reference: r.original_reference,
        payment_transaction_id: r.payment_transaction_id,
        klarna_reference: r.klarna_reference,
        method: r.method,
        masked_pan: r.masked_pan,
        amount: r.amount,
        currency: r.currency,
        lines: r.lines,
        state: match r.state {
            ReturnState::Pending => wire::ReturnState::Pending,
            ReturnState::Refunded => wire::ReturnState::Refunded,
            ReturnState::Refused => wire::ReturnState::Refused,
        },
        reason: r.reason,
        idempotency_key: r.idempotency_key,
        payment_refund_id: r.payment_refund_id,
        receipt_printed: r.receipt_printed,
        receipt_error: r.receipt_error,
        locale: r.locale,
        cashier: r.cashier,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// A queued operation (never its request body); a subject the journal should not hold
/// is a damaged row.
pub(super) fn queued(op: domain::QueuedOp) -> Result<wire::QueuedOperation, Problem> {
    let subject = match domain::Subject::parse(&op.subject) {
        Some(domain::Subject::Sale) => wire::Subject::Sale,
        Some(domain::Subject::Return) => wire::Subject::Return,
        None => {
            let why = format!("queued operation {} names the subject `{}`, not SALE or RETURN", op.id, op.subject);
            return Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, wire::ErrorCode::JournalRowDamaged, why));
        }
    };
    Ok(wire::QueuedOperation {
        id: op.id,
        group: op.group,
        subject,
        subject_id: op.subject_id,
        kind: match op.kind {
            OpKind::Authorize => wire::OpKind::Authorize,
            OpKind::Capture => wire::OpKind::Capture,
            OpKind::Refund => wire::OpKind::Refund,
            OpKind::Void => wire::OpKind::Void,
            OpKind::Reverse => wire::OpKind::Reverse,
        },
        state: match op.state {
            OpState::Pending => wire::OpState::Pending,
            OpState::Done => wire::OpState::Done,
            OpState::Dead => wire::OpState::Dead,
        },
        idempotency_key: op.idempotency_key,
        payment_transaction_id: op.payment_transaction_id,
        amount: op.amount,
        currency: op.currency,
        attempts: op.attempts,
        last_error: op.last_error,
        created_ms: op.created_ms,
        next_attempt_ms: op.next_attempt_ms,
        updated_ms: op.updated_ms,
    })
}

/// The queue's counts.
pub(super) fn queue_summary(q: domain::QueueSummary) -> wire::QueueSummary {
    wire::QueueSummary { pending: q.pending, dead: q.dead, done: q.done, oldest_pending_ms: q.oldest_pending_ms }
}

/// An X or Z report.
pub(super) fn day_report(r: crate::reports::DayReport) -> wire::DayReport {
    let totals = r
        .totals
        .into_iter()
        .map(|t| wire::TenderTotal {
            method: t.method,
            currency: t.currency,
            sales_count: t.sales_count,
            sales_amount: t.sales_amount,
            refunds_count: t.refunds_count,
            refunds_amount: t.refunds_amount,
            net_amount: t.net_amount,
        })
        .collect();
    wire::DayReport {
        kind: if r.kind == "Z" { wire::ReportKind::Z } else { wire::ReportKind::X },
        number: r.number,
        from: r.from,
        to: r.to,
        totals,
        declined: r.declined,
        canceled: r.canceled,
        open: r.open,
        offline_pending: r.offline_pending,
        printed: r.printed,
        print_error: r.print_error,
        settlement: r.settlement.into_iter().map(settlement_totals).collect(),
        settlement_error: r.settlement_error,
        cashier: r.cashier,
    }
}

/// The acquirer's totals of one currency.
fn settlement_totals(t: posagent_acquirer_api::settlement::SettlementTotal) -> wire::SettlementTotals {
    wire::SettlementTotals {
        currency: t.currency,
        sales: t.sales,
        returns: t.returns,
        net: t.net,
        fees: t.fees,
        fee_vat: t.fee_vat,
        chargebacks: t.chargebacks,
        payout: t.payout,
    }
}

/// The day's reconciliation.
pub(super) fn reconciliation(r: crate::reports::Reconciliation) -> wire::Reconciliation {
    use crate::reports::DifferenceKind;
    let differences = r
        .differences
        .into_iter()
        .map(|d| wire::Difference {
            kind: match d.kind {
                DifferenceKind::MissingAtAcquirer => wire::DifferenceKind::MissingAtAcquirer,
                DifferenceKind::MissingLocally => wire::DifferenceKind::MissingLocally,
            },
            entry_type: if d.entry_type == "RETURN" { wire::EntryType::Return } else { wire::EntryType::Sale },
            reference: d.reference,
            payment_transaction_id: d.payment_transaction_id,
            amount: d.amount,
            currency: d.currency,
        })
        .collect();
    let settlement = r.settlement.into_iter().map(settlement_totals).collect();
    wire::Reconciliation { date: r.date, matched: r.matched, differences, settlement }
}

/// Klarna's availability for an amount.
pub(super) fn klarna(a: crate::checkout::KlarnaAvailability) -> wire::KlarnaAvailability {
    wire::KlarnaAvailability {
        available: a.available,
        status: a.status,
        instruction: a.instruction,
        reason: a.reason,
        payment_option: a.payment_option,
        checked_at: a.checked_at,
        age_secs: a.age_secs,
        source: match a.source {
            crate::checkout::Source::Live => wire::Source::Live,
            crate::checkout::Source::Cache => wire::Source::Cache,
        },
    }
}

/// A device's health.
pub(super) fn device(d: crate::devices::DeviceHealth) -> wire::DeviceStatus {
    wire::DeviceStatus {
        device: d.device.to_string(),
        endpoint: d.endpoint,
        connected: d.connected,
        last_error: d.last_error,
        firmware: d.firmware,
        firmware_validated: d.firmware_validated,
        fault: d.fault,
        conditions: d.conditions.into_iter().map(str::to_string).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The wire type writes exactly what the daemon's record wrote before it.
    fn same_json(record: &impl serde::Serialize, wire: &impl serde::Serialize) {
        assert_eq!(serde_json::to_value(wire).unwrap(), serde_json::to_value(record).unwrap());
    }

    fn a_sale(fields: Value) -> domain::SaleView {
        let mut sale = json!({
            "id": "s1", "reference": "R-1", "state": "APPROVED", "method": "CARD", "offered_methods": ["KLARNA", "CARD"],
            "klarna_unavailable_reason": "none offered", "amount": 5000, "currency": "SEK",
            "interoperability_status": "PAYMENT_PREPARED", "payment_request_id": "pr", "payment_request_url": "https://q",
            "payment_request_expires_at": "2026-12-02T10:00:00Z", "payment_transaction_id": "tx",
            "klarna_reference": "kr", "masked_pan": "411111******1111", "entry_mode": "CHIP", "cvm": "OFFLINE_PIN",
            "aid": "A0000000031010", "application_label": "VISA", "authorization_code": "123456", "pin_required": true,
            "reason": "R", "retryable": false, "retry_of": "R-0", "capture": "LATER", "captured_amount": 100,
            "voided": true, "offline": "FORWARDED", "queued_capture_amount": 5, "void_queued": true,
            "sync_error": "e", "reversal": "NOTHING_FOUND", "transaction_state": "COMPLETED", "refunded_amount": 7,
            "receipt_printed": true, "receipt_error": "paper", "created_at": "2026-12-02T09:00:00.123456Z",
            "updated_at": "2026-12-02T09:01:00Z", "cashier": "7",
        });
        sale["order_lines"] = json!([{"name": "Kaffe", "quantity": 2, "unit_price": 3500, "total_amount": 7000}]);
        if let (Some(s), Some(f)) = (sale.as_object_mut(), fields.as_object()) {
            s.extend(f.clone());
        }
        serde_json::from_value(sale).unwrap()
    }

    #[test]
    fn a_sale_reads_on_the_wire_as_the_record_wrote_it() {
        for fields in [json!({}), json!({"method": null, "offline": null, "reversal": null, "transaction_state": null})]
        {
            let view = a_sale(fields);
            same_json(&view, &sale(view.clone()));
        }
        for state in SaleState::ALL {
            assert_eq!(serde_json::to_value(sale_state(state)).unwrap(), state.as_str());
        }
    }

    #[test]
    fn returns_queued_operations_and_reports_read_as_their_records() {
        let r: domain::ReturnRecord = serde_json::from_value(json!({
            "id": "r1", "reference": "RET-1", "original_reference": "R-1", "payment_transaction_id": "tx",
            "klarna_reference": "kr", "method": "KLARNA", "masked_pan": null, "amount": 100, "currency": "SEK",
            "lines": [], "state": "PENDING", "reason": null, "idempotency_key": "k", "payment_refund_id": null,
            "receipt_printed": false, "receipt_error": null, "locale": "sv-SE",
            "created_at": "2026-12-02T09:00:00Z", "updated_at": "2026-12-02T09:00:00Z",
        }))
        .unwrap();
        same_json(&r, &return_(r.clone()));
        let op: domain::QueuedOp = serde_json::from_value(json!({
            "id": 3, "group": "tx", "subject": "RETURN", "subject_id": "r1", "kind": "REFUND", "state": "DEAD",
            "idempotency_key": "k", "payment_transaction_id": null, "amount": 100, "currency": "SEK",
            "attempts": 2, "last_error": "refused", "created_ms": 1, "next_attempt_ms": 2, "updated_ms": 3,
        }))
        .unwrap();
        same_json(&op, &queued(op.clone()).unwrap());
        let odd = domain::QueuedOp { subject: "PARCEL".into(), ..op };
        assert_eq!(queued(odd).err().map(|p| p.code), Some(wire::ErrorCode::JournalRowDamaged));
        let summary = domain::QueueSummary { pending: 1, dead: 2, done: 3, oldest_pending_ms: Some(4) };
        same_json(&summary, &queue_summary(summary.clone()));
    }

    #[test]
    fn the_wire_sale_request_is_the_one_checkout_reads() {
        let request = wire::NewSale {
            amount: 100,
            currency: "SEK".into(),
            method: Some("CHOICE".into()),
            reference: Some("R-9".into()),
            order_lines: vec![],
            interoperability_token: Some("t".into()),
            interoperability_data: Some("{}".into()),
            locale: Some("sv-SE".into()),
            capture: Some(posagent_acquirer_api::CaptureMode::Later),
        };
        let parsed: crate::checkout::NewSale = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!((parsed.amount, parsed.method, parsed.locale), (100, request.method, request.locale));
    }
}
