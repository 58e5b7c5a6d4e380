//! Time-dependent rules of the books, with the clock passed in.

use super::state::{Books, Refusal};
use chrono::{Duration, Utc};
use posagent_acquirer_api::payments::{PointOfCheckout, PointOfTransaction};
use posagent_acquirer_api::{
    AuthorizeRequest, AuthorizeResult, CaptureMode, Currency, KlarnaData, PaymentMethod, PaymentRequestState,
};

/// A Klarna authorization of 20,00 EUR (also the HTTP tests' one).
pub(super) fn request(token: Option<String>) -> AuthorizeRequest {
    AuthorizeRequest {
        method: PaymentMethod::Klarna,
        currency: Currency::EUR,
        amount: 2_000,
        payment_transaction_reference: "T-1".into(),
        country: "DE".into(),
        locale: "de-DE".into(),
        point_of_checkout: PointOfCheckout { kind: "PHYSICAL_STORE".into(), store_reference: "s".into() },
        point_of_transaction: PointOfTransaction { kind: "TERMINAL".into(), terminal_reference: "t".into() },
        capture: CaptureMode::Now,
        line_items: vec![],
        purchase_reference: None,
        interaction_expiry: None,
        klarna: Some(KlarnaData { klarna_network_session_token: token, ..KlarnaData::default() }),
        card: None,
        offline_approved_at: None,
    }
}

fn books() -> Books {
    Books::new("http://sim".into(), Duration::minutes(15))
}

fn step_up(b: &mut Books, now: chrono::DateTime<Utc>) -> String {
    let r = b.authorize(&request(None), "k1", now).map_err(|e| format!("{e:?}"));
    let r = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.result, AuthorizeResult::StepUpRequired);
    r.payment_request.map(|p| p.payment_request_id).unwrap_or_default()
}

#[test]
fn payment_requests_expire_after_their_lifetime() {
    let mut b = books();
    let t0 = Utc::now();
    let id = step_up(&mut b, t0);
    assert_eq!(b.payment_request(&id, t0 + Duration::minutes(14)).map(|p| p.state), Ok(PaymentRequestState::Submitted));
    assert_eq!(b.payment_request(&id, t0 + Duration::minutes(15)).map(|p| p.state), Ok(PaymentRequestState::Expired));
    assert!(matches!(b.customer_approves(&id, t0 + Duration::minutes(16)), Err(Refusal::Forbidden(_))));
    assert!(matches!(b.cancel(&id, t0 + Duration::minutes(16)), Err(Refusal::Forbidden(_))));
}

#[test]
fn lifetime_is_clamped_to_klarnas_range() {
    assert_eq!(Books::new("x".into(), Duration::minutes(1)).request_ttl, Duration::minutes(15));
    assert_eq!(Books::new("x".into(), Duration::hours(100)).request_ttl, Duration::hours(48));
}

#[test]
fn the_final_authorization_must_follow_within_60_minutes() {
    for (minutes, ok) in [(59, true), (61, false)] {
        let mut b = books();
        let t0 = Utc::now();
        let id = step_up(&mut b, t0);
        let token = b.customer_approves(&id, t0).ok().and_then(|p| p.state_context.klarna_network_session_token);
        let r = b.authorize(&request(token), "k2", t0 + Duration::minutes(minutes));
        assert_eq!(r.is_ok(), ok, "{minutes} min: {r:?}");
    }
}

#[test]
fn cancel_is_allowed_until_the_final_authorization() {
    let mut b = books();
    let t0 = Utc::now();
    let id = step_up(&mut b, t0);
    b.customer_opens(&id, t0).ok();
    let token = b.customer_approves(&id, t0).ok().and_then(|p| p.state_context.klarna_network_session_token);
    // COMPLETED but not yet authorized: cancel wins; the token is then useless.
    assert_eq!(b.cancel(&id, t0).map(|p| p.state), Ok(PaymentRequestState::Canceled));
    assert!(b.authorize(&request(token), "k2", t0).is_err());
    assert!(b.ledger().is_empty());
}

#[test]
fn declined_requests_cannot_be_completed_or_canceled() {
    let mut b = books();
    let t0 = Utc::now();
    let id = step_up(&mut b, t0);
    assert_eq!(b.customer_declines(&id, t0).map(|p| p.state), Ok(PaymentRequestState::Declined));
    assert!(b.customer_approves(&id, t0).is_err());
    assert!(b.cancel(&id, t0).is_err());
}

#[test]
fn authorizations_expire_and_close() {
    use posagent_acquirer_api::{CaptureRequest, TransactionState};
    let mut b = books();
    let t0 = Utc::now();
    let id = step_up(&mut b, t0);
    let token = b.customer_approves(&id, t0).ok().and_then(|p| p.state_context.klarna_network_session_token);
    let mut later = request(token);
    later.capture = CaptureMode::Later;
    let tx = b.authorize(&later, "k2", t0).ok().and_then(|r| r.payment_transaction).map(|t| t.payment_transaction_id);
    let tx = tx.unwrap_or_default();
    let day = |d: i64| t0 + Duration::days(d);
    assert_eq!(b.transaction(&tx, day(27)).map(|t| t.state), Ok(TransactionState::Authorized));
    assert_eq!(b.transaction(&tx, day(28)).map(|t| t.state), Ok(TransactionState::Expired));
    let cap =
        CaptureRequest { amount: 1, payment_capture_reference: None, klarna_network_data: None, line_items: vec![] };
    assert!(matches!(b.capture(&tx, &cap, "c", day(29)), Err(Refusal::Forbidden(_))));
    assert_eq!(b.transaction(&tx, day(35)).map(|t| t.state), Ok(TransactionState::Closed));
}

fn approved(b: &mut Books, reference: &str, capture: CaptureMode, now: chrono::DateTime<Utc>) -> String {
    let id = step_up(b, now);
    let token = b.customer_approves(&id, now).ok().and_then(|p| p.state_context.klarna_network_session_token);
    let mut req = request(token);
    req.payment_transaction_reference = reference.into();
    req.capture = capture;
    let tx = b.authorize(&req, "k2", now).ok().and_then(|r| r.payment_transaction);
    tx.map(|t| t.payment_transaction_id).unwrap_or_default()
}

#[test]
fn a_reversal_voids_an_open_authorization_and_refunds_a_captured_one() {
    use posagent_acquirer_api::{ReversalRequest, ReversalResult, TransactionState};
    let t0 = Utc::now();
    for (capture, state, refunded, booked) in [
        (CaptureMode::Later, TransactionState::Closed, 0, "VOID"),
        (CaptureMode::Now, TransactionState::Completed, 2_000, "REFUND"),
    ] {
        let mut b = books();
        let tx = approved(&mut b, "T-1", capture, t0);
        assert!(!tx.is_empty());
        let r = b.reverse(&ReversalRequest { payment_transaction_reference: "T-1".into() }, "rev", t0);
        let r = r.map_err(|e| format!("{e:?}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.result, ReversalResult::Reversed);
        let t = r.payment_transaction.unwrap_or_else(|| panic!("the transaction"));
        assert_eq!((t.state, t.refunded_amount), (state, refunded));
        let kinds: Vec<_> = b.ledger().iter().map(|e| e.kind.clone()).collect();
        assert_eq!(kinds.last().map(String::as_str), Some(booked), "{kinds:?}");
        // Reversing again does nothing more.
        let before = b.ledger().len();
        let again = b.reverse(&ReversalRequest { payment_transaction_reference: "T-1".into() }, "rev2", t0);
        assert!(again.is_ok_and(|a| a.result == ReversalResult::Reversed));
        assert_eq!(b.ledger().len(), before);
    }
}

#[test]
fn an_authorization_arriving_after_its_reversal_is_declined() {
    use posagent_acquirer_api::{REVERSED_REASON, ReversalRequest, ReversalResult};
    let mut b = books();
    let t0 = Utc::now();
    let r = b.reverse(&ReversalRequest { payment_transaction_reference: "T-1".into() }, "rev", t0);
    assert!(r.is_ok_and(|r| r.result == ReversalResult::NotFound && r.payment_transaction.is_none()));
    let late = b.authorize(&request(None), "k1", t0).map_err(|e| format!("{e:?}"));
    let late = late.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((late.result, late.result_reason.as_deref()), (AuthorizeResult::Declined, Some(REVERSED_REASON)));
    assert!(b.ledger().is_empty());
    assert!(b.reverse(&ReversalRequest { payment_transaction_reference: String::new() }, "x", t0).is_err());
}

#[test]
fn the_option_authorized_is_the_one_served_for_the_amount() {
    use posagent_acquirer_api::InteractionExpiry;
    let now = Utc::now();
    let with_option = |id: &str| {
        let mut r = request(None);
        r.klarna = Some(KlarnaData { payment_option_id: Some(id.into()), ..KlarnaData::default() });
        r
    };
    let served = super::descriptors::option_id("de-DE", "EUR", 2_000);
    assert!(books().authorize(&with_option(&served), "k", now).is_ok());
    let other_amount = super::descriptors::option_id("de-DE", "EUR", 2_001);
    let refused = books().authorize(&with_option(&other_amount), "k", now);
    assert!(
        matches!(&refused, Err(Refusal::Invalid(v)) if v[0].parameter == "klarna.payment_option_id"),
        "{refused:?}"
    );
    // The payment request lives as long as the terminal asked, within Klarna's range.
    let mut b = books();
    let mut r = request(None);
    r.interaction_expiry = Some(InteractionExpiry { duration: "PT2H".into() });
    let pr = b.authorize(&r, "k", now).ok().and_then(|a| a.payment_request);
    assert_eq!(pr.map(|p| p.expires_at), Some(now + Duration::hours(2)));
    r.interaction_expiry = Some(InteractionExpiry { duration: "PT5M".into() });
    let refused = books().authorize(&r, "k", now);
    assert!(matches!(&refused, Err(Refusal::Invalid(v)) if v[0].parameter == "interaction_expiry.duration"));
}

#[test]
fn the_qr_image_decodes_to_the_target_url() {
    let mut b = books();
    let pr = b.authorize(&request(None), "k", Utc::now()).ok().and_then(|a| a.payment_request);
    let qr = pr.map(|p| p.state_context.customer_interaction.qr_code).unwrap_or_else(|| panic!("no QR code"));
    assert!(qr.image_url.as_deref().is_some_and(|u| u.starts_with("http://sim/pay/krn:") && u.ends_with("/qr.png")));
    let png = super::assets::qr_png(&qr.target_url).unwrap_or_default();
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap_or_else(|e| panic!("{e}"));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{e}"));
    let (w, h) = (info.width as usize, info.height as usize);
    let px = info.buffer_size() / (w * h);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[(y * w + x) * px]);
    let decoded: Vec<String> = img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|d| d.1)).collect();
    assert_eq!(decoded, vec![qr.target_url]);
}

fn event_types(b: &Books) -> Vec<String> {
    b.events_after(0).into_iter().map(|e| e.metadata.event_type).collect()
}

fn count(types: &[String], wanted: &str) -> usize {
    types.iter().filter(|t| *t == wanted).count()
}

#[test]
fn an_expiry_found_on_a_read_is_on_the_event_stream_once() {
    let mut b = books();
    let t0 = Utc::now();
    let tx = approved(&mut b, "T-1", CaptureMode::Later, t0);
    assert_eq!(b.next_deadline(), Some(t0 + Duration::days(28)), "the authorization's expiry is the next deadline");
    let day = |d: i64| t0 + Duration::days(d);
    assert!(b.transaction(&tx, day(28)).is_ok());
    assert!(b.transaction(&tx, day(29)).is_ok());
    let types = event_types(&b);
    assert_eq!(count(&types, "payment.transaction.state-change.expired"), 1, "{types:?}");
    assert_eq!(b.next_deadline(), Some(day(35)), "then the end of the grace period");
    assert!(b.transaction(&tx, day(35)).is_ok());
    let types = event_types(&b);
    assert_eq!(count(&types, "payment.transaction.state-change.closed"), 1, "{types:?}");
    assert_eq!(b.next_deadline(), None);
}

#[test]
fn a_void_of_an_authorization_with_nothing_captured_closes_it_with_its_event() {
    let mut b = books();
    let t0 = Utc::now();
    let tx = approved(&mut b, "T-1", CaptureMode::Later, t0);
    let voided = b.void(&tx, "v", t0).map(|t| t.state);
    assert_eq!(voided, Ok(posagent_acquirer_api::TransactionState::Closed));
    let types = event_types(&b);
    let tail: Vec<&str> = types.iter().rev().take(2).rev().map(String::as_str).collect();
    assert_eq!(tail, ["payment.transaction.voided", "payment.transaction.state-change.closed"]);
}

#[test]
fn state_reasons_are_klarnas() {
    let mut b = books();
    let t0 = Utc::now();
    let id = step_up(&mut b, t0);
    let reason = |r: Result<posagent_acquirer_api::PaymentRequest, Refusal>| r.map(|p| (p.state, p.state_reason));
    assert_eq!(b.payment_request(&id, t0).map(|p| p.state_reason), Ok(Some("PAYMENT_REQUEST_SUBMITTED".into())));
    assert_eq!(reason(b.customer_opens(&id, t0)), Ok((PaymentRequestState::InProgress, None)));
    let back = reason(b.customer_abandons(&id, t0));
    assert_eq!(back, Ok((PaymentRequestState::Submitted, Some("PAYMENT_REQUEST_SUBMITTED".into()))));
    let aborted = reason(b.customer_aborts(&id, t0));
    assert_eq!(aborted, Ok((PaymentRequestState::Canceled, Some("PURCHASE_FLOW_ABORTED".into()))));
    let id = step_up(&mut b, t0);
    assert_eq!(reason(b.customer_approves(&id, t0)), Ok((PaymentRequestState::Completed, None)));
    let mut other = request(None);
    other.payment_transaction_reference = "T-2".into();
    let id2 = b.authorize(&other, "k3", t0).ok().and_then(|r| r.payment_request).map(|p| p.payment_request_id);
    let id2 = id2.unwrap_or_default();
    let declined = reason(b.customer_declines(&id2, t0));
    assert_eq!(declined, Ok((PaymentRequestState::Declined, Some("CUSTOMER_ACTION_REQUIRED".into()))));
    let mut third = request(None);
    third.payment_transaction_reference = "T-3".into();
    let id3 = b.authorize(&third, "k4", t0).ok().and_then(|r| r.payment_request).map(|p| p.payment_request_id);
    let expired = b.payment_request(&id3.unwrap_or_default(), t0 + Duration::minutes(15));
    assert_eq!(reason(expired), Ok((PaymentRequestState::Expired, None)));
    assert_eq!(reason(b.cancel(&id2, t0)).ok(), None, "a declined request is final");
}

/// The simulator's own task expires an authorization when its time comes on the
/// simulator's clock, with nobody reading the transaction.
#[tokio::test]
async fn the_ticker_expires_an_authorization_when_it_is_due() {
    let stop = tokio_util::sync::CancellationToken::new();
    let backend = super::SimBackend::new("k".into(), "http://sim".into(), Duration::minutes(15), stop.clone());
    let t0 = backend.now();
    approved(&mut backend.books(), "T-1", CaptureMode::Later, t0);
    // Just short of the expiry: nothing yet.
    backend.advance_clock(28 * 86_400 - 1);
    let expired = "payment.transaction.state-change.expired".to_string();
    assert!(!event_types(&backend.books()).contains(&expired));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let changed = backend.changed.notified();
        if event_types(&backend.books()).contains(&expired) {
            break;
        }
        let woke = tokio::time::timeout_at(deadline, changed).await;
        assert!(woke.is_ok(), "no expiry event within 10 s of its deadline: {:?}", event_types(&backend.books()));
    }
    stop.cancel();
}

#[test]
fn the_settlement_charges_each_sale_its_stores_fee_and_pays_out_the_rest() {
    use posagent_acquirer_api::RefundRequest;
    use posagent_acquirer_api::settlement::FeeSchedule;
    let mut b = books();
    let t0 = Utc::now();
    // Store "s" (the test request's) pays 2.50 % + 10, VAT 19 %; the default is left alone.
    b.fees.set(Some("s".into()), FeeSchedule { basis_points: 250, fixed: 10, vat_basis_points: 1_900 });
    let tx = approved(&mut b, "T-1", CaptureMode::Now, t0);
    let refund = RefundRequest {
        amount: 500,
        payment_refund_reference: None,
        payment_capture_id: None,
        klarna_network_data: None,
        line_items: vec![],
    };
    assert!(b.refund(&tx, &refund, "r", t0).is_ok());
    let report = b.settlement(t0.date_naive());
    let fees: Vec<(i64, i64, i64)> = report.entries.iter().map(|e| (e.amount, e.fee, e.fee_vat)).collect();
    // 2.50 % of 20.00 = 0.50 + 0.10 = 0.60; VAT 19 % = 0.114 → 0.11. The return: no fee.
    assert_eq!(fees, [(2_000, 60, 11), (500, 0, 0)]);
    let t = &report.totals[0];
    assert_eq!((t.sales, t.returns, t.net, t.fees, t.fee_vat, t.chargebacks), (2_000, 500, 1_500, 60, 11, 0));
    assert_eq!(t.payout, 1_500 - 60 - 11);
}
