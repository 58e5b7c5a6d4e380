//! What the terminal may still approve while the acquirer is unreachable: the offline
//! limits (`[offline]`) less the card payments approved offline and not yet forwarded,
//! in the store's currency — the console's banner says it when the network is down.

use super::{Checkout, CheckoutError};
use posagent_acquirer_api::Currency;

/// Room left for card payments approved offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineRoom {
    /// Whether the terminal approves card payments offline at all (a card reader and
    /// `offline.card_payments`).
    pub card_payments: bool,
    /// The store's currency, of every amount here.
    pub currency: Currency,
    /// The largest payment approved offline, minor units.
    pub floor_limit: i64,
    /// What may still be approved offline in all, minor units.
    pub total_left: i64,
    /// How many more payments may be approved offline.
    pub count_left: i64,
    /// Approved offline and waiting to be forwarded: the sum.
    pub waiting_total: i64,
    /// And how many.
    pub waiting_count: i64,
}

impl Checkout {
    /// The room left for offline card payments, from the limits and the journal's queue.
    pub async fn offline_room(&self) -> Result<OfflineRoom, CheckoutError> {
        let currency = self.store().currency;
        let limits = self.inner().offline_limits();
        let waiting = self.journal().offline_exposure(currency.code().to_string()).await?;
        Ok(OfflineRoom {
            card_payments: self.sells_offline(),
            currency,
            floor_limit: limits.floor_limit,
            total_left: (limits.total_limit - waiting.total).max(0),
            count_left: (limits.max_count - waiting.count).max(0),
            waiting_total: waiting.total,
            waiting_count: waiting.count,
        })
    }
}
