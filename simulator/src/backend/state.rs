//! The simulated acquirer's books: payment requests, transactions and the ledger, with
//! Klarna Network's state rules. Pure logic under one lock; HTTP lives in `routes.rs`.

use super::descriptors;
use super::idempotency::IdempotencyStore;
use super::markets;
use super::presentation::ReceivedKlarnaData;
use chrono::{DateTime, Duration, Utc};
use posagent_acquirer_api::events::{EventMetadata, TerminalEvent};
use posagent_acquirer_api::payments::{CustomerInteraction, QrCode, StateContext};
use posagent_acquirer_api::{
    AuthorizeRequest, AuthorizeResponse, AvailabilityQuery, AvailabilityResponse, Capture, CaptureMode,
    InteroperabilityStatus, MAX_AMOUNT, MAX_INTEROPERABILITY_LEN, PaymentMethod, PaymentOption, PaymentRequest,
    PaymentRequestState, PaymentTransaction, PresentationInstruction, TransactionState, ValidationError,
};
use serde::Serialize;
use std::collections::HashMap;

/// Klarna's `PaymentRequestStateReason`: the partner canceled.
pub const PARTNER_CANCELED: &str = "PARTNER_CANCELED";
/// Klarna's reason: the customer dropped out of the purchase journey.
pub const PURCHASE_FLOW_ABORTED: &str = "PURCHASE_FLOW_ABORTED";
/// Klarna's reason of a new (or again waiting) request.
pub const PAYMENT_REQUEST_SUBMITTED: &str = "PAYMENT_REQUEST_SUBMITTED";
/// Klarna's reason of a request the customer must act on before Klarna approves (the
/// simulator's decline).
pub const CUSTOMER_ACTION_REQUIRED: &str = "CUSTOMER_ACTION_REQUIRED";

/// How long a session token may be used for the final authorization.
pub const SESSION_TOKEN_TTL_MINUTES: i64 = 60;

/// A refusal, mapped to the error envelope by the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400 VALIDATION_ERROR.
    Invalid(Vec<ValidationError>),
    /// 404 RESOURCE_NOT_FOUND.
    NotFound(String),
    /// 403 OPERATION_FORBIDDEN: the resource's state forbids this.
    Forbidden(String),
}

pub(super) fn invalid(parameter: &str, reason: impl Into<String>) -> Refusal {
    Refusal::Invalid(vec![ValidationError::new(parameter, reason)])
}

/// One money movement, kept so tests can prove nothing was charged twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Order of booking.
    pub seq: u64,
    /// `AUTHORIZATION`, `CAPTURE`, `REFUND` or `VOID`.
    pub kind: String,
    /// Transaction KRN.
    pub payment_transaction_id: String,
    /// The terminal's reference.
    pub reference: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Idempotency key of the request that booked it.
    pub idempotency_key: String,
    /// When.
    pub at: DateTime<Utc>,
}

struct RequestRecord {
    request: PaymentRequest,
    token_issued_at: Option<DateTime<Utc>>,
    token_used: bool,
}

/// Everything the simulated acquirer knows.
pub struct Books {
    /// Base of the customer-facing URLs put in QR codes.
    pub public_base_url: String,
    /// Lifetime of new payment requests.
    pub request_ttl: Duration,
    requests: HashMap<String, RequestRecord>,
    by_reference: HashMap<String, String>,
    pub(super) transactions: HashMap<String, PaymentTransaction>,
    ledger: Vec<LedgerEntry>,
    /// Idempotency keys of the last 24 h.
    pub idempotency: IdempotencyStore,
    seq: u64,
    pub(super) events: Vec<TerminalEvent>,
    pub(super) received_klarna_data: Vec<ReceivedKlarnaData>,
    /// References reversed: no authorization is accepted under them any more.
    pub(super) reversed: std::collections::HashSet<String>,
    /// Card reads seen (KSN → the idempotency key that brought it): a read replayed
    /// under another key is refused.
    pub(super) card_reads: HashMap<String, String>,
    /// Klarna wording served for every locale and amount instead of the market table
    /// (`POST /sim/wording`: a test acquirer serving strings of its own).
    pub(super) wording: Option<PaymentOption>,
    /// The stores' fee schedules (`/sim/fees`), charged in the settlement report.
    pub(super) fees: super::fees::Fees,
}

impl Books {
    /// Empty books; `request_ttl` is clamped to Klarna's 15 min … 48 h.
    pub fn new(public_base_url: String, request_ttl: Duration) -> Self {
        Books {
            public_base_url,
            request_ttl: request_ttl.clamp(Duration::minutes(15), Duration::hours(48)),
            requests: HashMap::new(),
            by_reference: HashMap::new(),
            transactions: HashMap::new(),
            ledger: Vec::new(),
            idempotency: IdempotencyStore::default(),
            seq: 0,
            events: Vec::new(),
            received_klarna_data: Vec::new(),
            reversed: std::collections::HashSet::new(),
            card_reads: HashMap::new(),
            wording: None,
            fees: super::fees::Fees::default(),
        }
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Availability of Klarna for a purchase, with the wording to show.
    pub fn availability(&self, q: &AvailabilityQuery) -> Result<AvailabilityResponse, Refusal> {
        if q.amount < 1 || q.amount > MAX_AMOUNT {
            return Err(invalid("amount", format!("must be 1 to {MAX_AMOUNT}")));
        }
        if q.interoperability_token.as_ref().is_some_and(|t| t.len() > MAX_INTEROPERABILITY_LEN) {
            return Err(invalid("interoperability_token", "must be at most 8192 characters"));
        }
        Ok(match markets::check(&q.country, q.currency.code(), q.amount) {
            Ok(_) => {
                let status = q
                    .interoperability_token
                    .as_deref()
                    .and_then(super::interop::token_status)
                    .unwrap_or(InteroperabilityStatus::PaymentSupported);
                // Klarna's instruction follows the interoperability status.
                let instruction = match status {
                    InteroperabilityStatus::PaymentUnsupported => PresentationInstruction::HideKlarna,
                    InteroperabilityStatus::PaymentSupported => PresentationInstruction::ShowKlarna,
                    _ => PresentationInstruction::PreselectKlarna,
                };
                AvailabilityResponse {
                    status,
                    status_reason: None,
                    instruction: Some(instruction),
                    payment_option: Some(self.wording.clone().unwrap_or_else(|| {
                        descriptors::for_locale(&self.public_base_url, &q.locale, q.currency.code(), q.amount)
                    })),
                }
            }
            Err(why) => AvailabilityResponse {
                status: InteroperabilityStatus::PaymentUnsupported,
                status_reason: Some(why.code().to_string()),
                instruction: Some(PresentationInstruction::HideKlarna),
                payment_option: None,
            },
        })
    }

    /// Expires what is due by `now`, with its events; whether anything changed.
    fn expire(&mut self, now: DateTime<Utc>) -> bool {
        let mut expired = vec![];
        for rec in self.requests.values_mut() {
            let r = &mut rec.request;
            if matches!(r.state, PaymentRequestState::Submitted | PaymentRequestState::InProgress)
                && now >= r.expires_at
            {
                r.previous_state = Some(r.state);
                r.state = PaymentRequestState::Expired;
                // Klarna gives an expired request no reason.
                r.state_reason = None;
                r.updated_at = now;
                expired.push(r.clone());
            }
        }
        let any = !expired.is_empty();
        for r in expired {
            self.emit_request(&r, now);
        }
        self.age_transactions(now) || any
    }

    /// Ages the books to `now` (a clock moved on, or the next deadline came): requests
    /// and transactions expire, each with its event. Whether anything changed.
    pub fn age_to(&mut self, now: DateTime<Utc>) -> bool {
        self.expire(now)
    }

    /// When the next payment request or transaction changes state by itself, on the
    /// acquirer's clock (`None`: nothing is waiting to expire).
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let requests = self
            .requests
            .values()
            .filter(|r| matches!(r.request.state, PaymentRequestState::Submitted | PaymentRequestState::InProgress))
            .map(|r| r.request.expires_at)
            .min();
        requests.into_iter().chain(self.next_transaction_deadline()).min()
    }

    /// Records a payment request state change on the event stream.
    fn emit_request(&mut self, r: &PaymentRequest, now: DateTime<Utc>) {
        let state = serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let event_type = format!("payment.request.state-change.{}", state.to_ascii_lowercase().replace('_', "-"));
        self.emit(event_type, serde_json::to_value(r).unwrap_or_default(), now);
    }

    /// Appends an event to the stream.
    pub(super) fn emit(&mut self, event_type: String, payload: serde_json::Value, now: DateTime<Utc>) {
        let seq = self.events.len() as u64 + 1;
        self.events.push(TerminalEvent {
            metadata: EventMetadata {
                event_id: format!("{:08x}-0000-4000-8000-{:012x}", seq, seq.wrapping_mul(2_654_435_761)),
                event_type,
                event_version: "v2".into(),
                occurred_at: now,
                seq,
            },
            payload,
        });
    }

    /// `POST /v1/payments/authorize`.
    pub fn authorize(
        &mut self,
        req: &AuthorizeRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<AuthorizeResponse, Refusal> {
        self.expire(now);
        if req.amount < 1 || req.amount > MAX_AMOUNT {
            return Err(invalid("amount", format!("must be 1 to {MAX_AMOUNT}")));
        }
        let reference = &req.payment_transaction_reference;
        if reference.is_empty() || reference.len() > 255 {
            return Err(invalid("payment_transaction_reference", "must be 1 to 255 characters"));
        }
        if req.point_of_checkout.kind != "PHYSICAL_STORE" {
            return Err(invalid("point_of_checkout.type", "must be PHYSICAL_STORE"));
        }
        if req.point_of_transaction.kind != "TERMINAL" || req.point_of_transaction.terminal_reference.is_empty() {
            return Err(invalid("point_of_transaction", "must be TERMINAL with a terminal_reference"));
        }
        posagent_acquirer_api::lines::validate_lines("line_items", &req.line_items, req.amount)
            .map_err(|e| invalid(&e.field, e.reason))?;
        if self.reversed.contains(reference) {
            return Ok(AuthorizeResponse::declined(posagent_acquirer_api::REVERSED_REASON));
        }
        let klarna = req.klarna.clone().unwrap_or_default();
        for (name, v) in [
            ("klarna.interoperability_token", &klarna.interoperability_token),
            ("klarna.klarna_network_data", &klarna.klarna_network_data),
        ] {
            if v.as_ref().is_some_and(|t| t.len() > MAX_INTEROPERABILITY_LEN) {
                return Err(invalid(name, "must be at most 8192 characters"));
            }
        }
        self.check_presentation(req, &klarna)?;
        if req.method == PaymentMethod::Card {
            return self.authorize_card(req, key, now);
        }
        if markets::check(&req.country, req.currency.code(), req.amount).is_err() {
            return Ok(AuthorizeResponse::declined("PAYMENT_METHOD_NOT_AVAILABLE"));
        }
        if klarna.interoperability_token.is_some()
            || klarna.klarna_network_data.is_some()
            || klarna.payment_option_id.is_some()
        {
            self.received_klarna_data.push(ReceivedKlarnaData {
                operation: "AUTHORIZE",
                reference: req.payment_transaction_reference.clone(),
                interoperability_token: klarna.interoperability_token.clone(),
                interoperability_data: klarna.klarna_network_data.clone(),
                payment_option_id: klarna.payment_option_id.clone(),
                purchase_reference: req.purchase_reference.clone(),
            });
        }
        let confirmed = klarna.interoperability_token.as_deref().and_then(super::interop::token_status)
            == Some(InteroperabilityStatus::PaymentPendingConfirmation);
        match klarna.klarna_network_session_token {
            // The customer already confirmed in a Klarna journey: no QR, authorize now.
            None if confirmed => {
                let tx = self.create_transaction(req, key, now);
                Ok(AuthorizeResponse::approved(tx))
            }
            None => Ok(self.step_up(req, now)),
            Some(token) => self.finalize(req, &token, key, now),
        }
    }

    fn step_up(&mut self, req: &AuthorizeRequest, now: DateTime<Utc>) -> AuthorizeResponse {
        // A reference already stepped up and still open is answered with its payment request.
        if let Some(rec) =
            self.by_reference.get(&req.payment_transaction_reference).and_then(|id| self.requests.get(id))
        {
            if !rec.request.state.is_final() {
                return AuthorizeResponse::step_up(rec.request.clone());
            }
        }
        let n = self.next_id();
        let id = format!("krn:payment:eu1:request:{:08x}-0000-4000-8000-{:012x}", n, n * 7919);
        let url = format!("{}/pay/{}", self.public_base_url, id);
        let request = PaymentRequest {
            payment_request_id: id.clone(),
            payment_request_reference: req.payment_transaction_reference.clone(),
            state: PaymentRequestState::Submitted,
            previous_state: None,
            state_reason: Some(PAYMENT_REQUEST_SUBMITTED.into()),
            amount: req.amount,
            currency: req.currency,
            state_context: StateContext {
                customer_interaction: CustomerInteraction {
                    payment_request_url: url.clone(),
                    qr_code: QrCode {
                        target_url: url,
                        image_url: Some(format!("{}{}", self.public_base_url, super::assets::qr_image_path(&id))),
                    },
                },
                klarna_network_session_token: None,
            },
            // The lifetime the terminal asked for (Klarna's interaction_expiry), else the default.
            expires_at: now
                + req
                    .interaction_expiry
                    .as_ref()
                    .and_then(|e| e.seconds())
                    .and_then(|s| Duration::try_seconds(s as i64))
                    .unwrap_or(self.request_ttl),
            created_at: now,
            updated_at: now,
        };
        self.by_reference.insert(req.payment_transaction_reference.clone(), id.clone());
        self.requests.insert(id, RequestRecord { request: request.clone(), token_issued_at: None, token_used: false });
        self.emit_request(&request, now);
        AuthorizeResponse::step_up(request)
    }

    fn finalize(
        &mut self,
        req: &AuthorizeRequest,
        token: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<AuthorizeResponse, Refusal> {
        let Some(rec) = self
            .requests
            .values_mut()
            .find(|r| r.request.state_context.klarna_network_session_token.as_deref() == Some(token))
        else {
            return Err(invalid("klarna.klarna_network_session_token", "unknown session token"));
        };
        let pr = &rec.request;
        if pr.state != PaymentRequestState::Completed {
            return Err(Refusal::Forbidden(format!("payment request is {:?}, not COMPLETED", pr.state)));
        }
        if rec.token_used {
            return Err(Refusal::Forbidden("session token already used".into()));
        }
        if rec.token_issued_at.is_some_and(|t| now - t > Duration::minutes(SESSION_TOKEN_TTL_MINUTES)) {
            return Err(Refusal::Forbidden(
                "session token expired: the final authorization must follow within 60 minutes".into(),
            ));
        }
        if pr.amount != req.amount
            || pr.currency != req.currency
            || pr.payment_request_reference != req.payment_transaction_reference
        {
            return Err(invalid("amount", "amount, currency and reference must match the payment request"));
        }
        rec.token_used = true;
        let tx = self.create_transaction(req, key, now);
        Ok(AuthorizeResponse::approved(tx))
    }

    /// Books a new transaction for `req` (authorization, and capture when `NOW`).
    pub(super) fn create_transaction(
        &mut self,
        req: &AuthorizeRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> PaymentTransaction {
        let n = self.next_id();
        let tx_id = format!("krn:payment:eu1:transaction:{:08x}-0000-4000-8000-{:012x}", n, n * 104_729);
        let mut tx = PaymentTransaction {
            payment_transaction_id: tx_id.clone(),
            payment_transaction_reference: req.payment_transaction_reference.clone(),
            klarna_reference: format!("K{:07}", 4_100_000 + n),
            method: req.method,
            authorization_code: (req.method == PaymentMethod::Card).then(|| format!("{:06}", (n * 7_919) % 1_000_000)),
            state: TransactionState::Authorized,
            amount: req.amount,
            captured_amount: 0,
            refunded_amount: 0,
            currency: req.currency,
            payment_captures: vec![],
            payment_refunds: vec![],
            line_items: req.line_items.clone(),
            created_at: now,
            expires_at: now + Duration::days(super::transactions::AUTHORIZATION_DAYS),
        };
        self.fees.remember_store(&tx_id, &req.point_of_checkout.store_reference);
        self.book("AUTHORIZATION", &tx, req.amount, key, now);
        if req.capture == CaptureMode::Now {
            tx.payment_captures.push(Capture {
                payment_capture_id: format!("{tx_id}:capture:1"),
                payment_capture_reference: Some(req.payment_transaction_reference.clone()),
                amount: req.amount,
                line_items: req.line_items.clone(),
                created_at: now,
            });
            tx.captured_amount = req.amount;
            tx.state = TransactionState::Completed;
            self.book("CAPTURE", &tx, req.amount, key, now);
        }
        self.transactions.insert(tx_id, tx.clone());
        tx
    }

    pub(super) fn book(&mut self, kind: &str, tx: &PaymentTransaction, amount: i64, key: &str, now: DateTime<Utc>) {
        let seq = self.ledger.len() as u64 + 1;
        self.ledger.push(LedgerEntry {
            seq,
            kind: kind.to_string(),
            payment_transaction_id: tx.payment_transaction_id.clone(),
            reference: tx.payment_transaction_reference.clone(),
            amount,
            currency: tx.currency.code().to_string(),
            idempotency_key: key.to_string(),
            at: now,
        });
        let event_type = match kind {
            "AUTHORIZATION" => "payment.transaction.state-change.authorized",
            "CAPTURE" => "payment.transaction.captured",
            "REFUND" => "payment.transaction.refunded",
            _ => "payment.transaction.voided",
        };
        self.emit(event_type.to_string(), serde_json::to_value(tx).unwrap_or_default(), now);
    }

    /// A payment request by id.
    pub fn payment_request(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        self.expire(now);
        self.requests
            .get(id)
            .map(|r| r.request.clone())
            .ok_or_else(|| Refusal::NotFound(format!("payment request {id}")))
    }

    /// The latest payment request of a terminal reference (crash recovery).
    pub fn payment_request_by_reference(
        &mut self,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentRequest, Refusal> {
        let id = self
            .by_reference
            .get(reference)
            .cloned()
            .ok_or_else(|| Refusal::NotFound(format!("reference {reference}")))?;
        self.payment_request(&id, now)
    }

    /// The transaction of a terminal reference, if one was authorized.
    pub fn transaction_by_reference(&self, reference: &str) -> Option<PaymentTransaction> {
        self.transactions.values().find(|t| t.payment_transaction_reference == reference).cloned()
    }

    fn transition(
        &mut self,
        id: &str,
        to: PaymentRequestState,
        reason: Option<&str>,
        allowed: &[PaymentRequestState],
        now: DateTime<Utc>,
    ) -> Result<PaymentRequest, Refusal> {
        self.expire(now);
        let rec = self.requests.get_mut(id).ok_or_else(|| Refusal::NotFound(format!("payment request {id}")))?;
        let r = &mut rec.request;
        if r.state == to {
            return Ok(r.clone());
        }
        if !allowed.contains(&r.state) || rec.token_used {
            return Err(Refusal::Forbidden(format!("payment request is {:?}; cannot become {:?}", r.state, to)));
        }
        r.previous_state = Some(r.state);
        r.state = to;
        r.state_reason = reason.map(str::to_string);
        r.updated_at = now;
        if to == PaymentRequestState::Completed {
            let n = self.seq + 1;
            self.seq = n;
            r.state_context.klarna_network_session_token = Some(format!("krn:network:eu1:test:session-token:{n:016x}"));
            rec.token_issued_at = Some(now);
        }
        let changed = rec.request.clone();
        self.emit_request(&changed, now);
        Ok(changed)
    }

    /// The partner cancels (SUBMITTED, IN_PROGRESS, or COMPLETED before the final authorization).
    pub fn cancel(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        use PaymentRequestState as S;
        self.transition(id, S::Canceled, Some(PARTNER_CANCELED), &[S::Submitted, S::InProgress, S::Completed], now)
    }

    /// The customer scanned the QR code and opened the purchase journey (IN_PROGRESS
    /// carries no reason).
    pub fn customer_opens(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        use PaymentRequestState as S;
        self.transition(id, S::InProgress, None, &[S::Submitted], now)
    }

    /// The customer approved the purchase in Klarna's journey (COMPLETED carries no reason).
    pub fn customer_approves(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        use PaymentRequestState as S;
        self.transition(id, S::Completed, None, &[S::Submitted, S::InProgress], now)
    }

    /// The customer left Klarna's journey without finishing; the code stays valid (the
    /// request is SUBMITTED again, waiting for the customer).
    pub fn customer_abandons(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        use PaymentRequestState as S;
        self.transition(id, S::Submitted, Some(PAYMENT_REQUEST_SUBMITTED), &[S::InProgress], now)
    }

    /// The customer aborted Klarna's journey on the phone: CANCELED, PURCHASE_FLOW_ABORTED.
    pub fn customer_aborts(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        use PaymentRequestState as S;
        self.transition(id, S::Canceled, Some(PURCHASE_FLOW_ABORTED), &[S::Submitted, S::InProgress], now)
    }

    /// Klarna does not approve the purchase: DECLINED with CUSTOMER_ACTION_REQUIRED (the
    /// customer has to act in the Klarna app — another option, a verification — before
    /// Klarna would approve; Klarna's enums have no "customer declined").
    pub fn customer_declines(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentRequest, Refusal> {
        use PaymentRequestState as S;
        self.transition(id, S::Declined, Some(CUSTOMER_ACTION_REQUIRED), &[S::Submitted, S::InProgress], now)
    }

    /// Every booking so far.
    pub fn ledger(&self) -> &[LedgerEntry] {
        &self.ledger
    }
}
