//! The narrow ports a sale's runners (`run.rs`, `flow.rs`, `card.rs`, `choice.rs`) act
//! through: the acquirer calls they make, the journal's transitions, keys and records, the printer,
//! the display. The real implementations wrap the checkout's deps; the runners reach no
//! dep directly.

use super::engine::Inner;
use crate::backend::{AcquirerClient, BackendError};
use crate::devices::{DeviceError, DisplayService, PrinterService};
use crate::domain::{NewOp, OfflineExposure, Operation, Sale, SaleState};
use crate::store::{Journal, StoreError};
use posagent_acquirer_api::{
    AuthorizeRequest, AuthorizeResponse, AvailabilityQuery, AvailabilityResponse, PaymentRequest, PaymentRequestState,
    PaymentTransaction,
};
use posagent_drivers::printer::Document;
use std::future::Future;
use std::time::Duration;

/// The acquirer, as a sale uses it.
pub(crate) trait Acquirer: Sync {
    /// Whether Klarna is available for the purchase, and its wording.
    fn availability(
        &self,
        q: &AvailabilityQuery,
    ) -> impl Future<Output = Result<AvailabilityResponse, BackendError>> + Send;
    /// An authorization under `key` (stored before).
    fn authorize(
        &self,
        request: &AuthorizeRequest,
        key: &str,
    ) -> impl Future<Output = Result<AuthorizeResponse, BackendError>> + Send;
    /// The payment request `id`, held up to `wait` while it is still in `from`.
    fn payment_request(
        &self,
        id: &str,
        from: Option<PaymentRequestState>,
        wait: Duration,
    ) -> impl Future<Output = Result<PaymentRequest, BackendError>> + Send;
    /// Cancels the payment request `id` under `key` (stored before).
    fn cancel_payment_request(
        &self,
        id: &str,
        key: &str,
    ) -> impl Future<Output = Result<PaymentRequest, BackendError>> + Send;
    /// The transaction under the sale's reference, if there is one.
    fn transaction_by_reference(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<PaymentTransaction>, BackendError>> + Send;
    /// Whether the acquirer answered the last call.
    fn is_online(&self) -> bool;
    /// Whether a call is worth trying now (online, or a probe is due).
    fn should_try(&self) -> bool;
    /// The acquirer did not answer within a customer's budget: it counts as unreachable.
    fn went_silent(&self);
}

impl Acquirer for AcquirerClient {
    fn availability(
        &self,
        q: &AvailabilityQuery,
    ) -> impl Future<Output = Result<AvailabilityResponse, BackendError>> + Send {
        AcquirerClient::availability(self, q)
    }

    fn authorize(
        &self,
        request: &AuthorizeRequest,
        key: &str,
    ) -> impl Future<Output = Result<AuthorizeResponse, BackendError>> + Send {
        AcquirerClient::authorize(self, request, key)
    }

    fn payment_request(
        &self,
        id: &str,
        from: Option<PaymentRequestState>,
        wait: Duration,
    ) -> impl Future<Output = Result<PaymentRequest, BackendError>> + Send {
        AcquirerClient::payment_request(self, id, from, wait)
    }

    fn cancel_payment_request(
        &self,
        id: &str,
        key: &str,
    ) -> impl Future<Output = Result<PaymentRequest, BackendError>> + Send {
        AcquirerClient::cancel_payment_request(self, id, key)
    }

    fn transaction_by_reference(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<PaymentTransaction>, BackendError>> + Send {
        AcquirerClient::transaction_by_reference(self, reference)
    }

    fn is_online(&self) -> bool {
        self.connectivity().is_online()
    }

    fn should_try(&self) -> bool {
        self.connectivity().should_try()
    }

    fn went_silent(&self) {
        self.connectivity().set(false);
    }
}

/// The journal, as a sale's runner uses it besides its transitions
/// (`Inner::transition_queuing`): the idempotency keys, stored before each call, a
/// change that is not a transition, and what is waiting offline.
pub(crate) trait SaleJournal: Sync {
    /// Stores (or finds) the key of `operation` on sale `sale_id`, before the call.
    fn operation_key(
        &self,
        sale_id: &str,
        operation: &Operation,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Journals `sale` as it is, with `detail` in its history.
    fn record(&self, sale: Sale, detail: Option<String>) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The card payments approved offline and not yet forwarded, in `currency`.
    fn offline_exposure(&self, currency: String) -> impl Future<Output = Result<OfflineExposure, StoreError>> + Send;
}

/// The journal under this terminal's keys.
pub(crate) struct TerminalJournal<'a> {
    pub journal: &'a Journal,
    pub terminal: &'a str,
}

impl SaleJournal for TerminalJournal<'_> {
    fn operation_key(
        &self,
        sale_id: &str,
        operation: &Operation,
    ) -> impl Future<Output = Result<String, StoreError>> + Send {
        self.journal.operation_key(self.terminal, sale_id, operation)
    }

    fn record(&self, sale: Sale, detail: Option<String>) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.journal.record(sale, detail)
    }

    fn offline_exposure(&self, currency: String) -> impl Future<Output = Result<OfflineExposure, StoreError>> + Send {
        self.journal.offline_exposure(currency)
    }
}

/// Where a sale's transitions go: journaled durably with what they queue (in the same
/// write), then told to subscribers; a final state frees the terminal for the next sale.
pub(crate) trait Transitions: Sync {
    /// Journals `sale` entering `state`, queuing `queued` with it; returns the queue id.
    fn journal_transition(
        &self,
        sale: &mut Sale,
        state: SaleState,
        detail: Option<String>,
        queued: Option<(NewOp, i64)>,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
}

impl Transitions for Inner {
    fn journal_transition(
        &self,
        sale: &mut Sale,
        state: SaleState,
        detail: Option<String>,
        queued: Option<(NewOp, i64)>,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send {
        self.transition_queuing(sale, state, detail, queued)
    }
}

/// The receipt printer.
pub(crate) trait Printer: Sync {
    /// Prints `document` now, or fails.
    fn print(&self, document: Document) -> impl Future<Output = Result<(), DeviceError>> + Send;
    /// Prints `document`, or holds it under `tag` through a printer fault (it then
    /// prints by itself once the printer is ready); the fault is returned.
    fn print_or_hold(&self, document: Document, tag: &str) -> impl Future<Output = Result<(), DeviceError>> + Send;
}

impl Printer for PrinterService {
    fn print(&self, document: Document) -> impl Future<Output = Result<(), DeviceError>> + Send {
        PrinterService::print(self, document)
    }

    fn print_or_hold(&self, document: Document, tag: &str) -> impl Future<Output = Result<(), DeviceError>> + Send {
        PrinterService::print_or_hold(self, document, tag)
    }
}

/// What the runners ask of the customer display besides its screens (which go through
/// `Inner::show_for`, so a sale that lost the display draws nothing).
pub(crate) trait CustomerDisplay: Sync {
    /// Whether it can show a QR code (else the code is printed on a slip).
    fn is_graphic(&self) -> bool;
}

impl CustomerDisplay for DisplayService {
    fn is_graphic(&self) -> bool {
        DisplayService::is_graphic(self)
    }
}

/// The ports and the settings the runners read, on the checkout's deps.
impl Inner {
    /// The acquirer, through the calls a sale makes.
    pub(super) fn acquirer(&self) -> &impl Acquirer {
        &self.deps.backend
    }

    /// The journal's keys and records under this terminal's keys.
    pub(super) fn keys(&self) -> impl SaleJournal + '_ {
        TerminalJournal { journal: &self.deps.journal, terminal: &self.deps.store.terminal_reference }
    }

    /// The receipt printer.
    pub(super) fn printer(&self) -> &impl Printer {
        &self.deps.printer
    }

    /// The customer display (its screens go through [`Self::show_for`]).
    pub(super) fn display(&self) -> &impl CustomerDisplay {
        &self.deps.display
    }

    /// The card reader, if the terminal has one.
    pub(super) fn card_reader(&self) -> Option<&crate::devices::CardReaderService> {
        self.deps.card_reader.as_ref()
    }

    /// The store's identity.
    pub(super) fn store(&self) -> &crate::config::StoreSection {
        &self.deps.store
    }

    /// The terminal's limits.
    pub(super) fn limits(&self) -> &crate::config::LimitsConfig {
        &self.deps.limits
    }

    /// Fires when the daemon stops.
    pub(super) fn shutdown(&self) -> &tokio_util::sync::CancellationToken {
        &self.deps.shutdown
    }

    /// The offline limits as configured now (reloadable).
    pub(super) fn offline_limits(&self) -> crate::domain::OfflineLimits {
        self.deps.offline.read().map(|l| l.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Counts a card payment approved offline.
    pub(super) fn count_offline_approval(&self) {
        self.deps.metrics.offline_approved();
    }

    /// Asks for Klarna's badge at `url` in the background.
    pub(super) fn want_badge(&self, url: &str) {
        self.deps.badges.want(url);
    }
}
