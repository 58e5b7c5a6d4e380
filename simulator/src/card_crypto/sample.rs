//! Card reads encrypted as a v2 reader with the test keys makes them, for tests and
//! benchmarks that talk to the simulated acquirer without a reader in between.

use super::{CryptoError, PlainRead, TEST_BDK, TEST_INITIAL_KEY_ID, currency_numeric, emv_cn, emv_n, emv_tlv};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use posagent_acquirer_api::payments::CardData;

/// An encrypted read of `pan` for `amount` minor units of `currency` under transaction
/// counter `counter` (each read needs its own: the acquirer refuses a replayed KSN),
/// with a PIN block when `pin` is given; chip entry.
pub fn sample_card_data(
    pan: &str,
    amount: i64,
    currency: &str,
    pin: Option<&str>,
    counter: u32,
) -> Result<CardData, CryptoError> {
    let numeric = currency_numeric(currency).ok_or(CryptoError::Invalid("unknown currency"))?;
    let amount = u64::try_from(amount).map_err(|_| CryptoError::Invalid("negative amount"))?;
    let (pan_bcd, amount_bcd, currency_bcd) = (emv_cn(pan)?, emv_n(amount, 6)?, emv_n(u64::from(numeric), 2)?);
    let tlv = emv_tlv(&[
        (&[0x5A], &pan_bcd),
        (&[0x5F, 0x24], &[0x28, 0x12, 0x31]),
        (&[0x9F, 0x02], &amount_bcd),
        (&[0x5F, 0x2A], &currency_bcd),
    ]);
    let mut ksn = [0u8; 12];
    ksn[..8].copy_from_slice(&TEST_INITIAL_KEY_ID);
    ksn[8..].copy_from_slice(&counter.to_be_bytes());
    let ik = super::initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
    let read = PlainRead { pan: pan.to_string(), emv_tlv: tlv, pin: pin.map(str::to_string) };
    let (data, pin_block) = super::encrypt_read(&ik, &ksn, &read)?;
    let masked = format!("{}{}{}", &pan[..6], "*".repeat(pan.len().saturating_sub(10)), &pan[pan.len() - 4..]);
    Ok(CardData {
        encrypted_payload: STANDARD.encode(data),
        key_serial_number: ksn.iter().map(|b| format!("{b:02X}")).collect(),
        masked_pan: masked,
        entry_mode: "CHIP".into(),
        pin_block: pin_block.map(|p| STANDARD.encode(p)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_read_verifies_at_the_acquirer() {
        let c = sample_card_data("4111111111111111", 2500, "SEK", Some("1234"), 7).unwrap();
        let read = super::super::verify_card_read(&c, 2500, "SEK").unwrap();
        assert_eq!((read.pan.as_str(), read.pin.as_deref()), ("4111111111111111", Some("1234")));
        assert!(super::super::verify_card_read(&c, 2501, "SEK").is_err(), "another amount");
    }
}
