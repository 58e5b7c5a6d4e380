//! The checkout service: accepts, reads and cancels sales; runs one sale task at a time.

pub use super::error::CheckoutError;
use super::machine::{Act, Input, Step, View};
use super::new_sale::{NewSale, ReceiptPrinting, ValidSale};
use crate::backend::AcquirerClient;
use crate::config::{LimitsConfig, StoreSection};
use crate::devices::{DisplayService, PrinterService};
use crate::domain::{Sale, SaleState, SaleView};
use crate::screens::Screen;
use crate::store::{Journal, StoreError};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// How long a final screen stays before the idle screen returns.
const RESULT_SCREEN: Duration = Duration::from_secs(5);
/// How long a cancel waits for the sale's final state.
const CANCEL_WAIT: Duration = Duration::from_secs(15);

/// What the checkout needs.
pub struct CheckoutDeps {
    /// The journal.
    pub journal: Journal,
    /// The acquirer.
    pub backend: AcquirerClient,
    /// Customer display.
    pub display: DisplayService,
    /// Receipt printer.
    pub printer: PrinterService,
    /// Secure card reader, if the terminal has one.
    pub card_reader: Option<crate::devices::CardReaderService>,
    /// Store identity.
    pub store: StoreSection,
    /// Limits.
    pub limits: LimitsConfig,
    /// Fires when the daemon stops.
    pub shutdown: CancellationToken,
    /// Metrics.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Card payments approved while the acquirer is unreachable (reloadable).
    pub offline: crate::domain::SharedLimits,
    /// Wakes the sync worker when something is queued.
    pub outbox: crate::outbox::SyncHandle,
    /// Klarna's badges, fetched in the background from the payment option's `icon.badge_image_url`.
    pub badges: crate::assets::Badges,
    /// The daemon's task tracker: every task the checkout starts runs on it.
    pub tasks: TaskTracker,
}

pub(super) struct Inner {
    pub deps: CheckoutDeps,
    events: broadcast::Sender<SaleView>,
    active: tokio::sync::Mutex<Option<(String, CancellationToken)>>,
    idle_wording: super::idle::IdleWording,
    /// The sale whose screens the display shows; others' late screens are dropped.
    display_owner: tokio::sync::Mutex<Option<String>>,
    availability: super::availability::AvailabilityCache,
    tasks: TaskTracker,
    /// Set when the daemon begins to stop: new sales are refused, open ones go on.
    draining: std::sync::atomic::AtomicBool,
    /// The customer's choice of method for a sale awaiting it: (sale id, method).
    pub(super) choices: tokio::sync::watch::Sender<Option<(String, posagent_acquirer_api::PaymentMethod)>>,
}

/// The checkout service (cheap to clone).
#[derive(Clone)]
pub struct Checkout {
    inner: Arc<Inner>,
}

impl Checkout {
    /// A checkout over `deps`.
    pub fn new(deps: CheckoutDeps) -> Self {
        let (events, _) = broadcast::channel(256);
        let checkout = Checkout {
            inner: Arc::new(Inner {
                deps,
                events,
                active: tokio::sync::Mutex::new(None),
                idle_wording: Default::default(),
                display_owner: tokio::sync::Mutex::new(None),
                availability: Default::default(),
                tasks: TaskTracker::new(),
                draining: std::sync::atomic::AtomicBool::new(false),
                choices: tokio::sync::watch::Sender::new(None),
            }),
        };
        checkout.follow_held_receipts();
        checkout.keep_idle_screen_current();
        checkout
    }

    /// Marks sales whose held receipt came out once the printer was ready again.
    fn follow_held_receipts(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let inner = self.inner.clone();
        let mut printed = inner.deps.printer.subscribe_printed_later();
        runtime.spawn(async move {
            loop {
                let id = tokio::select! {
                    () = inner.deps.shutdown.cancelled() => return,
                    r = printed.recv() => match r {
                        Ok(id) => id,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                };
                if id.ends_with(super::receipt::MERCHANT_COPY_TAG) {
                    continue; // the store's copy: nothing on the sale tracks it
                }
                match inner.deps.journal.sale(id.clone()).await {
                    Ok(sale) if !sale.receipt_printed => {
                        let detail = "receipt printed once the printer was ready".to_string();
                        if let Err(e) = inner.amend(&sale.id, detail, receipt_printed, None).await {
                            tracing::error!(sale_id = %id, error = %e, "cannot journal the printed receipt");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(sale_id = %id, error = %e, "held receipt of an unknown sale"),
                }
            }
        });
    }

    /// The store this checkout sells for.
    pub fn store(&self) -> &StoreSection {
        &self.inner.deps.store
    }

    /// Whether this terminal takes cards (its profile has a secure card reader).
    pub fn takes_cards(&self) -> bool {
        self.inner.deps.card_reader.is_some()
    }

    pub(super) fn backend(&self) -> &AcquirerClient {
        &self.inner.deps.backend
    }

    pub(super) fn availability_cache(&self) -> &super::availability::AvailabilityCache {
        &self.inner.availability
    }

    pub(super) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(super) fn shared(&self) -> Arc<Inner> {
        self.inner.clone()
    }

    /// The journal (for diagnostics and tests of its failure modes).
    pub fn journal(&self) -> &Journal {
        &self.inner.deps.journal
    }

    /// Whether the acquirer answered the last call.
    pub fn acquirer_online(&self) -> bool {
        self.inner.deps.backend.connectivity().is_online()
    }

    /// Whether a sale can be taken while the acquirer is unreachable: a card payment
    /// approved offline needs a card reader and `offline.card_payments` (Klarna never).
    pub fn sells_offline(&self) -> bool {
        let deps = &self.inner.deps;
        let allowed = deps.offline.read().map_or_else(|p| p.into_inner().card_payments, |l| l.card_payments);
        deps.card_reader.is_some() && allowed
    }

    /// The acquirer's clock minus ours (seconds), from its last answer.
    pub fn acquirer_clock_offset(&self) -> Option<f64> {
        self.inner.deps.backend.connectivity().clock_offset_seconds()
    }

    /// Tells subscribers of a sale changed outside the checkout (a forwarded operation).
    pub fn publish(&self, sale: &Sale) {
        let _ = self.inner.events.send(sale.view());
    }

    /// Subscribes to every change of every sale.
    pub fn subscribe(&self) -> broadcast::Receiver<SaleView> {
        self.inner.events.subscribe()
    }

    /// Fires when the daemon stops (long-lived streams end on it, so the API can close).
    pub fn stopping(&self) -> CancellationToken {
        self.inner.deps.shutdown.clone()
    }

    /// Creates a sale and starts it. Returns the sale and whether it is new (false when
    /// the register retried with the same reference).
    pub async fn create_sale(&self, request: NewSale) -> Result<(SaleView, bool), CheckoutError> {
        let v = self.validate(request)?;
        self.start_sale(v).await
    }

    /// A ZVT register's sale: [`Self::create_sale`] with capture `LATER`, captured by
    /// the terminal once the register took the result; its receipts printed by
    /// `receipts` (a register that prints them itself has none printed on the terminal).
    pub async fn create_register_sale(
        &self,
        mut request: NewSale,
        receipts: ReceiptPrinting,
    ) -> Result<(SaleView, bool), CheckoutError> {
        request.capture = Some(posagent_acquirer_api::CaptureMode::Later);
        let mut v = self.validate(request)?;
        v.receipts = receipts;
        v.capture_on_commit = true;
        self.start_sale(v).await
    }

    /// Checks a register's request against the store, its limits and this terminal.
    pub(super) fn validate(&self, request: NewSale) -> Result<ValidSale, CheckoutError> {
        let d = &self.inner.deps;
        if d.shutdown.is_cancelled() || self.inner.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(CheckoutError::ShuttingDown);
        }
        request.validate(&d.store, &d.limits, d.card_reader.is_some())
    }

    /// Journals a validated sale and starts it (or hands back the sale already under its
    /// reference, when the request is the same).
    pub(super) async fn start_sale(&self, v: ValidSale) -> Result<(SaleView, bool), CheckoutError> {
        let d = &self.inner.deps;
        let mut active = self.inner.active.lock().await;
        if let Some(reference) = &v.reference {
            match d.journal.sale(reference.clone()).await {
                // A retry is the same request: anything else under the reference (another
                // capture mode, lines, method, locale, customer token) is a conflict, not
                // the old sale handed back as if it were the one asked for.
                Ok(existing) if v.same_request(&existing) => return Ok((existing.view(), false)),
                Ok(_) => return Err(CheckoutError::ReferenceConflict(reference.clone())),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(CheckoutError::Store(e)),
            }
        }
        if let Some((id, _)) = active.as_ref() {
            return Err(CheckoutError::Busy(id.clone()));
        }
        let id = uuid::Uuid::new_v4();
        let now = Utc::now();
        let reference = v.reference.clone().unwrap_or_else(|| {
            format!("{}-{}", d.store.terminal_reference, &id.simple().to_string()[..12]).to_ascii_uppercase()
        });
        let sale = v.into_sale(id.to_string(), reference, now);
        // The authorization's key goes in with the row: every sale's first call changing money.
        let first = (d.store.terminal_reference.as_str(), &crate::domain::Operation::Authorize);
        d.journal.insert_sale_keyed(sale.clone(), Some(first)).await?;
        let view = sale.view();
        let _ = self.inner.events.send(view.clone());
        let cancel = CancellationToken::new();
        *active = Some((sale.id.clone(), cancel.clone()));
        drop(active);
        // The display now belongs to this sale (after any screen still going up).
        *self.inner.display_owner.lock().await = Some(sale.id.clone());
        self.spawn(sale, cancel);
        Ok((view, true))
    }

    fn spawn(&self, sale: Sale, cancel: CancellationToken) {
        let inner = self.inner.clone();
        // On the daemon's tracker, and on the checkout's own (its sales, for `wait_idle`).
        let sale_task = self.inner.tasks.track_future(async move {
            let id = sale.id.clone();
            let span = tracing::info_span!("sale", sale_id = %id, reference = %sale.reference);
            run_sale(inner.clone(), sale, cancel).instrument(span).await;
            let mut active = inner.active.lock().await;
            if active.as_ref().is_some_and(|(a, _)| *a == id) {
                *active = None;
            }
            drop(active);
            let idle = inner.clone();
            inner.deps.tasks.spawn(async move {
                tokio::select! {
                    () = idle.deps.shutdown.cancelled() => {}
                    () = tokio::time::sleep(RESULT_SCREEN) => {
                        // Hold the slot while the idle screen goes up, so a sale started
                        // meanwhile queues its QR code after it, never under it. Only
                        // this sale's result screen is taken down: a sale started and
                        // ended meanwhile shows its own for as long.
                        let active = idle.active.lock().await;
                        let mut owner = idle.display_owner.lock().await;
                        if active.is_none() && owner.as_deref() == Some(id.as_str()) {
                            *owner = None;
                            let _ = idle.deps.display.show(super::idle::idle_screen(&idle)).await;
                        }
                        drop(owner);
                        drop(active);
                    }
                }
            });
        });
        self.inner.deps.tasks.spawn(sale_task);
    }

    /// A sale by id or reference.
    pub async fn sale(&self, id: &str) -> Result<SaleView, CheckoutError> {
        Ok(self.inner.deps.journal.sale(id.to_string()).await?.view())
    }

    /// Sales that pass `filter`, newest first.
    pub async fn sales(&self, filter: crate::store::SaleFilter) -> Result<Vec<SaleView>, CheckoutError> {
        Ok(self.inner.deps.journal.sales(filter).await?.into_iter().map(|s| s.view()).collect())
    }

    /// A sale by id or reference with every change journaled for it, oldest first (for
    /// store IT troubleshooting a sale).
    pub async fn history(&self, id: &str) -> Result<(SaleView, Vec<crate::store::SaleEvent>), CheckoutError> {
        let sale = self.inner.deps.journal.sale(id.to_string()).await?;
        let events = self.inner.deps.journal.events(sale.id.clone()).await?;
        Ok((sale.view(), events))
    }

    /// Prints an approved sale's receipt again, marked COPY — or for the first time if
    /// it never came out (e.g. the paper ran out), unmarked.
    pub async fn reprint(&self, id: &str) -> Result<SaleView, CheckoutError> {
        let d = &self.inner.deps;
        let mut sale = d.journal.sale(id.to_string()).await?;
        if sale.state != SaleState::Approved {
            return Err(CheckoutError::NotApproved(sale.state.as_str()));
        }
        // A receipt held for a printer fault is taken off the queue so it cannot come out
        // twice; if it came out meanwhile, this is a copy.
        let copy = sale.receipt_printed || d.printer.release(&sale.id).await == crate::devices::Held::AlreadyPrinted;
        let doc = super::receipt::receipt_document(&sale, super::receipt::ReceiptHeader::of(&d.store), copy);
        let printed = if copy { d.printer.print(doc).await } else { d.printer.print_or_hold(doc, &sale.id).await };
        match printed {
            Ok(()) if !copy => {
                (sale, _) = self.inner.amend(&sale.id, "receipt printed".into(), receipt_printed, None).await?;
            }
            Ok(()) => {}
            Err(e) => return Err(CheckoutError::Printer(e)),
        }
        Ok(sale.view())
    }

    /// Cancels a sale and waits (up to 15 s) for its final state.
    pub async fn cancel(&self, id: &str) -> Result<SaleView, CheckoutError> {
        let sale = self.inner.deps.journal.sale(id.to_string()).await?;
        if sale.state.is_final() {
            return Ok(sale.view());
        }
        let mut events = self.subscribe();
        let token = self.inner.active.lock().await.as_ref().filter(|(a, _)| *a == sale.id).map(|(_, t)| t.clone());
        match token {
            Some(t) => t.cancel(),
            None => return Ok(self.inner.deps.journal.sale(sale.id).await?.view()),
        }
        let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(v)) if v.id == sale.id && v.state.is_final() => return Ok(v),
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    return Ok(self.inner.deps.journal.sale(sale.id).await?.view());
                }
            }
        }
    }

    /// Resumes every sale the journal holds open (after a restart), reading its state
    /// from the acquirer by reference; never starting a second payment.
    pub async fn resume_open_sales(&self) -> Result<usize, CheckoutError> {
        let open = self.inner.deps.journal.open_sales().await?;
        let n = open.len();
        for sale in open {
            tracing::info!(sale_id = %sale.id, state = sale.state.as_str(), "resuming sale after restart");
            let cancel = CancellationToken::new();
            *self.inner.active.lock().await = Some((sale.id.clone(), cancel.clone()));
            *self.inner.display_owner.lock().await = Some(sale.id.clone());
            self.spawn(sale, cancel);
        }
        if n == 0 {
            let _ = self.inner.deps.display.show(super::idle::idle_screen(&self.inner)).await;
        }
        Ok(n)
    }

    /// First step of stopping: new sales are refused (`503 SHUTTING_DOWN`); the sale in
    /// progress goes on.
    pub fn begin_drain(&self) {
        self.inner.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a sale (or its receipt) is in progress.
    pub fn sale_in_progress(&self) -> bool {
        !self.inner.tasks.is_empty()
    }

    /// Waits up to `grace` for every running sale (and its receipt) to finish; `false`
    /// if one is still running then.
    pub async fn wait_sales(&self, grace: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.inner.tasks.is_empty() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        true
    }

    /// Waits until every sale task has finished (after shutdown fired).
    pub async fn wait_idle(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}

impl Inner {
    /// Journals `sale` in `state` (durably), then tells subscribers.
    pub(super) async fn transition(
        &self,
        sale: &mut Sale,
        state: SaleState,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        self.transition_queuing(sale, state, detail, None).await.map(|_| ())
    }

    /// As [`Self::transition`], queuing `op` for the acquirer in the same transaction
    /// (left alone by the sync worker for `hold_ms`, while the caller sends it itself).
    /// Returns the queue id.
    pub(super) async fn transition_queuing(
        &self,
        sale: &mut Sale,
        state: SaleState,
        detail: Option<String>,
        op: Option<(crate::domain::NewOp, i64)>,
    ) -> Result<Option<i64>, StoreError> {
        let previous = sale.state;
        sale.state = state;
        sale.updated_at = Utc::now();
        if state == SaleState::Approved && sale.approved_at.is_none() {
            sale.approved_at = Some(sale.updated_at);
        }
        // A final state frees the terminal for the next sale (a receipt still being
        // printed goes through the printer's own queue). The slot is held across the
        // journal write so nobody sees the final state while the terminal is still busy.
        let mut slot = if state.is_final() { Some(self.active.lock().await) } else { None };
        let queued = match op {
            Some((op, hold_ms)) => Some(self.deps.journal.record_and_enqueue(sale.clone(), detail, op, hold_ms).await?),
            None => {
                self.deps.journal.record(sale.clone(), detail).await?;
                None
            }
        };
        if queued.is_some() {
            self.deps.outbox.wake();
        }
        if let Some(active) = slot.as_mut() {
            if active.as_ref().is_some_and(|(id, _)| *id == sale.id) {
                **active = None;
            }
        }
        drop(slot);
        tracing::info!(state = state.as_str(), "sale state changed");
        if state.is_final() && !previous.is_final() {
            let method =
                serde_json::to_value(sale.method).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let took = (sale.updated_at - sale.created_at).to_std().unwrap_or_default();
            self.deps.metrics.sale_finished(&method, state.as_str(), took);
        }
        let _ = self.events.send(sale.view());
        Ok(queued)
    }

    /// Changes a sale after the fact (receipt printed, capture or void queued) on its
    /// journaled record, never on a possibly stale copy; tells subscribers; wakes the
    /// sync worker if an operation was queued. Returns the sale and the queue id.
    pub(super) async fn amend(
        &self,
        sale_id: &str,
        detail: String,
        f: impl FnOnce(&mut Sale) + Send + 'static,
        op: Option<(crate::domain::NewOp, i64)>,
    ) -> Result<(Sale, Option<i64>), StoreError> {
        let change = move |s: &mut Sale| -> Result<(), std::convert::Infallible> {
            f(s);
            Ok(())
        };
        match self.amend_checked(sale_id, detail, change, op).await? {
            Ok(done) => Ok(done),
            Err(never) => match never {},
        }
    }

    /// [`Self::amend`] with a check on the journaled record in the same transaction:
    /// `f` may refuse the change (nothing is written, nothing queued).
    pub(super) async fn amend_checked<E: Send + 'static>(
        &self,
        sale_id: &str,
        detail: String,
        f: impl FnOnce(&mut Sale) -> Result<(), E> + Send + 'static,
        op: Option<(crate::domain::NewOp, i64)>,
    ) -> Result<Result<(Sale, Option<i64>), E>, StoreError> {
        let (sale, queued) = match self.deps.journal.amend_sale(sale_id.to_string(), detail, Box::new(f), op).await? {
            Ok(done) => done,
            Err(refused) => return Ok(Err(refused)),
        };
        if queued.is_some() {
            self.deps.outbox.wake();
        }
        let _ = self.events.send(sale.view());
        Ok(Ok((sale, queued)))
    }

    /// Shows `screen` if sale `sale_id` still owns the display. Holding the owner while the
    /// screen goes up orders it before the next sale's first screen.
    pub(super) async fn show_for(&self, sale_id: &str, screen: Screen) -> Result<(), crate::devices::DeviceError> {
        let owner = self.display_owner.lock().await;
        if owner.as_deref() != Some(sale_id) {
            tracing::debug!(sale_id, "screen of a sale that no longer owns the display dropped");
            return Ok(());
        }
        self.deps.display.show(screen).await
    }

    /// Remembers Klarna's wording asked for in the store's locale, for the idle screen.
    pub(super) fn remember_wording(&self, d: &posagent_acquirer_api::PaymentOption) {
        self.idle_wording.remember(d);
    }

    /// Klarna's badge of `d` if it has been fetched; asks for it in the background
    /// otherwise (or when it is due for revalidation). Never waits.
    pub(super) fn badge(&self, d: &posagent_acquirer_api::PaymentOption) -> Option<crate::screens::Badge> {
        self.deps.badges.want(&d.icon.badge_image_url);
        self.deps.badges.get(&d.icon.badge_image_url)
    }

    pub(super) fn idle_wording(&self) -> &super::idle::IdleWording {
        &self.idle_wording
    }

    /// Shows the idle screen if no sale is on the terminal; whether it did.
    pub(super) async fn show_idle(&self, screen: Screen) -> bool {
        // Holding the slot while the screen goes up orders a sale started meanwhile after it.
        let active = self.active.lock().await;
        if active.is_some() {
            return false;
        }
        let owner = self.display_owner.lock().await;
        if owner.is_some() {
            return false;
        }
        let shown = self.deps.display.show(screen).await.is_ok();
        drop(owner);
        drop(active);
        shown
    }
}

/// Marks the receipt as printed.
pub(super) fn receipt_printed(sale: &mut Sale) {
    sale.receipt_printed = true;
    sale.receipt_error = None;
}

async fn run_sale(inner: Arc<Inner>, mut sale: Sale, cancel: CancellationToken) {
    let Err(e) = super::run::drive(&inner, &mut sale, &cancel).await else { return };
    tracing::error!(error = %e, "sale failed");
    if sale.state.is_final() {
        return;
    }
    let failed = Input::Failed { reason: e.reason(), error: e.to_string() };
    // A row lacking what its stage owns fails all the same.
    let stage = sale.stage().unwrap_or(crate::domain::Stage::Created);
    let facts = super::run::facts(&inner, &sale, &cancel);
    let Step { transition: Some(t), acts } = super::machine::step(&stage, facts, failed) else { return };
    // The error screen goes up first: the journal may be what failed.
    let previous = sale.state;
    sale.enter(&t.stage);
    sale.state = previous;
    if acts.contains(&Act::Show(View::Error)) {
        let _ = inner.show_for(&sale.id, super::flow::error_screen(&sale)).await;
    }
    // The terminal stays busy until the failure is journaled (a full disk, say): selling
    // on without a journal would break the promise to record every change.
    while let Err(e2) = inner.transition(&mut sale, t.stage.state(), t.detail.clone()).await {
        tracing::error!(error = %e2, "cannot journal the failure; retrying — free disk space or fix the data directory");
        tokio::select! {
            () = inner.deps.shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}
