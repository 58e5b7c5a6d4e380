//! The reads of the reader's state machine: the customer presenting a card, the PIN
//! entry, the EMV plaintext encrypted under the next DUKPT KSN, the CARD_READ sent (or
//! held for a crossing CANCEL), and stray reads on command.

use super::{
    CARD_PRESENTED, CARD_READ, FAILED, FLAG_NO_SWIPE, FLAG_PIN, KEYS_EXHAUSTED, Machine, NOT_WAITING, OUTCOME_TIMEOUT,
    PIN_ENTRY, Phase, USE_CHIP, error, frame,
};
use crate::card_crypto::{CryptoError, PlainRead};
use crate::devices::card_reader::cards::{self, Presentation, ReadFacts, ReadTlv, TestCard};
use crate::devices::card_reader::link::Outgoing;
use std::time::Instant;

/// Builds EMV BER-TLV from (tag, value) pairs.
pub type TlvFn = fn(&[(&[u8], &[u8])]) -> Vec<u8>;
/// Encrypted card data and the PIN block, if any.
pub type Encrypted = (Vec<u8>, Option<[u8; 16]>);
/// Encrypts a read under a KSN.
pub type EncryptFn = fn(&[u8; 12], &PlainRead) -> Result<Encrypted, CryptoError>;

/// Card data and PIN encryption, replaceable in tests.
#[derive(Clone, Copy)]
pub struct Crypto {
    /// Builds EMV BER-TLV.
    pub emv_tlv: TlvFn,
    /// Encrypts a read under a KSN: (card data, PIN block).
    pub encrypt: EncryptFn,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crypto")
    }
}

fn real_encrypt(ksn: &[u8; 12], read: &PlainRead) -> Result<Encrypted, CryptoError> {
    use crate::card_crypto::{TEST_BDK, TEST_INITIAL_KEY_ID, encrypt_read, initial_key};
    static IK: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    encrypt_read(IK.get_or_init(|| initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID)), ksn, read)
}

impl Crypto {
    /// The card_crypto module with the test keys.
    pub fn real() -> Self {
        Crypto { emv_tlv: crate::card_crypto::emv_tlv, encrypt: real_encrypt }
    }
}

/// What the last reads left behind (for tests).
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// CARD_READ events sent (stray ones included).
    pub reads_sent: u64,
    /// KSN of the last read.
    pub last_ksn: Option<[u8; 12]>,
    /// PIN block of the last read that had one.
    pub last_pin_block: Option<[u8; 16]>,
    /// Encrypted card data of the last read.
    pub last_card_data: Option<Vec<u8>>,
}

/// A read made and not yet sent.
#[derive(Debug, Clone)]
pub(super) struct Read {
    pub(super) frame: Outgoing,
    ksn: [u8; 12],
    card_data: Vec<u8>,
    pin_block: Option<[u8; 16]>,
}

impl Machine {
    /// Records a read as sent and gives its frame.
    pub(super) fn sent(&mut self, read: Read) -> Outgoing {
        self.stats.reads_sent += 1;
        self.stats.last_ksn = Some(read.ksn);
        self.stats.last_card_data = Some(read.card_data);
        if read.pin_block.is_some() {
            self.stats.last_pin_block = read.pin_block;
        }
        read.frame
    }

    fn make_read(&mut self, txn: u32, mut facts: ReadFacts) -> Result<Read, CryptoError> {
        self.counter = cards::next_counter(self.counter).ok_or(CryptoError::Invalid("DUKPT keys exhausted"))?;
        facts.atc = (self.counter & 0xFFFF) as u16;
        let ksn = cards::ksn(&crate::card_crypto::TEST_INITIAL_KEY_ID, self.counter);
        let items = cards::emv_items(&facts);
        let pairs: Vec<(&[u8], &[u8])> = items.iter().map(|(t, v)| (t.as_slice(), v.as_slice())).collect();
        let plain = PlainRead {
            pan: facts.card.pan().to_string(),
            emv_tlv: (self.crypto.emv_tlv)(&pairs),
            pin: facts.online_pin.then(|| cards::CUSTOMER_PIN.to_string()),
        };
        let (card_data, pin_block) = (self.crypto.encrypt)(&ksn, &plain)?;
        let masked = facts.card.masked_pan();
        let tlv = cards::read_tlv(&ReadTlv {
            masked_pan: &masked,
            ksn: &ksn,
            card_data: &card_data,
            entry_mode: facts.how.entry_mode(),
            pin_block: pin_block.as_ref(),
            cvm: cards::cvm(facts.how, facts.online_pin, facts.amount),
            application: cards::application(facts.how),
        });
        Ok(Read { frame: frame(CARD_READ, txn, &tlv), ksn, card_data, pin_block })
    }

    fn facts(amount: u32, currency: u16, online_pin: bool, card: TestCard, how: Presentation) -> ReadFacts {
        let date = chrono::Utc::now().format("%y%m%d").to_string();
        ReadFacts { card, how, amount, currency, online_pin, atc: 0, date }
    }

    /// The customer presents `card`. Refused unless a card can be presented now.
    pub fn present(&mut self, card: TestCard, how: Presentation, now: Instant) -> Result<Vec<Outgoing>, &'static str> {
        if self.fault.is_some() {
            return Err("the card reader is out of service");
        }
        if !self.txn.as_ref().is_some_and(|t| t.phase == Phase::Waiting && t.held.is_none()) {
            return Err(NOT_WAITING);
        }
        // A card still in from an ended transaction comes out before this one goes in.
        let mut out = vec![];
        self.take_out(&mut out);
        let t = self.txn.as_mut().ok_or(NOT_WAITING)?;
        out.push(frame(CARD_PRESENTED, t.id, &[how.entry_mode()]));
        let pin = t.flags & FLAG_PIN != 0;
        if (pin && how != Presentation::Insert) || (t.flags & FLAG_NO_SWIPE != 0 && how == Presentation::Swipe) {
            out.push(error(t.id, USE_CHIP, "insert the card"));
            return Ok(out);
        }
        t.card_in = how == Presentation::Insert;
        if pin {
            t.phase = Phase::Pin;
            t.pin_done = Some((now + PIN_ENTRY, card));
            return Ok(out);
        }
        match self.deliver(card, how, now) {
            Ok(o) => out.extend(o),
            Err(e) => {
                tracing::error!(error = %e, "simulated card reader: the read could not be encrypted");
                return Err("the simulated card reader could not encrypt the read");
            }
        }
        Ok(out)
    }

    /// Makes the read of the open transaction and sends it (or holds it, when armed).
    pub(super) fn deliver(
        &mut self,
        card: TestCard,
        how: Presentation,
        now: Instant,
    ) -> Result<Vec<Outgoing>, CryptoError> {
        let Some(t) = self.txn.as_ref() else { return Ok(vec![]) };
        let (id, facts) = (t.id, Self::facts(t.amount, t.numeric, t.flags & FLAG_PIN != 0, card, how));
        if cards::next_counter(self.counter).is_none() {
            let mut out = vec![error(id, KEYS_EXHAUSTED, "DUKPT transaction counter exhausted")];
            self.end(FAILED, now, &mut out);
            self.fault = Some(KEYS_EXHAUSTED);
            return Ok(out);
        }
        let read = self.make_read(id, facts)?;
        let hold = self.armed.hold_read.take();
        let Some(t) = self.txn.as_mut() else { return Ok(vec![]) };
        t.phase = if hold.is_some() { Phase::Waiting } else { Phase::Read };
        if let Some(d) = hold {
            t.held = Some((now + d, read));
            return Ok(vec![]);
        }
        t.outcome_deadline = Some(now + OUTCOME_TIMEOUT);
        Ok(vec![self.sent(read)])
    }

    /// A CARD_READ for a transaction that is not open: `txn`, else the last ended one, else 0.
    pub fn stray_read(&mut self, card: TestCard, txn: Option<u32>) -> Result<Vec<Outgoing>, &'static str> {
        let txn = txn.or(self.last_ended).unwrap_or(0);
        if self.open_txn() == Some(txn) {
            return Err("that transaction is open: a read for it is not stray");
        }
        let (amount, numeric) = self.last_enable.unwrap_or((1000, 752));
        let facts = Self::facts(amount, numeric, false, card, Presentation::Tap);
        let read = self.make_read(txn, facts).map_err(|e| {
            tracing::error!(error = %e, "simulated card reader: the stray read could not be encrypted");
            "the simulated card reader could not encrypt the read"
        })?;
        Ok(vec![self.sent(read)])
    }
}
