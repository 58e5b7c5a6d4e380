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
        receipt_printed: v.receipt_printed,
        receipt_error: v.receipt_error,
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
pub(super) fn history(v: domain::SaleView, events: Vec<crate::store::SaleEvent>) -> wire::SaleHistory {
    let history = events
        .into_iter()
        .map(|e| wire::HistoryEntry { seq: e.seq, state: sale_state(e.state), detail: e.detail, at: e.at })
        .collect();
    wire::SaleHistory { sale: sale(v), history }
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
    wire::Reconciliation { date: r.date, matched: r.matched, differences }
}

/// Klarna's availability for an amount.
pub(super) fn klarna(a: crate::checkout::KlarnaAvailability) -> wire::KlarnaAvailability {
    wire::KlarnaAvailability {
        available: a.available,
        status: a.status,
        instruction: a.instruction,
        reason: a.reason,
        descriptors: a.descriptors,
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
