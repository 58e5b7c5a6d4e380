//! The simulated acquirer's check of a card read (protocol §6): the KSN picks the BDK,
//! the card data and PIN block are decrypted, and the decrypted PAN, amount and currency
//! must be the authorization's.

use super::{CryptoError, DecryptedRead, TEST_BDK, dukpt};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use posagent_acquirer_api::payments::CardData;

/// BDK ID of [`TEST_BDK`] (the first 4 bytes of its readers' KSNs).
pub const TEST_BDK_ID: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

/// The ISO 4217 numeric code of an alphabetic currency code (upper or lower case).
pub fn currency_numeric(alpha: &str) -> Option<u16> {
    posagent_acquirer_api::Currency::parse(alpha).ok().map(|c| c.numeric()).filter(|n| *n != 0)
}

/// The BDK the simulated acquirer holds for a BDK ID: only the test BDK.
pub fn bdk_for_id(bdk_id: &[u8]) -> Option<&'static [u8; 16]> {
    (bdk_id == TEST_BDK_ID).then_some(&TEST_BDK)
}

/// Why a card read was refused: the request parameter at fault and a fixed text (never
/// card data), ready for a `VALIDATION_ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct CardReadRefusal {
    /// `card.key_serial_number`, `card.encrypted_payload`, `card.pin_block`,
    /// `card.masked_pan`, `amount` or `currency`.
    pub parameter: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn refuse(parameter: &'static str, reason: &'static str) -> CardReadRefusal {
    CardReadRefusal { parameter, reason }
}

fn parse_ksn(hex: &str) -> Option<[u8; 12]> {
    let h = hex.as_bytes();
    if h.len() != 24 {
        return None;
    }
    let mut ksn = [0u8; 12];
    for (byte, pair) in ksn.iter_mut().zip(h.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(ksn)
}

/// Whether `masked` is `pan` masked as §4.1 gives: same length, the first 6 digits (or
/// 8, when the PAN has 16 or more), at least two `*`, the last 4 digits.
fn masked_pan_matches(masked: &str, pan: &str) -> bool {
    let (m, p) = (masked.as_bytes(), pan.as_bytes());
    if m.len() != p.len() || p.len() < 12 {
        return false;
    }
    let lead = m.iter().take_while(|b| b.is_ascii_digit()).count();
    let stars = m[lead..].iter().take_while(|&&b| b == b'*').count();
    let lead_ok = lead == 6 || (lead == 8 && p.len() >= 16);
    lead_ok
        && stars >= 2
        && lead + stars + 4 == m.len()
        && m[..lead] == p[..lead]
        && m[m.len() - 4..] == p[p.len() - 4..]
}

/// Checks a card read against the authorization it came with: decrypts it under the BDK
/// of its KSN's BDK ID (only [`TEST_BDK_ID`] is known), then requires the decrypted PAN
/// to match `card.masked_pan`, 9F02 to equal `amount` (minor units) and 5F2A to be the
/// numeric code of `currency_alpha`. Returns the decrypted read (clear PAN, and the PIN
/// when a PIN block came) for the test-card decision.
pub fn verify_card_read(card: &CardData, amount: i64, currency_alpha: &str) -> Result<DecryptedRead, CardReadRefusal> {
    let ksn = parse_ksn(&card.key_serial_number)
        .ok_or(refuse("card.key_serial_number", "must be 24 hex digits (a 12-byte AES DUKPT KSN)"))?;
    let bdk =
        bdk_for_id(&ksn[..4]).ok_or(refuse("card.key_serial_number", "names a BDK ID the acquirer does not hold"))?;
    if !dukpt::counter_is_valid(&ksn) {
        return Err(refuse("card.key_serial_number", "has a transaction counter a reader may not use"));
    }
    let payload =
        STANDARD.decode(&card.encrypted_payload).map_err(|_| refuse("card.encrypted_payload", "must be base64"))?;
    let ik = super::initial_key_of(bdk, &ksn);
    let mut read = super::decrypt_card_data(&ik, &ksn, &payload)
        .map_err(|e: CryptoError| refuse("card.encrypted_payload", e.reason()))?;
    if !masked_pan_matches(&card.masked_pan, &read.pan) {
        return Err(refuse("card.masked_pan", "does not match the PAN of the encrypted card data"));
    }
    if u64::try_from(amount).ok() != Some(read.amount) {
        return Err(refuse("amount", "is not the amount authorised (9F02) of the encrypted card data"));
    }
    let numeric = currency_numeric(currency_alpha)
        .ok_or(refuse("currency", "has no ISO 4217 numeric code known to the simulated acquirer"))?;
    if numeric != read.currency_numeric {
        return Err(refuse("currency", "is not the transaction currency (5F2A) of the encrypted card data"));
    }
    if let Some(b64) = &card.pin_block {
        let block = STANDARD.decode(b64).map_err(|_| refuse("card.pin_block", "must be base64"))?;
        let pin = super::decrypt_pin(&ik, &ksn, &block, &read.pan)
            .map_err(|e: CryptoError| refuse("card.pin_block", e.reason()))?;
        read.pin = Some(pin);
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    //! Round trips: reads made with `encrypt_read` under the test keys.

    use super::*;
    use crate::card_crypto::dukpt::tests::ksn;
    use crate::card_crypto::{PlainRead, TEST_INITIAL_KEY_ID, emv_cn, emv_n, emv_tlv, encrypt_read, initial_key};

    const PAN: &str = "4761739001010119";

    fn plain(pan: &str, amount: u64, currency: u16, pin: Option<&str>) -> PlainRead {
        let ok = |r: Result<Vec<u8>, CryptoError>| r.unwrap_or_else(|e| panic!("{e}"));
        let tlv = emv_tlv(&[
            (&[0x5A], &ok(emv_cn(pan))),
            (&[0x5F, 0x24], &[0x29, 0x12, 0x31]),
            (&[0x9F, 0x02], &ok(emv_n(amount, 6))),
            (&[0x5F, 0x2A], &ok(emv_n(u64::from(currency), 2))),
        ]);
        PlainRead { pan: pan.to_string(), emv_tlv: tlv, pin: pin.map(str::to_string) }
    }

    fn card(masked: &str, ksn: &[u8; 12], read: &PlainRead) -> CardData {
        let ik = initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
        let (data, pin) = encrypt_read(&ik, ksn, read).unwrap_or_else(|e| panic!("{e}"));
        CardData {
            encrypted_payload: STANDARD.encode(data),
            key_serial_number: ksn.iter().map(|b| format!("{b:02X}")).collect(),
            masked_pan: masked.to_string(),
            entry_mode: "CHIP".to_string(),
            pin_block: pin.map(|p| STANDARD.encode(p)),
        }
    }

    fn refused(r: Result<DecryptedRead, CardReadRefusal>) -> &'static str {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e.parameter,
        }
    }

    #[test]
    fn a_good_read_verifies_and_gives_the_clear_pan() {
        let c = card("476173******0119", &ksn(7), &plain(PAN, 1250, 978, None));
        let read = verify_card_read(&c, 1250, "EUR").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((read.pan.as_str(), read.amount, read.currency_numeric, read.pin), (PAN, 1250, 978, None));
        // The masked form with 8 leading digits (§4.1, PANs of 16+ digits) and lower-case hex.
        let mut c8 = card("47617390****0119", &ksn(7), &plain(PAN, 1250, 978, None));
        c8.key_serial_number = c8.key_serial_number.to_ascii_lowercase();
        assert!(verify_card_read(&c8, 1250, "eur").is_ok());
    }

    #[test]
    fn a_read_with_a_pin_block_gives_the_pin() {
        let c = card("476173******0119", &ksn(0x20000), &plain(PAN, 9900, 752, Some("2468")));
        let read = verify_card_read(&c, 9900, "SEK").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.pin.as_deref(), Some("2468"));
        let mut bad = c.clone();
        bad.pin_block = Some(STANDARD.encode([0u8; 16]));
        assert_eq!(refused(verify_card_read(&bad, 9900, "SEK")), "card.pin_block");
        bad.pin_block = Some(STANDARD.encode([0u8; 15]));
        assert_eq!(refused(verify_card_read(&bad, 9900, "SEK")), "card.pin_block");
        bad.pin_block = Some("not base64!".to_string());
        assert_eq!(refused(verify_card_read(&bad, 9900, "SEK")), "card.pin_block");
    }

    #[test]
    fn amount_and_currency_must_be_the_authorizations() {
        let c = card("476173******0119", &ksn(3), &plain(PAN, 1250, 978, None));
        assert_eq!(refused(verify_card_read(&c, 1251, "EUR")), "amount");
        assert_eq!(refused(verify_card_read(&c, -1250, "EUR")), "amount");
        assert_eq!(refused(verify_card_read(&c, 1250, "SEK")), "currency");
        assert_eq!(refused(verify_card_read(&c, 1250, "XXX")), "currency");
    }

    #[test]
    fn a_masked_pan_of_another_card_is_refused() {
        let read = plain(PAN, 500, 578, None);
        for masked in [
            "476173******0118",  // last four
            "476174******0119",  // first six
            "4761739*****0119",  // seven leading digits
            "47617391****0119",  // eight leading digits
            "476173*******0119", // one digit longer
            "476173*****0119",   // one digit shorter
            "4761739001010119",  // a clear PAN is no masked PAN
        ] {
            let c = card(masked, &ksn(5), &read);
            assert_eq!(refused(verify_card_read(&c, 500, "NOK")), "card.masked_pan", "{masked}");
        }
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let c = card("476173******0119", &ksn(8), &plain(PAN, 4200, 208, None));
        let data = STANDARD.decode(&c.encrypted_payload).unwrap_or_default();
        for i in [0, 15, 16, data.len() - 1] {
            let mut t = data.clone();
            t[i] ^= 0x01;
            let tampered = CardData { encrypted_payload: STANDARD.encode(&t), ..c.clone() };
            assert_eq!(refused(verify_card_read(&tampered, 4200, "DKK")), "card.encrypted_payload", "byte {i}");
        }
        let short = CardData { encrypted_payload: STANDARD.encode(&data[..data.len() - 16]), ..c.clone() };
        assert!(verify_card_read(&short, 4200, "DKK").is_err());
        let junk = CardData { encrypted_payload: "%%%".to_string(), ..c };
        assert_eq!(refused(verify_card_read(&junk, 4200, "DKK")), "card.encrypted_payload");
    }

    #[test]
    fn the_ksn_must_name_a_known_bdk_and_a_usable_counter() {
        let read = plain(PAN, 100, 826, None);
        let mut other_bdk = ksn(1);
        other_bdk[0] = 0x99;
        // Encrypted under the test IK, but the KSN claims BDK ID 99345678.
        let c = card("476173******0119", &other_bdk, &read);
        assert_eq!(refused(verify_card_read(&c, 100, "GBP")), "card.key_serial_number");
        let mut c = card("476173******0119", &ksn(1), &read);
        for bad in ["12345678901234560000000", "1234567890123456000000011", "12345678901234560000000G", ""] {
            c.key_serial_number = bad.to_string();
            assert_eq!(refused(verify_card_read(&c, 100, "GBP")), "card.key_serial_number", "{bad:?}");
        }
        c.key_serial_number = "123456789012345600000000".to_string();
        assert_eq!(refused(verify_card_read(&c, 100, "GBP")), "card.key_serial_number", "counter 0");
        // The same card data under another counter's KSN does not decrypt.
        c.key_serial_number = "123456789012345600000002".to_string();
        assert_eq!(refused(verify_card_read(&c, 100, "GBP")), "card.encrypted_payload");
    }

    #[test]
    fn the_currency_table_has_the_market_currencies() {
        // ISO 4217 numeric codes.
        for (alpha, numeric) in [
            ("SEK", 752),
            ("EUR", 978),
            ("NOK", 578),
            ("DKK", 208),
            ("GBP", 826),
            ("USD", 840),
            ("CHF", 756),
            ("PLN", 985),
            ("CZK", 203),
        ] {
            assert_eq!(currency_numeric(alpha), Some(numeric), "{alpha}");
        }
        assert_eq!(currency_numeric("XYZ"), None);
    }
}
