//! ISO 9564-1 PIN block format 4 (AES, 16 bytes): the plain-text PIN field is
//! enciphered, XORed with the PAN field, and enciphered again under the PIN key.

use super::CryptoError;
use super::dukpt::aes_encrypt_block;
use aes::Aes128;
use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};

/// Control field of format 4.
const CONTROL: u8 = 0x4;
/// Fill nibble after the PIN digits.
const FILL: u8 = 0xA;

fn aes_decrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(GenericArray::from_slice(key));
    let mut b = GenericArray::clone_from_slice(block);
    cipher.decrypt_block(&mut b);
    b.into()
}

fn xor(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

/// Sets nibble `i` (0 = high nibble of byte 0) of `buf`.
fn set_nibble(buf: &mut [u8], i: usize, v: u8) {
    let shift = if i % 2 == 0 { 4 } else { 0 };
    buf[i / 2] = (buf[i / 2] & !(0x0F << shift)) | ((v & 0x0F) << shift);
}

fn nibble(buf: &[u8], i: usize) -> u8 {
    if i % 2 == 0 { buf[i / 2] >> 4 } else { buf[i / 2] & 0x0F }
}

/// The plain-text PIN field: control 4, PIN length (4–12), the PIN digits, fill nibbles
/// 0xA to the end of the first 8 bytes, then the 8 bytes of random fill.
pub fn pin_field(pin: &str, random_fill: &[u8; 8]) -> Result<[u8; 16], CryptoError> {
    let digits = pin.as_bytes();
    if !(4..=12).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CryptoError::Invalid("a PIN has 4 to 12 digits"));
    }
    let mut field = [0u8; 16];
    set_nibble(&mut field, 0, CONTROL);
    set_nibble(&mut field, 1, digits.len() as u8);
    for i in 2..16 {
        let v = digits.get(i - 2).map_or(FILL, |d| d - b'0');
        set_nibble(&mut field, i, v);
    }
    field[8..].copy_from_slice(random_fill);
    Ok(field)
}

/// The PAN field: PAN length − 12 (0 for a shorter PAN, which is then left-padded with
/// zeros to 12 digits), the PAN digits, then zeros.
pub fn pan_field(pan: &str) -> Result<[u8; 16], CryptoError> {
    let digits = pan.as_bytes();
    if !(1..=19).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CryptoError::Invalid("a PAN has 1 to 19 digits"));
    }
    let mut field = [0u8; 16];
    let extra = digits.len().saturating_sub(12);
    set_nibble(&mut field, 0, extra as u8);
    let start = 1 + 12usize.saturating_sub(digits.len());
    for (i, d) in digits.iter().enumerate() {
        set_nibble(&mut field, start + i, d - b'0');
    }
    Ok(field)
}

/// Enciphers a PIN field: E(K, E(K, PIN field) ⊕ PAN field).
pub fn encipher(pin_key: &[u8; 16], pin_field: &[u8; 16], pan_field: &[u8; 16]) -> [u8; 16] {
    let first = aes_encrypt_block(pin_key, pin_field);
    aes_encrypt_block(pin_key, &xor(&first, pan_field))
}

/// Deciphers a PIN block back to its PIN field.
pub fn decipher(pin_key: &[u8; 16], block: &[u8; 16], pan_field: &[u8; 16]) -> [u8; 16] {
    let first = aes_decrypt_block(pin_key, block);
    aes_decrypt_block(pin_key, &xor(&first, pan_field))
}

/// Makes the format 4 PIN block of `pin` for `pan`, with random fill.
pub fn encrypt(pin_key: &[u8; 16], pin: &str, pan: &str) -> Result<[u8; 16], CryptoError> {
    let mut random = [0u8; 8];
    random.iter_mut().for_each(|b| *b = fastrand::u8(..));
    Ok(encipher(pin_key, &pin_field(pin, &random)?, &pan_field(pan)?))
}

/// Recovers the PIN from a format 4 PIN block. A wrong key or PAN gives a field whose
/// control nibble, length, digits or 0xA fill do not check, and is refused.
pub fn decrypt(pin_key: &[u8; 16], block: &[u8], pan: &str) -> Result<String, CryptoError> {
    let block: &[u8; 16] = block.try_into().map_err(|_| CryptoError::Invalid("a PIN block is 16 bytes"))?;
    let field = decipher(pin_key, block, &pan_field(pan)?);
    let bad = CryptoError::Invalid("the PIN block does not decode to a format 4 PIN field (wrong key or PAN?)");
    let len = usize::from(nibble(&field, 1));
    if nibble(&field, 0) != CONTROL || !(4..=12).contains(&len) {
        return Err(bad);
    }
    let mut pin = String::with_capacity(len);
    for i in 2..2 + len {
        let d = nibble(&field, i);
        if d > 9 {
            return Err(bad);
        }
        pin.push(char::from(b'0' + d));
    }
    if (2 + len..16).any(|i| nibble(&field, i) != FILL) {
        return Err(bad);
    }
    Ok(pin)
}

#[cfg(test)]
mod tests {
    //! Published vector: ANSI X9.24-3-2017 Supplement, "Calculation of AES PIN Block
    //! Format 4" (page 31) for the AES-128 BDK: PIN 1234, PAN 4111111111111111, the PIN
    //! field with its random fill, the PAN field, and the encrypted PIN blocks under the
    //! PIN keys of counters 1–8 — as transcribed in openemv/dukpt
    //! `test/dukpt_aes128_test.c` (commit 1d01dda).

    use super::*;
    use crate::card_crypto::dukpt::tests::{FIRST_EIGHT, hex};

    const PIN_FIELD: &str = "441234AAAAAAAAAA2F69ADDE2E9E7ACE";
    const PAN_FIELD: &str = "44111111111111111000000000000000";
    const ENCRYPTED: [&str; 8] = [
        "A912150391AB65A67E52883D81CE2D15",
        "52A00503BD34BA1383F6A7EE9FE2547F",
        "A5A27E82B43A9A866A93D7ABE89CEF93",
        "71B3D0528669498777555A8BE6698E44",
        "881A7F77A2E04E5BEA985E342FD0B628",
        "BDC1C3871AFB0B340AA5B5CEFD08695E",
        "4A8E6B8C7DBEE6CBA6DC774F0CB83396",
        "8308BB857C17F390369F761F8EB358FA",
    ];

    #[test]
    fn fields_match_the_supplement() {
        let random = hex::<8>(&PIN_FIELD[16..]);
        assert_eq!(pin_field("1234", &random), Ok(hex::<16>(PIN_FIELD)));
        assert_eq!(pan_field("4111111111111111"), Ok(hex::<16>(PAN_FIELD)));
    }

    #[test]
    fn encrypted_pin_blocks_match_the_supplement() {
        for ((tc, _, pin_key, _), expected) in FIRST_EIGHT.iter().zip(ENCRYPTED) {
            let key = hex::<16>(pin_key);
            let got = encipher(&key, &hex::<16>(PIN_FIELD), &hex::<16>(PAN_FIELD));
            assert_eq!(got, hex::<16>(expected), "counter {tc}");
            assert_eq!(decrypt(&key, &hex::<16>(expected), "4111111111111111"), Ok("1234".to_string()));
        }
    }

    #[test]
    fn round_trips_over_pin_and_pan_lengths() {
        let key = [0x5Cu8; 16];
        let pans = ["12345678901", "123456789012", "4761739001010119", "6214672500000000056"];
        for pan in pans {
            for len in 4..=12 {
                let pin: String = "987654321012".chars().take(len).collect();
                let b = encrypt(&key, &pin, pan).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(decrypt(&key, &b, pan), Ok(pin));
            }
        }
    }

    #[test]
    fn random_fill_differs_between_blocks() {
        let key = [1u8; 16];
        let a = encrypt(&key, "1234", "4111111111111111");
        let b = encrypt(&key, "1234", "4111111111111111");
        assert!(a.is_ok() && a != b);
    }

    #[test]
    fn wrong_key_pan_or_length_is_refused() {
        let key = [0x33u8; 16];
        let pan = "4111111111111111";
        let b = encrypt(&key, "4321", pan).unwrap_or_else(|e| panic!("{e}"));
        for k in 0..=255u8 {
            if k != 0x33 {
                assert!(decrypt(&[k; 16], &b, pan).is_err(), "key {k:#x}");
            }
        }
        assert!(decrypt(&key, &b, "4111111111111112").is_err());
        assert!(decrypt(&key, &b[..15], pan).is_err());
        assert!(decrypt(&key, &[b.as_slice(), &[0]].concat(), pan).is_err());
        for pin in ["123", "1234567890123", "12a4", ""] {
            assert!(encrypt(&key, pin, pan).is_err(), "{pin:?}");
        }
        for bad_pan in ["", "41111111111111111111", "4111-1111"] {
            assert!(encrypt(&key, "1234", bad_pan).is_err(), "{bad_pan:?}");
        }
    }
}
