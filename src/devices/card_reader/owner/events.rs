//! How the owner thread takes what the reader sends: events of the payment's own
//! transaction move it on, everything else is discarded and counted; STATUS, ERROR and
//! IDLE as docs/card-reader-protocol.md §3.1 and §5 say.

use super::{Owner, REENABLE_PAUSE};
use crate::devices::card_reader::{CardWaitError, ReaderNotice, TakenRead};
use crate::devices::set_fault;
use posagent_drivers::card_reader::{
    CardRead, EntryMode, ErrorClass, ErrorCode, Event, IdleReason, Inbound, ReaderState, evt,
};
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Owner {
    fn discard(&self, what: &str, txn: u32) {
        self.counters.discarded.fetch_add(1, Ordering::Relaxed);
        let open = self.current_txn().unwrap_or(0);
        tracing::info!(txn, open, "card reader {what} discarded: not for the payment in progress");
    }

    pub(super) fn dispatch(&mut self, inbound: Inbound) {
        let event = match inbound {
            Inbound::Event(e) => e,
            Inbound::Invalid(e) => {
                tracing::warn!(error = %e, "card reader sent a frame that breaks the protocol");
                if e.code == evt::CARD_READ && self.current_txn() == Some(e.txn) && e.txn != 0 {
                    self.end_active(CardWaitError::InvalidRead(e.why.to_string()));
                } else {
                    self.discard("invalid frame", e.txn);
                }
                return;
            }
        };
        match event {
            Event::Status { state, txn, fault } => self.on_status(state, txn, fault),
            Event::Error { txn, code, text } => self.on_error(txn, code, text),
            Event::Idle { txn, reason } => self.on_idle(txn, reason),
            Event::CardRead { txn, read } if self.current_txn() == Some(txn) => {
                let canceled = self.active.as_ref().is_some_and(|a| a.job.cancel.load(Ordering::SeqCst));
                if canceled {
                    // The read crossed the cashier's cancel: the reader forgets it.
                    self.discard("card read crossing the cancel", txn);
                    return self.end_active(CardWaitError::Canceled);
                }
                if let Some(why) = self.read_breaks_its_transaction(&read) {
                    tracing::warn!(txn, why, "card read refused: it does not fit its transaction");
                    return self.end_active(CardWaitError::InvalidRead(why.to_string()));
                }
                tracing::info!(txn, masked_pan = %read.masked_pan, entry_mode = read.entry_mode.as_str(), "card read");
                self.delivered = Some(txn);
                self.finish(Ok(TakenRead { txn, read }));
            }
            Event::CardPresented { txn, mode } if self.current_txn() == Some(txn) => {
                if let Some(a) = self.active.as_mut() {
                    a.presented = Some(mode);
                }
                self.notify(ReaderNotice::CardPresented);
            }
            Event::CardRead { txn, .. } => self.discard("card read", txn),
            Event::CardPresented { txn, .. } | Event::CardRemoved { txn } => self.discard_quietly(txn),
            // INFO unasked: the reader restarted and forgot the payment's transaction.
            Event::Info(info) => self.pin_pad = info.has_pin_pad(),
            _ => self.discard("event", 0),
        }
    }

    /// Why a read of the open transaction breaks what its ENABLE and CARD_PRESENTED said
    /// (§3.2, §4.1), if it does.
    fn read_breaks_its_transaction(&self, read: &CardRead) -> Option<&'static str> {
        let a = self.active.as_ref()?;
        if a.presented.is_some_and(|m| m != read.entry_mode) {
            return Some("its entry mode is not the one CARD_PRESENTED gave");
        }
        if a.job.request.pin && (read.entry_mode != EntryMode::Chip || read.pin_block.is_none()) {
            return Some("the PIN was asked for: only a chip read with a PIN block");
        }
        if a.job.request.no_swipe && read.entry_mode == EntryMode::Swipe {
            return Some("a swipe was refused in the ENABLE");
        }
        None
    }

    /// The reader announced a restart (INFO with SEQ 1): it forgot the payment's
    /// transaction, which is opened again.
    pub(super) fn on_restart(&mut self) {
        if let Some(a) = self.active.as_mut().filter(|a| a.enabled && a.ending.is_none()) {
            tracing::warn!(txn = a.txn, "the card reader restarted; enabling it again");
            a.enabled = false;
        }
    }

    fn discard_quietly(&self, txn: u32) {
        if self.current_txn() != Some(txn) {
            self.counters.discarded.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(txn, "card reader event of another transaction discarded");
        }
    }

    fn notify(&self, notice: ReaderNotice) {
        if let Some(a) = &self.active {
            let _ = a.job.notices.try_send(notice);
        }
    }

    fn on_status(&mut self, state: ReaderState, txn: u32, fault: u8) {
        let fault = (fault != 0).then(|| format!("out of service: {}", ErrorCode(fault)));
        set_fault(&self.health, fault);
        self.pings_unanswered = self.pings_unanswered.saturating_sub(1);
        if let Some(a) = self.active.as_mut().filter(|a| a.stale_status > 0) {
            a.stale_status -= 1;
            return;
        }
        self.cancel_orphan(state, txn);
        // The reader no longer knows the payment's transaction (it restarted, or a read
        // it could not deliver was dropped): a new transaction asks for the card again.
        if let Some(cur) = self.current_txn() {
            if txn != cur && !matches!(state, ReaderState::OutOfService) {
                tracing::warn!(
                    txn = cur,
                    reader_txn = txn,
                    "the card reader lost the payment's transaction; enabling it again"
                );
                if let Some(a) = self.active.as_mut() {
                    a.enabled = false;
                }
            }
        }
    }

    /// A transaction the reader still has open that no payment owns (its ENABLE went
    /// through but the answer was lost, or the host gave up waiting for its IDLE): it is
    /// canceled, so the reader does not show a stale amount or take a card for nobody.
    fn cancel_orphan(&mut self, state: ReaderState, txn: u32) {
        let owned = self.active.as_ref().is_some_and(|a| a.txn == txn)
            || self.delivered == Some(txn)
            || self.completing.as_ref().is_some_and(|(t, _, _)| *t == txn);
        if txn == 0
            || owned
            || !matches!(state, ReaderState::Waiting | ReaderState::PinEntry | ReaderState::ReadDelivered)
        {
            return;
        }
        tracing::warn!(txn, "the card reader has a transaction no payment owns; canceling it");
        if let Some(r) = self.link.driver() {
            if let Err(e) = r.cancel(txn) {
                self.link_failed(e);
            }
        }
    }

    fn on_error(&mut self, txn: u32, code: ErrorCode, text: String) {
        let text = scrubbed(&text);
        let ours = txn != 0 && self.current_txn() == Some(txn);
        match code.class() {
            ErrorClass::OutOfService => {
                set_fault(&self.health, Some(format!("out of service: {code}: {text}")));
                if ours || self.current_txn().is_some() {
                    self.end_active(CardWaitError::ReaderFailed { code, text });
                }
            }
            _ if !ours => {
                tracing::info!(txn, %code, text = %text, "card reader error discarded: not for the payment in progress");
                self.counters.discarded.fetch_add(1, Ordering::Relaxed);
            }
            ErrorClass::Retryable => {
                tracing::info!(txn, %code, "card read failed; the customer is asked to try again");
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                self.notify(ReaderNotice::TryAgain(code));
            }
            // The reader has ended the transaction itself (IDLE FAILED follows).
            ErrorClass::EndsTransaction if matches!(code.0, 0x10..=0x12) => {
                self.finish(Err(CardWaitError::EndedAtReader(code)));
            }
            ErrorClass::EndsTransaction | ErrorClass::CommandRefused => {
                tracing::warn!(txn, %code, text = %text, "the card reader cannot take this payment");
                self.finish(Err(CardWaitError::ReaderFailed { code, text }));
            }
        }
    }

    fn on_idle(&mut self, txn: u32, reason: IdleReason) {
        self.settle_verdict(Some((txn, reason)));
        let Some(a) = self.active.as_mut() else { return };
        if txn != a.txn || !a.enabled {
            return;
        }
        if a.ending.is_some() {
            return self.finish_ending();
        }
        match reason {
            IdleReason::TimedOut => self.finish(Err(CardWaitError::TimedOut)),
            IdleReason::Failed => self.finish(Err(CardWaitError::ReaderFailed {
                code: ErrorCode(0),
                text: "the reader ended the transaction without saying why".into(),
            })),
            // The customer pressed cancel on the reader.
            IdleReason::Canceled => self.finish(Err(CardWaitError::CanceledAtReader)),
            IdleReason::Superseded | IdleReason::HostLost | IdleReason::NotOpen => {
                // The reader lost the transaction (it heard nothing, or another ENABLE):
                // the payment goes on under a new one, after a pause, while time remains.
                tracing::warn!(txn, reason = ?reason, "the card reader ended the transaction; enabling it again");
                a.enabled = false;
                self.next_enable = Instant::now() + REENABLE_PAUSE;
            }
            other => self.finish(Err(CardWaitError::ReaderFailed {
                code: ErrorCode(0),
                text: format!("the reader ended the transaction unexpectedly ({other:?})"),
            })),
        }
    }
}

/// The reader's free text with every run of 12 or more digits masked: a faulty reader
/// must not get a card number into the log or `/health`.
fn scrubbed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |out: &mut String, digits: &mut String| {
        if digits.len() >= 12 {
            out.push_str(&"*".repeat(digits.len()));
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut out, &mut digits);
            out.push(c);
        }
    }
    flush(&mut out, &mut digits);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn card_numbers_in_reader_text_are_masked() {
        assert_eq!(super::scrubbed("bad 4111111111111111 v2.4"), "bad **************** v2.4");
        assert_eq!(super::scrubbed("code 12345678901"), "code 12345678901");
    }
}
