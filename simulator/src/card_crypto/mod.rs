//! Card cryptography of the card-reader protocol v2 (docs/card-reader-protocol.md §6),
//! for the simulated reader (encrypting) and the simulated acquirer (decrypting):
//! AES DUKPT per ANSI X9.24-3-2017 (AES-128), card data in AES-128-CBC, PIN blocks in
//! ISO 9564-1 format 4, and the EMV BER-TLV inside the card data.
//!
//! posagent itself never decrypts anything: this module lives in the simulator only.
//!
//! Files: `dukpt.rs` (key derivation, KSN counter), `card_data.rs` (CBC and padding),
//! `pin_block.rs` (format 4), `emv_tlv.rs` (BER-TLV, BCD), `acquirer.rs` (the simulated
//! acquirer's check of a card read, [`verify_card_read`]).

mod acquirer;
mod card_data;
mod dukpt;
mod emv_tlv;
mod pin_block;

mod sample;
pub use acquirer::{CardReadRefusal, TEST_BDK_ID, bdk_for_id, currency_numeric, verify_card_read};
pub use dukpt::{MAX_COUNTER, counter_is_valid, next_ksn};
pub use emv_tlv::{cn as emv_cn, n as emv_n};
pub use sample::sample_card_data;

/// The test BDK of ANSI X9.24-3-2017's published examples (simulator and certification only).
pub const TEST_BDK: [u8; 16] =
    [0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1];
/// The test Initial Key ID (BDK ID 12345678, derivation ID 90123456).
pub const TEST_INITIAL_KEY_ID: [u8; 8] = [0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56];

/// A card-crypto failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Something did not decode; the text says what.
    #[error("{0}")]
    Invalid(&'static str),
}

impl CryptoError {
    /// What went wrong, as a fixed text (never card data).
    pub fn reason(&self) -> &'static str {
        match self {
            CryptoError::Invalid(why) => why,
        }
    }
}

/// Working-key usage (X9.24-3 key usage indicator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsage {
    /// 0x1000 PIN encryption.
    PinEncryption,
    /// 0x3000 data encryption, encrypt.
    DataEncrypt,
}

/// What the simulated reader encrypts for one read. Its `Debug` hides the PAN, the PIN
/// and the plaintext.
#[derive(Clone)]
pub struct PlainRead {
    /// The clear PAN (digits).
    pub pan: String,
    /// EMV BER-TLV plaintext (5A, 5F24, 9F02, 5F2A, …), built with [`emv_tlv`].
    pub emv_tlv: Vec<u8>,
    /// The PIN the customer typed, if any (online PIN).
    pub pin: Option<String>,
}

/// A read as the acquirer decrypts it. Its `Debug` hides the PAN, the PIN and the tags.
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptedRead {
    /// The clear PAN from tag 5A.
    pub pan: String,
    /// Amount authorised (9F02), minor units.
    pub amount: u64,
    /// Transaction currency code (5F2A), ISO 4217 numeric.
    pub currency_numeric: u16,
    /// The clear PIN, when a PIN block came with the read.
    pub pin: Option<String>,
    /// All EMV tags of the plaintext (tag bytes as hex, e.g. "9F02", → value).
    pub tags: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for PlainRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainRead")
            .field("pan", &"<redacted>")
            .field("emv_tlv", &format_args!("<{} bytes>", self.emv_tlv.len()))
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for DecryptedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptedRead")
            .field("pan", &"<redacted>")
            .field("amount", &self.amount)
            .field("currency_numeric", &self.currency_numeric)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("tags", &format_args!("<{} tags>", self.tags.len()))
            .finish()
    }
}

/// Most card data tag 0x03 carries (§4.1).
pub const MAX_CARD_DATA: usize = 512;

/// The initial key (IK) of a reader: AES-128 BDK + Initial Key ID.
pub fn initial_key(bdk: &[u8; 16], initial_key_id: &[u8; 8]) -> [u8; 16] {
    dukpt::initial_key(bdk, initial_key_id)
}

/// A working key for the transaction `ksn` (12 bytes), from the reader's initial key.
/// The KSN's counter is not checked here (see [`counter_is_valid`]);
/// [`encrypt_read`] and [`decrypt_read`] refuse an invalid one.
pub fn working_key(initial_key: &[u8; 16], ksn: &[u8; 12], usage: KeyUsage) -> [u8; 16] {
    dukpt::working_key(initial_key, ksn, usage)
}

fn check_counter(ksn: &[u8; 12]) -> Result<(), CryptoError> {
    if dukpt::counter_is_valid(ksn) {
        Ok(())
    } else {
        Err(CryptoError::Invalid("KSN transaction counter is 0, has more than 16 bits set or is past FFFF0000"))
    }
}

/// Reader side: encrypts one read under the transaction `ksn`; returns (encrypted card
/// data, PIN block if a PIN was given).
///
/// The plaintext is encrypted as given (it is not checked, so a simulated reader can
/// send a faulty read); the PIN block is made with `read.pan`, which must be the PAN of
/// tag 5A since the acquirer decodes the block with that. Refused: a KSN counter a
/// reader may not use, card data over 512 bytes once encrypted, a PIN that is not 4–12
/// digits, a PAN that is not 1–19 digits.
pub fn encrypt_read(
    initial_key: &[u8; 16],
    ksn: &[u8; 12],
    read: &PlainRead,
) -> Result<(Vec<u8>, Option<[u8; 16]>), CryptoError> {
    check_counter(ksn)?;
    let data_key = dukpt::working_key(initial_key, ksn, KeyUsage::DataEncrypt);
    let card_data = card_data::encrypt(&data_key, &read.emv_tlv);
    if card_data.len() > MAX_CARD_DATA {
        return Err(CryptoError::Invalid("card data is over 512 bytes encrypted"));
    }
    let pin_block = match &read.pin {
        Some(pin) => {
            let pin_key = dukpt::working_key(initial_key, ksn, KeyUsage::PinEncryption);
            Some(pin_block::encrypt(&pin_key, pin, &read.pan)?)
        }
        None => None,
    };
    Ok((card_data, pin_block))
}

/// Acquirer side: derives the keys from the BDK and KSN and decrypts the card data and
/// the PIN block.
///
/// Refused with [`CryptoError::Invalid`]: a KSN counter a reader may not use; card data
/// that is not 16–512 bytes in whole blocks, or whose padding is wrong (a wrong key or
/// tampered data, almost always); a plaintext that is not valid EMV TLV, gives a tag
/// twice, or lacks 5A (12–19 digits), 9F02 (n12, 6 bytes) or 5F2A (n3, 2 bytes); a PIN
/// block that is not 16 bytes or does not decode as format 4 with the PAN of 5A.
pub fn decrypt_read(
    bdk: &[u8; 16],
    ksn: &[u8; 12],
    card_data: &[u8],
    pin_block: Option<&[u8]>,
) -> Result<DecryptedRead, CryptoError> {
    check_counter(ksn)?;
    let ik = initial_key_of(bdk, ksn);
    let mut read = decrypt_card_data(&ik, ksn, card_data)?;
    if let Some(block) = pin_block {
        read.pin = Some(decrypt_pin(&ik, ksn, block, &read.pan)?);
    }
    Ok(read)
}

/// The initial key of the reader that made `ksn` (its first 8 bytes are the Initial Key ID).
fn initial_key_of(bdk: &[u8; 16], ksn: &[u8; 12]) -> [u8; 16] {
    let mut ikid = [0u8; 8];
    ikid.copy_from_slice(&ksn[..8]);
    dukpt::initial_key(bdk, &ikid)
}

/// Decrypts and reads the card data; `pin` is left `None`.
fn decrypt_card_data(ik: &[u8; 16], ksn: &[u8; 12], card_data: &[u8]) -> Result<DecryptedRead, CryptoError> {
    if !(16..=MAX_CARD_DATA).contains(&card_data.len()) {
        return Err(CryptoError::Invalid("card data is not 16 to 512 bytes"));
    }
    let data_key = dukpt::working_key(ik, ksn, KeyUsage::DataEncrypt);
    let plain = card_data::decrypt(&data_key, card_data)?;
    read_plaintext(&plain)
}

/// Decrypts a PIN block of the read whose PAN (from 5A) is `pan`.
fn decrypt_pin(ik: &[u8; 16], ksn: &[u8; 12], block: &[u8], pan: &str) -> Result<String, CryptoError> {
    let pin_key = dukpt::working_key(ik, ksn, KeyUsage::PinEncryption);
    pin_block::decrypt(&pin_key, block, pan)
}

/// Reads 5A, 9F02 and 5F2A (and keeps every tag) from the card data plaintext.
fn read_plaintext(plain: &[u8]) -> Result<DecryptedRead, CryptoError> {
    let items = emv_tlv::primitives(plain)?;
    let get = |tag: &[u8], missing: &'static str| {
        items.iter().find(|t| t.tag == tag).map(|t| t.value).ok_or(CryptoError::Invalid(missing))
    };
    let pan = emv_tlv::decode_cn(get(&[0x5A], "card data has no PAN (5A)")?)?;
    if !(12..=19).contains(&pan.len()) {
        return Err(CryptoError::Invalid("PAN (5A) is not 12 to 19 digits"));
    }
    let amount = get(&[0x9F, 0x02], "card data has no amount authorised (9F02)")?;
    if amount.len() != 6 {
        return Err(CryptoError::Invalid("amount authorised (9F02) is not n12 in 6 bytes"));
    }
    let currency = get(&[0x5F, 0x2A], "card data has no transaction currency code (5F2A)")?;
    if currency.len() != 2 {
        return Err(CryptoError::Invalid("transaction currency code (5F2A) is not n3 in 2 bytes"));
    }
    let currency_numeric = u16::try_from(emv_tlv::decode_n(currency)?)
        .ok()
        .filter(|&c| c <= 999)
        .ok_or(CryptoError::Invalid("transaction currency code (5F2A) is over 999"))?;
    Ok(DecryptedRead {
        pan,
        amount: emv_tlv::decode_n(amount)?,
        currency_numeric,
        pin: None,
        tags: items.iter().map(|t| (emv_tlv::hex_upper(t.tag), t.value.to_vec())).collect(),
    })
}

/// Builds EMV BER-TLV from (tag, value) pairs, tags given as bytes (e.g. `&[0x9F, 0x02]`).
/// Lengths take the short form below 128, else 0x81 / 0x82 / … with the fewest bytes.
/// Use [`emv_n`] and [`emv_cn`] for numeric values (9F02, 5F2A; 5A).
pub fn emv_tlv(items: &[(&[u8], &[u8])]) -> Vec<u8> {
    emv_tlv::build(items)
}

#[cfg(test)]
mod tests;
