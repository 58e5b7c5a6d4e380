//! A sale whose customer chooses the method at the terminal (`"method": "CHOICE"`): the
//! display shows the amount and every method available for it — Klarna only where the
//! acquirer offers it for the country, currency and amount — and the register or the
//! cashier console sends the choice. The choice is journaled before it is acted on.

use super::engine::{Checkout, CheckoutError, Inner};
use super::flow::{amount_text, show};
use super::machine::Input;
use super::wait::{Woken, first_of};
use crate::domain::{Sale, SaleState, SaleView};
use crate::screens::{KlarnaOption, Screen};
use posagent_acquirer_api::PaymentMethod;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How long a choice sent by the register may take to be taken up by the sale.
const CHOICE_ACK: Duration = Duration::from_secs(15);

fn choice_screen(inner: &Inner, sale: &Sale) -> Screen {
    let offered = sale.choice.as_ref().map(|c| c.offered.clone()).unwrap_or_default();
    let klarna = offered.contains(&PaymentMethod::Klarna).then_some(sale.payment_option.as_ref()).flatten().map(|d| {
        KlarnaOption {
            header: d.header.text.clone(),
            // Klarna's own offer for the amount, else its short sub-header: as served.
            detail: d.offer_or_short().to_string(),
            badge: inner.badge(d),
        }
    });
    Screen::ChooseMethod {
        amount: amount_text(sale),
        klarna,
        card: offered.contains(&PaymentMethod::Card),
        locale: sale.locale.clone(),
    }
}

/// Shows the choice and waits for it (or the customer walking away). Returns the
/// machine's input; none on a cancel (the drive loop ends a canceled sale in
/// AWAITING_METHOD) or when the daemon stops.
pub(super) async fn wait_for_choice(inner: &Inner, sale: &Sale, cancel: &CancellationToken) -> Option<Input> {
    show(inner, &sale.id, choice_screen(inner, sale)).await;
    let mut choices = inner.choices.subscribe();
    let waited = Duration::from_secs(inner.limits().choice_timeout_secs);
    let deadline =
        tokio::time::Instant::now() + super::machine::choice_left(sale.updated_at, chrono::Utc::now(), waited);
    // A choice already sent is taken before anything else (as it was sent first).
    if let Some((id, method)) = choices.borrow_and_update().clone() {
        if id == sale.id {
            return Some(Input::MethodChosen(method));
        }
    }
    // The customer's choice for this sale, sent by the register through the watch channel.
    let chosen = std::pin::pin!(async {
        loop {
            if let Some((id, method)) = choices.borrow_and_update().clone() {
                if id == sale.id {
                    return Some(method);
                }
            }
            choices.changed().await.ok()?;
        }
    });
    let no_redraw = (Duration::from_secs(1), false);
    match first_of((inner.shutdown(), cancel), deadline, chosen, no_redraw, || async {}).await {
        Woken::Answer(Some(method)) => Some(Input::MethodChosen(method)),
        Woken::TimedOut => Some(Input::TimedOut),
        // The drive loop ends a canceled sale in AWAITING_METHOD.
        Woken::Canceled | Woken::Stopping | Woken::Answer(None) => None,
    }
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
