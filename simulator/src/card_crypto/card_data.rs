//! Card data encryption (protocol §6, tag 0x03): AES-128-CBC with an IV of 16 zero
//! bytes over the plaintext padded with ISO/IEC 9797-1 padding method 2 (always added).

use super::CryptoError;
use aes::Aes128;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, generic_array::GenericArray};

/// AES block size.
const BLOCK: usize = 16;

/// Padding method 2: 0x80, then 0x00 up to a multiple of the block size; always added,
/// so a plaintext that is already a multiple gets a whole extra block.
fn pad(plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((plain.len() / BLOCK + 1) * BLOCK);
    out.extend_from_slice(plain);
    out.push(0x80);
    while out.len() % BLOCK != 0 {
        out.push(0x00);
    }
    out
}

/// Removes method-2 padding: trailing zeros (fewer than a block) and the 0x80 before them.
fn unpad(mut data: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    let bad = CryptoError::Invalid("card data padding is not ISO/IEC 9797-1 method 2");
    let Some(marker) = data.iter().rposition(|&b| b != 0x00) else {
        return Err(bad);
    };
    if data[marker] != 0x80 || data.len() - marker > BLOCK {
        return Err(bad);
    }
    data.truncate(marker);
    Ok(data)
}

/// CBC-encrypts whole blocks (`data.len()` a multiple of 16) in place.
pub(super) fn cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], data: &mut [u8]) {
    let mut enc = cbc::Encryptor::<Aes128>::new(key.into(), iv.into());
    for chunk in data.chunks_exact_mut(BLOCK) {
        enc.encrypt_block_mut(GenericArray::from_mut_slice(chunk));
    }
}

/// CBC-decrypts whole blocks (`data.len()` a multiple of 16) in place.
pub(super) fn cbc_decrypt(key: &[u8; 16], iv: &[u8; 16], data: &mut [u8]) {
    let mut dec = cbc::Decryptor::<Aes128>::new(key.into(), iv.into());
    for chunk in data.chunks_exact_mut(BLOCK) {
        dec.decrypt_block_mut(GenericArray::from_mut_slice(chunk));
    }
}

/// Encrypts card data under the data-encryption working key.
pub fn encrypt(data_key: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let mut buf = pad(plain);
    cbc_encrypt(data_key, &[0u8; BLOCK], &mut buf);
    buf
}

/// Decrypts card data under the data-encryption working key; refuses an empty or
/// non-block-multiple ciphertext and a plaintext whose padding is wrong (which is also
/// what a wrong key or tampered ciphertext usually gives).
pub fn decrypt(data_key: &[u8; 16], cipher: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if cipher.is_empty() || cipher.len() % BLOCK != 0 {
        return Err(CryptoError::Invalid("card data is not a non-empty multiple of 16 bytes"));
    }
    let mut buf = cipher.to_vec();
    cbc_decrypt(data_key, &[0u8; BLOCK], &mut buf);
    unpad(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card_crypto::dukpt::tests::hex;

    #[test]
    fn cbc_layer_matches_nist_sp_800_38a() {
        // NIST SP 800-38A, F.2.1 CBC-AES128.Encrypt / F.2.2 CBC-AES128.Decrypt.
        let key = hex::<16>("2B7E151628AED2A6ABF7158809CF4F3C");
        let iv = hex::<16>("000102030405060708090A0B0C0D0E0F");
        let plain = hex::<64>(concat!(
            "6BC1BEE22E409F96E93D7E117393172A",
            "AE2D8A571E03AC9C9EB76FAC45AF8E51",
            "30C81C46A35CE411E5FBC1191A0A52EF",
            "F69F2445DF4F9B17AD2B417BE66C3710"
        ));
        let cipher = hex::<64>(concat!(
            "7649ABAC8119B246CEE98E9B12E9197D",
            "5086CB9B507219EE95DB113A917678B2",
            "73BED6B8E3C1743B7116E69E22229516",
            "3FF1CAA1681FAC09120ECA307586E1A7"
        ));
        let mut buf = plain;
        cbc_encrypt(&key, &iv, &mut buf);
        assert_eq!(buf, cipher);
        cbc_decrypt(&key, &iv, &mut buf);
        assert_eq!(buf, plain);
    }

    #[test]
    fn padding_is_always_added_and_round_trips() {
        let key = [0x42u8; 16];
        for len in [0usize, 1, 15, 16, 17, 31, 32, 100] {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let c = encrypt(&key, &plain);
            assert_eq!(c.len(), (len / 16 + 1) * 16, "length {len}");
            assert_eq!(decrypt(&key, &c), Ok(plain), "length {len}");
        }
        // Trailing zeros and 0x80 bytes in the plaintext survive.
        for plain in [vec![0u8; 16], vec![0x80; 15], vec![1, 0x80, 0, 0]] {
            assert_eq!(decrypt(&key, &encrypt(&key, &plain)), Ok(plain));
        }
    }

    #[test]
    fn bad_lengths_and_padding_are_refused() {
        let key = [7u8; 16];
        for len in [0usize, 1, 15, 17, 33] {
            assert!(decrypt(&key, &vec![0u8; len]).is_err(), "length {len}");
        }
        // Single blocks whose plaintext is or is not method-2 padded.
        let raw = |plain: [u8; 16]| {
            let mut c = plain;
            cbc_encrypt(&key, &[0u8; 16], &mut c);
            c
        };
        assert!(decrypt(&key, &raw([0u8; 16])).is_err(), "no 0x80 marker");
        assert!(decrypt(&key, &raw([0x41u8; 16])).is_err(), "last byte neither 0x00 nor 0x80");
        let mut only_padding = [0u8; 16];
        only_padding[0] = 0x80;
        assert_eq!(decrypt(&key, &raw(only_padding)), Ok(vec![]));
        // A 0x80 marker more than a block before the end is not padding.
        let mut two = [0u8; 32];
        two[15] = 0x80;
        cbc_encrypt(&key, &[0u8; 16], &mut two);
        assert!(decrypt(&key, &two).is_err());
    }

    #[test]
    fn wrong_key_and_any_garbage_never_panic() {
        let c = encrypt(&[1u8; 16], b"5A0847617300000000109F0206000000001250");
        let mut refused = 0;
        for k in 0..=255u8 {
            if decrypt(&[k; 16], &c).is_err() {
                refused += 1;
            }
        }
        // A wrong key gives a valid-looking padding only by chance (about 1 in 128).
        assert!(refused >= 240, "{refused}");
        let mut rng = fastrand::Rng::with_seed(9797);
        for _ in 0..2000 {
            let len = rng.usize(0..80);
            let junk: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let _ = decrypt(&[rng.u8(..); 16], &junk);
        }
    }
}
