//! The idle screen between sales: the store's name and Klarna's mark — Klarna's own
//! header for the store's language ("Pay with Klarna"), as the acquirer serves it, never
//! wording of the terminal's. The wording is fetched at start and every few minutes; the
//! mark is taken down while the acquirer is unreachable (Klarna is not offered offline)
//! and put back when it answers again.

use super::engine::{Checkout, Inner};
use crate::screens::Screen;
use posagent_acquirer_api::{AvailabilityQuery, PaymentOption};
use std::sync::Mutex;
use std::time::Duration;

/// How often the idle wording is fetched again (Klarna's wording stays current).
const REFRESH: Duration = Duration::from_secs(600);
/// After a failed fetch, how soon to try again.
const RETRY: Duration = Duration::from_secs(30);

/// Klarna's header and badge URL last served for the store's locale.
#[derive(Default)]
pub(super) struct IdleWording {
    acceptance: Mutex<Option<(String, String)>>,
}

impl IdleWording {
    fn get(&self) -> Option<(String, String)> {
        self.acceptance.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Keeps Klarna's header of wording asked for in the store's locale (the acquirer
    /// may answer with its nearest locale, e.g. de-DE for de-CH).
    pub(super) fn remember(&self, d: &PaymentOption) {
        if !d.header.text.trim().is_empty() {
            *self.acceptance.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((d.header.text.clone(), d.icon.badge_image_url.clone()));
        }
    }
}

/// The idle screen as it should look now.
pub(super) fn idle_screen(inner: &Inner) -> Screen {
    let online = inner.deps.backend.connectivity().is_online();
    let wording = if online { inner.idle_wording().get() } else { None };
    let badges = &inner.deps.badges;
    let badge = wording.as_ref().and_then(|(_, url)| {
        badges.want(url);
        badges.get(url)
    });
    Screen::Idle {
        store_name: inner.deps.store.name.clone(),
        klarna_acceptance: wording.map(|(header, _)| header),
        badge,
        locale: inner.deps.store.locale.clone(),
    }
}

/// An amount to ask about when no sale is on: 100 in the store's currency (within the
/// store's own limit).
fn probe_amount(inner: &Inner) -> i64 {
    let unit = 10_i64.pow(u32::from(inner.deps.store.currency.exponent()));
    (100 * unit).min(inner.deps.limits.max_amount)
}

/// Fetches the wording for the store's locale; whether it could.
async fn fetch(inner: &Inner) -> bool {
    let store = &inner.deps.store;
    let q = AvailabilityQuery {
        country: store.country.clone(),
        currency: store.currency,
        amount: probe_amount(inner),
        locale: store.locale.clone(),
        interoperability_token: None,
    };
    // Offline, the sync worker's probe finds the acquirer back (the watch below then
    // fetches at once); trying here would take the one try allowed to a sale meanwhile.
    if !inner.deps.backend.connectivity().is_online() {
        return false;
    }
    match inner.deps.backend.availability(&q).await {
        Ok(a) => {
            if let Some(d) = a.payment_option {
                inner.idle_wording().remember(&d);
            }
            true
        }
        Err(e) => {
            tracing::debug!(error = %e, "idle wording not fetched");
            false
        }
    }
}

impl Checkout {
    /// Keeps the idle screen's Klarna wording current and in step with connectivity,
    /// redrawing the idle screen when what it should show changes.
    pub(super) fn keep_idle_screen_current(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let inner = self.shared();
        runtime.spawn(async move {
            let mut shown = None;
            let mut connectivity = inner.deps.backend.connectivity().watch();
            let mut badges = inner.deps.badges.subscribe();
            let mut wait = RETRY;
            let mut badge_arrived = false;
            loop {
                connectivity.borrow_and_update();
                badges.borrow_and_update();
                // A badge that arrived only redraws; anything else fetches the wording.
                if !std::mem::take(&mut badge_arrived) {
                    wait = if fetch(&inner).await { REFRESH } else { RETRY };
                }
                let screen = idle_screen(&inner);
                if shown.as_ref() != Some(&screen) {
                    if inner.show_idle(screen.clone()).await {
                        shown = Some(screen);
                    } else {
                        shown = None;
                    }
                }
                tokio::select! {
                    () = inner.deps.shutdown.cancelled() => return,
                    r = connectivity.changed() => if r.is_err() { return },
                    r = badges.changed() => match r {
                        Ok(()) => badge_arrived = true,
                        Err(_) => return,
                    },
                    () = tokio::time::sleep(wait) => {}
                }
            }
        });
    }
}
