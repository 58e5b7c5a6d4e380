//! Card cryptography of the card-reader protocol v2 (docs/card-reader-protocol.md §6),
//! for the simulated reader (encrypting) and the simulated acquirer (decrypting):
//! AES DUKPT per ANSI X9.24-3-2017 (AES-128), card data in AES-128-CBC, PIN blocks in
//! ISO 9564-1 format 4, and the EMV BER-TLV inside the card data.
//!
//! posagent itself never decrypts anything: this module lives in the simulator only.

/// The test BDK of ANSI X9.24-3-2017's published examples (simulator and certification only).
pub const TEST_BDK: [u8; 16] = [
    0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1,
];
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

/// Working-key usage (X9.24-3 key usage indicator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsage {
    /// 0x1000 PIN encryption.
    PinEncryption,
    /// 0x3000 data encryption, encrypt.
    DataEncrypt,
}

/// What the simulated reader encrypts for one read.
#[derive(Debug, Clone)]
pub struct PlainRead {
    /// The clear PAN (digits).
    pub pan: String,
    /// EMV BER-TLV plaintext (5A, 5F24, 9F02, 5F2A, …), built with [`emv_tlv`].
    pub emv_tlv: Vec<u8>,
    /// The PIN the customer typed, if any (online PIN).
    pub pin: Option<String>,
}

/// A read as the acquirer decrypts it.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The initial key (IK) of a reader: AES-128 BDK + Initial Key ID.
pub fn initial_key(_bdk: &[u8; 16], _initial_key_id: &[u8; 8]) -> [u8; 16] {
    unimplemented!("written by the card-crypto helper")
}

/// A working key for the transaction `ksn` (12 bytes), from the reader's initial key.
pub fn working_key(_initial_key: &[u8; 16], _ksn: &[u8; 12], _usage: KeyUsage) -> [u8; 16] {
    unimplemented!("written by the card-crypto helper")
}

/// Reader side: encrypts one read under the transaction `ksn`; returns (encrypted card
/// data, PIN block if a PIN was given).
pub fn encrypt_read(
    _initial_key: &[u8; 16],
    _ksn: &[u8; 12],
    _read: &PlainRead,
) -> Result<(Vec<u8>, Option<[u8; 16]>), CryptoError> {
    unimplemented!("written by the card-crypto helper")
}

/// Acquirer side: derives the keys from the BDK and KSN and decrypts the card data and
/// the PIN block.
pub fn decrypt_read(
    _bdk: &[u8; 16],
    _ksn: &[u8; 12],
    _card_data: &[u8],
    _pin_block: Option<&[u8]>,
) -> Result<DecryptedRead, CryptoError> {
    unimplemented!("written by the card-crypto helper")
}

/// Builds EMV BER-TLV from (tag, value) pairs, tags given as bytes (e.g. `&[0x9F, 0x02]`).
pub fn emv_tlv(_items: &[(&[u8], &[u8])]) -> Vec<u8> {
    unimplemented!("written by the card-crypto helper")
}
