//! AES DUKPT key derivation per ANSI X9.24-3-2017 for AES-128 keys: the initial key from
//! the BDK, the transaction (derivation) key of a KSN, working keys, and KSN helpers.

use super::KeyUsage;
use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

/// Key usage indicator of the initial-key derivation (X9.24-3 §6.3.2, table 2).
const USAGE_INITIAL_KEY: u16 = 0x8001;
/// Key usage indicator of an intermediate derivation key.
const USAGE_DERIVATION: u16 = 0x8000;
/// Algorithm indicator for AES-128.
const ALGORITHM_AES128: u16 = 0x0002;
/// Length of the derived key in bits.
const LENGTH_AES128: u16 = 0x0080;

/// The highest transaction counter a device may use (X9.24-3 §6.1: 2^32 − 2^16).
pub const MAX_COUNTER: u32 = 0xFFFF_0000;

impl KeyUsage {
    /// The X9.24-3 key usage indicator.
    pub fn indicator(self) -> u16 {
        match self {
            KeyUsage::PinEncryption => 0x1000,
            KeyUsage::DataEncrypt => 0x3000,
        }
    }
}

/// AES-128 ECB encryption of one block.
pub(super) fn aes_encrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let mut b = GenericArray::clone_from_slice(block);
    cipher.encrypt_block(&mut b);
    b.into()
}

/// One derivation (X9.24-3 §6.3.1): the derivation data block — version 0x01, key block
/// counter 0x01, key usage, algorithm, length, then 8 bytes of KSN data — enciphered under
/// `key`. An AES-128 key needs a single block.
fn derive(key: &[u8; 16], usage: u16, ksn_data: &[u8; 8]) -> [u8; 16] {
    let mut data = [0u8; 16];
    data[0] = 0x01;
    data[1] = 0x01;
    data[2..4].copy_from_slice(&usage.to_be_bytes());
    data[4..6].copy_from_slice(&ALGORITHM_AES128.to_be_bytes());
    data[6..8].copy_from_slice(&LENGTH_AES128.to_be_bytes());
    data[8..16].copy_from_slice(ksn_data);
    aes_encrypt_block(key, &data)
}

/// Derivation ID (the Initial Key ID's right half) ‖ counter, as derivation data.
fn ksn_data(ksn: &[u8; 12], counter: u32) -> [u8; 8] {
    let mut d = [0u8; 8];
    d[..4].copy_from_slice(&ksn[4..8]);
    d[4..].copy_from_slice(&counter.to_be_bytes());
    d
}

/// The transaction counter of a KSN.
pub fn counter(ksn: &[u8; 12]) -> u32 {
    u32::from_be_bytes([ksn[8], ksn[9], ksn[10], ksn[11]])
}

/// Whether a KSN's counter is one a device may use: not 0 (that is the initial KSN),
/// at most 16 bits set, not above [`MAX_COUNTER`] (X9.24-3 §6.1).
pub fn counter_is_valid(ksn: &[u8; 12]) -> bool {
    let c = counter(ksn);
    c != 0 && c.count_ones() <= 16 && c <= MAX_COUNTER
}

/// The next KSN a device uses after `ksn`, skipping counters with more than 16 bits set;
/// `None` once the counter space is exhausted. Start from the counter-0 KSN
/// (Initial Key ID ‖ 00000000) to get the first transaction's KSN.
pub fn next_ksn(ksn: &[u8; 12]) -> Option<[u8; 12]> {
    let mut c = counter(ksn).checked_add(1)?;
    while c.count_ones() > 16 {
        // Adding the lowest set bit clears a run of ones; plain +1 would crawl.
        c = c.checked_add(c & c.wrapping_neg())?;
    }
    if c > MAX_COUNTER {
        return None;
    }
    let mut next = *ksn;
    next[8..].copy_from_slice(&c.to_be_bytes());
    Some(next)
}

/// The initial key (IK) of a device: usage 0x8001 over the full Initial Key ID.
pub(super) fn initial_key(bdk: &[u8; 16], initial_key_id: &[u8; 8]) -> [u8; 16] {
    derive(bdk, USAGE_INITIAL_KEY, initial_key_id)
}

/// The transaction (derivation) key of `ksn`: starting from the IK, one usage-0x8000
/// derivation per set counter bit, from the most significant down, each over the
/// counter bits set so far.
pub(super) fn transaction_key(initial_key: &[u8; 16], ksn: &[u8; 12]) -> [u8; 16] {
    let tc = counter(ksn);
    let mut key = *initial_key;
    let mut so_far = 0u32;
    for bit in (0..32).rev() {
        let mask = 1u32 << bit;
        if tc & mask != 0 {
            so_far |= mask;
            key = derive(&key, USAGE_DERIVATION, &ksn_data(ksn, so_far));
        }
    }
    key
}

/// A working key of `ksn`, derived from its transaction key over derivation ID ‖ counter.
pub(super) fn working_key(initial_key: &[u8; 16], ksn: &[u8; 12], usage: KeyUsage) -> [u8; 16] {
    let tk = transaction_key(initial_key, ksn);
    derive(&tk, usage.indicator(), &ksn_data(ksn, counter(ksn)))
}

#[cfg(test)]
pub(super) mod tests {
    //! Expected values: ANSI X9.24-3-2017 Supplement test vectors for the AES-128 BDK
    //! (BDK FEDCBA9876543210F1F1F1F1F1F1F1F1, Initial Key ID 1234567890123456), as
    //! transcribed with page references in Leon Lynch's openemv/dukpt library,
    //! `test/dukpt_aes128_test.c` (github.com/openemv/dukpt, commit 1d01dda).

    use super::*;
    use crate::card_crypto::{TEST_BDK, TEST_INITIAL_KEY_ID};

    /// Hex → bytes.
    pub fn hexv(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{s}: {e}")))
            .collect()
    }

    /// Hex → a fixed-size array, for the vectors below.
    pub fn hex<const N: usize>(s: &str) -> [u8; N] {
        hexv(s).try_into().unwrap_or_else(|v: Vec<u8>| panic!("{s}: {} bytes, not {N}", v.len()))
    }

    /// The KSN of the test Initial Key ID with `counter`.
    pub fn ksn(counter: u32) -> [u8; 12] {
        let mut k = [0u8; 12];
        k[..8].copy_from_slice(&TEST_INITIAL_KEY_ID);
        k[8..].copy_from_slice(&counter.to_be_bytes());
        k
    }

    /// Supplement: Initial Key (IK).
    pub const IK: &str = "1273671EA26AC29AFA4D1084127652A1";

    /// Supplement, counters 1–8 (page 2): transaction/derivation key, PIN encryption key,
    /// data encryption (encrypt) key.
    pub const FIRST_EIGHT: [(u32, &str, &str, &str); 8] = [
        (1, "4F21B565BAD9835E112B6465635EAE44", "AF8CB133A78F8DC2D1359F18527593FB", "A35C412EFD41FDB98B69797C02DCD08F"),
        (2, "2F34D68DE10F68D38091A73B9E7C437C", "D30BDC73EC9714B000BEC66BDB7B6D09", "D639514AA33AC43AD9229E433D6D4E5B"),
        (3, "031504E530365CF81264238540518318", "7D69F01F3B45449F62C7816ECE723268", "EF17F6AB45B4820C93A3DCB21BC491AD"),
        (4, "0EEFC7ADA628BA68878DA9165A8A1887", "91A0588318EC2673214271F70137896E", "B3BD44C08BB6BA27C3BB4711D7D70387"),
        (5, "C2A7AC328A5DA2D6002D62465BFC028B", "35A43BC9EFEB09C756204B57E3FB7D4D", "CA02DF6F30B39E14BD0B4A30E460920F"),
        (6, "D30F7D9351DA58448A2F5E92B4EE3B7D", "02DCC6CD1201A3A2CA7099559C862123", "C9B8A7C4E486180B2229115164F0B293"),
        (7, "A8253CEED9AC042C54F75D35C8352278", "6ECF912F3B18CA11A7A27BB60705FD09", "0FA8F1F0A2DD7B1005A862D77CDED698"),
        (8, "718EE6CF0B27E53D5F7AF99C4D8146A2", "4D9DF3FBEE3448FC3E676D04320A90F5", "650F34204ABD4E57764D61AC3D266FB1"),
    ];

    /// Supplement, transaction keys at the 0x1FFFE/0x20000 boundary (page 5) and of the
    /// last four counters (page 6).
    pub const LATER_TXN_KEYS: [(u32, &str); 7] = [
        (0x0001_FFFE, "E21E8C8D347F8561A2BE752DAA85A111"),
        (0x0002_0000, "F7AE9025468A25D37B7249CFFED224C8"),
        (0x0002_0001, "692C8EA4013645135B36497131DF9D2C"),
        (0xFFFE_2000, "48E585B694EB0B18D5C35443E163C0BA"),
        (0xFFFE_4000, "396C2C7CA1EA701C03B86B7D41F0C562"),
        (0xFFFE_8000, "0387625F189B58AE03EF0E8CCA41105E"),
        (0xFFFF_0000, "F6BA59389BD14A9855BE9727E7C52E3C"),
    ];

    #[test]
    fn initial_key_matches_x9_24_3_supplement() {
        assert_eq!(initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID), hex::<16>(IK));
    }

    #[test]
    fn transaction_and_working_keys_match_supplement_for_counters_1_to_8() {
        let ik = hex::<16>(IK);
        for (tc, txn, pin, data) in FIRST_EIGHT {
            assert_eq!(transaction_key(&ik, &ksn(tc)), hex::<16>(txn), "transaction key, counter {tc}");
            assert_eq!(working_key(&ik, &ksn(tc), KeyUsage::PinEncryption), hex::<16>(pin), "PIN key, counter {tc}");
            assert_eq!(working_key(&ik, &ksn(tc), KeyUsage::DataEncrypt), hex::<16>(data), "data key, counter {tc}");
        }
    }

    #[test]
    fn transaction_keys_match_supplement_for_later_counters() {
        let ik = hex::<16>(IK);
        for (tc, txn) in LATER_TXN_KEYS {
            assert_eq!(transaction_key(&ik, &ksn(tc)), hex::<16>(txn), "transaction key, counter {tc:#x}");
        }
    }

    #[test]
    fn ksns_advance_like_the_supplement_lists_them() {
        // The supplement's first KSNs are counters 1..=8 from the initial KSN.
        let mut k = ksn(0);
        for tc in 1..=8 {
            k = next_ksn(&k).unwrap_or_else(|| panic!("no KSN after counter {}", tc - 1));
            assert_eq!(k, ksn(tc));
        }
        // 0x1FFFF has 17 bits set: after 0x1FFFE comes 0x20000 (the supplement lists
        // 0x1FFFF but notes it is not a valid transaction counter).
        assert_eq!(next_ksn(&ksn(0x0001_FFFE)), Some(ksn(0x0002_0000)));
        assert!(!counter_is_valid(&ksn(0x0001_FFFF)));
        // The last four counters of the supplement, and nothing after the last.
        assert_eq!(next_ksn(&ksn(0xFFFE_2000)), Some(ksn(0xFFFE_4000)));
        assert_eq!(next_ksn(&ksn(0xFFFE_4000)), Some(ksn(0xFFFE_8000)));
        assert_eq!(next_ksn(&ksn(0xFFFE_8000)), Some(ksn(0xFFFF_0000)));
        assert_eq!(next_ksn(&ksn(0xFFFF_0000)), None);
        assert!(!counter_is_valid(&ksn(0)));
        assert!(counter_is_valid(&ksn(0xFFFF_0000)));
    }
}
