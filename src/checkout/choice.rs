//! A sale whose customer chooses the method at the terminal (`"method": "CHOICE"`): the
//! display shows the amount and every method available for it — Klarna only where the
//! acquirer offers it for the country, currency and amount — and the register or the
//! cashier console sends the choice. The choice is journaled before it is acted on.

use super::engine::{Checkout, CheckoutError, Inner};
use super::flow::{FlowError, KlarnaOffer, amount_text, show};
use crate::domain::{MethodChoice, Sale, SaleState, SaleView};
use crate::screens::{KlarnaOption, Screen};
use posagent_acquirer_api::{PaymentMethod, PresentationInstruction};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How long a choice sent by the register may take to be taken up by the sale.
const CHOICE_ACK: Duration = Duration::from_secs(15);

fn choice_screen(inner: &Inner, sale: &Sale) -> Screen {
    let offered = sale.choice.as_ref().map(|c| c.offered.clone()).unwrap_or_default();
    let klarna =
        offered.contains(&PaymentMethod::Klarna).then_some(sale.descriptors.as_ref()).flatten().map(|d| KlarnaOption {
            header: d.header.clone(),
            // Klarna's own offer for the amount, else its short sub-header: as served.
            detail: d.subheader_enriched.clone().unwrap_or_else(|| d.subheader.clone()),
            badge: inner.badge(d),
        });
    Screen::ChooseMethod {
        amount: amount_text(sale),
        klarna,
        card: offered.contains(&PaymentMethod::Card),
        locale: sale.locale.clone(),
    }
}

/// Asks whether Klarna is available and offers the customer every method that is.
///
/// Klarna's instruction decides: preselected (prepared or confirmed in a Klarna journey)
/// or shown alone, Klarna is taken as the customer's choice; hidden or not available,
/// the card is the only method and is asked for at once.
pub(super) async fn offer_methods(inner: &Inner, sale: &mut Sale) -> Result<(), FlowError> {
    let offer = super::flow::ask_klarna_showing_amount(inner, sale).await?;
    let choice =
        sale.choice.get_or_insert(MethodChoice { offered: vec![], chosen: false, klarna_unavailable_reason: None });
    match offer {
        KlarnaOffer::Offered(PresentationInstruction::PreselectKlarna | PresentationInstruction::ShowOnlyKlarna) => {
            choice.offered = vec![PaymentMethod::Klarna];
            choice.chosen = true;
            sale.method = PaymentMethod::Klarna;
            let detail = "method chosen: KLARNA (Klarna's instruction: preselected or shown alone)".to_string();
            inner.transition(sale, SaleState::AvailabilityChecked, Some(detail)).await?;
        }
        KlarnaOffer::Offered(_) => {
            choice.offered = vec![PaymentMethod::Klarna, PaymentMethod::Card];
            inner.transition(sale, SaleState::AwaitingMethod, Some("methods offered: KLARNA, CARD".into())).await?;
        }
        KlarnaOffer::NotOffered { reason, detail } => {
            choice.offered = vec![PaymentMethod::Card];
            choice.chosen = true;
            choice.klarna_unavailable_reason = Some(reason);
            sale.method = PaymentMethod::Card;
            let detail = format!("Klarna not offered ({detail}); method: CARD");
            inner.transition(sale, SaleState::AwaitingCard, Some(detail)).await?;
        }
    }
    Ok(())
}

/// Shows the choice and waits for it (or a cancel, or the customer walking away).
pub(super) async fn wait_for_choice(
    inner: &Inner,
    sale: &mut Sale,
    cancel: &CancellationToken,
) -> Result<(), FlowError> {
    show(inner, &sale.id, choice_screen(inner, sale)).await;
    let mut choices = inner.choices.subscribe();
    let waited = Duration::from_secs(inner.deps.limits.choice_timeout_secs);
    let deadline = tokio::time::Instant::now()
        + waited.saturating_sub((chrono::Utc::now() - sale.updated_at).to_std().unwrap_or_default());
    let method = loop {
        let sent = choices.borrow_and_update().clone();
        if let Some((id, method)) = sent {
            if id == sale.id {
                break method;
            }
        }
        tokio::select! {
            () = inner.deps.shutdown.cancelled() => return Ok(()),
            // The drive loop ends a canceled sale in AWAITING_METHOD.
            () = cancel.cancelled() => return Ok(()),
            () = tokio::time::sleep_until(deadline) => {
                sale.reason = Some("CHOICE_TIMEOUT".into());
                inner.transition(sale, SaleState::Canceled, Some("no method chosen in time".into())).await?;
                show(inner, &sale.id, super::flow::ended_screen(sale)).await;
                return Ok(());
            }
            r = choices.changed() => if r.is_err() { return Ok(()) },
        }
    };
    sale.method = method;
    if let Some(c) = sale.choice.as_mut() {
        c.chosen = true;
    }
    let next = if method == PaymentMethod::Klarna { SaleState::AvailabilityChecked } else { SaleState::AwaitingCard };
    let name = if method == PaymentMethod::Klarna { "KLARNA" } else { "CARD" };
    inner.transition(sale, next, Some(format!("method chosen: {name}"))).await?;
    Ok(())
}

impl Checkout {
    /// Sends the customer's choice of method for a sale in AWAITING_METHOD and waits (up
    /// to 15 s) until the sale has taken it up. Choosing again what was chosen answers
    /// the sale as it is.
    pub async fn choose_method(&self, id: &str, method: &str) -> Result<SaleView, CheckoutError> {
        let method = match method.to_ascii_uppercase().as_str() {
            "KLARNA" => PaymentMethod::Klarna,
            "CARD" => PaymentMethod::Card,
            other => {
                return Err(CheckoutError::Invalid {
                    field: "method".into(),
                    message: format!("`{other}` is not a payment method; use KLARNA or CARD"),
                });
            }
        };
        let inner = self.inner();
        let sale = inner.deps.journal.sale(id.to_string()).await?;
        let Some(choice) = sale.choice.clone() else {
            return Err(CheckoutError::NotAwaitingMethod(sale.state.as_str()));
        };
        if choice.chosen && sale.method == method {
            return Ok(sale.view());
        }
        if !choice.offered.is_empty() && !choice.offered.contains(&method) {
            let why = choice.klarna_unavailable_reason.unwrap_or_else(|| "not offered".into());
            return Err(CheckoutError::MethodNotSupported(format!(
                "{} is not offered for this purchase ({why})",
                if method == PaymentMethod::Klarna { "Klarna" } else { "Card" }
            )));
        }
        if sale.state != SaleState::AwaitingMethod {
            return Err(CheckoutError::NotAwaitingMethod(sale.state.as_str()));
        }
        let mut events = self.subscribe();
        inner.choices.send_replace(Some((sale.id.clone(), method)));
        let deadline = tokio::time::Instant::now() + CHOICE_ACK;
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(v)) if v.id == sale.id && v.state != SaleState::AwaitingMethod => return Ok(v),
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    return Ok(inner.deps.journal.sale(sale.id).await?.view());
                }
            }
        }
    }
}
