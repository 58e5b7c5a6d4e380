//! Tests of the public interface: `decrypt_read` against the ANSI X9.24-3-2017
//! Supplement's published keys and PIN blocks (see `dukpt.rs` and `pin_block.rs` for the
//! source), and `encrypt_read` → `decrypt_read` round trips.

use super::dukpt::tests::{FIRST_EIGHT, IK, hex, ksn};
use super::*;

/// The supplement's encrypted PIN block (PIN 1234, PAN 4111111111111111) for counter 1.
const PIN_BLOCK_1: &str = "A912150391AB65A67E52883D81CE2D15";

fn ok<T>(r: Result<T, CryptoError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn card_tlv(pan: &str, amount: u64, currency: u16) -> Vec<u8> {
    emv_tlv(&[
        (&[0x5A], &ok(emv_cn(pan))),
        (&[0x5F, 0x24], &[0x28, 0x02, 0x29]),
        (&[0x9F, 0x02], &ok(emv_n(amount, 6))),
        (&[0x5F, 0x2A], &ok(emv_n(u64::from(currency), 2))),
        (&[0x9F, 0x36], &[0x00, 0x2A]),
    ])
}

#[test]
fn public_initial_and_working_keys_are_the_supplements() {
    assert_eq!(initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID), hex::<16>(IK));
    let (tc, _, pin, data) = FIRST_EIGHT[4];
    assert_eq!(working_key(&hex::<16>(IK), &ksn(tc), KeyUsage::PinEncryption), hex::<16>(pin));
    assert_eq!(working_key(&hex::<16>(IK), &ksn(tc), KeyUsage::DataEncrypt), hex::<16>(data));
}

#[test]
fn decrypt_read_opens_data_under_the_published_keys_and_the_published_pin_block() {
    let plain = card_tlv("4111111111111111", 1250, 978);
    let (_, _, _, data_key) = FIRST_EIGHT[0];
    let cipher = card_data::encrypt(&hex::<16>(data_key), &plain);
    let block = hex::<16>(PIN_BLOCK_1);
    let read = ok(decrypt_read(&TEST_BDK, &ksn(1), &cipher, Some(&block)));
    assert_eq!(read.pan, "4111111111111111");
    assert_eq!((read.amount, read.currency_numeric), (1250, 978));
    assert_eq!(read.pin.as_deref(), Some("1234"));
    let names: Vec<&str> = read.tags.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, ["5A", "5F24", "9F02", "5F2A", "9F36"]);
    // The same PIN block under counter 2's keys does not decode.
    let (_, _, _, data_key_2) = FIRST_EIGHT[1];
    let cipher_2 = card_data::encrypt(&hex::<16>(data_key_2), &plain);
    assert!(decrypt_read(&TEST_BDK, &ksn(2), &cipher_2, Some(&block)).is_err());
    assert!(decrypt_read(&TEST_BDK, &ksn(2), &cipher_2, None).is_ok());
}

#[test]
fn encrypt_read_uses_the_published_data_key() {
    let ik = initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
    let plain = card_tlv("5413330089010608", 7, 840);
    let read = PlainRead { pan: "5413330089010608".into(), emv_tlv: plain.clone(), pin: None };
    let (tc, _, _, data_key) = FIRST_EIGHT[7];
    let (cipher, pin_block) = ok(encrypt_read(&ik, &ksn(tc), &read));
    assert_eq!(pin_block, None);
    assert_eq!(card_data::decrypt(&hex::<16>(data_key), &cipher), Ok(plain));
}

#[test]
fn reads_round_trip_over_successive_ksns() {
    let ik = initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
    let mut k = ksn(0xFFF0);
    let pans = ["476173900101", "4761739001010119", "6214672500000000056", "5413330089010608"];
    for i in 0..40u64 {
        k = next_ksn(&k).unwrap_or_else(|| panic!("counter space ended"));
        let pan = pans[i as usize % pans.len()];
        let pin = (i % 3 != 0).then(|| format!("{:0width$}", i * 7919, width = 4 + (i as usize % 9)));
        let read = PlainRead { pan: pan.into(), emv_tlv: card_tlv(pan, i * 100, 752), pin: pin.clone() };
        let (cipher, block) = ok(encrypt_read(&ik, &k, &read));
        let back = ok(decrypt_read(&TEST_BDK, &k, &cipher, block.as_ref().map(|b| b.as_slice())));
        assert_eq!((back.pan.as_str(), back.amount, back.currency_numeric), (pan, i * 100, 752));
        assert_eq!(back.pin, pin);
    }
}

#[test]
fn missing_or_malformed_required_tags_are_invalid() {
    let ik = initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
    let pan = ok(emv_cn("4761739001010119"));
    let amount = ok(emv_n(1250, 6));
    let eur = ok(emv_n(978, 2));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (emv_tlv(&[(&[0x9F, 0x02], &amount), (&[0x5F, 0x2A], &eur)]), "card data has no PAN (5A)"),
        (emv_tlv(&[(&[0x5A], &pan), (&[0x5F, 0x2A], &eur)]), "card data has no amount authorised (9F02)"),
        (emv_tlv(&[(&[0x5A], &pan), (&[0x9F, 0x02], &amount)]), "card data has no transaction currency code (5F2A)"),
        (
            emv_tlv(&[(&[0x5A], &ok(emv_cn("47617390101"))), (&[0x9F, 0x02], &amount), (&[0x5F, 0x2A], &eur)]),
            "PAN (5A) is not 12 to 19 digits",
        ),
        (
            emv_tlv(&[(&[0x5A], &pan), (&[0x9F, 0x02], &amount[1..]), (&[0x5F, 0x2A], &eur)]),
            "amount authorised (9F02) is not n12 in 6 bytes",
        ),
        (
            emv_tlv(&[(&[0x5A], &pan), (&[0x9F, 0x02], &amount), (&[0x5F, 0x2A], &[0x19, 0x78])]),
            "transaction currency code (5F2A) is over 999",
        ),
        (
            emv_tlv(&[
                (&[0x5A], &[0x47, 0x61, 0x73, 0x9A, 0x01, 0x01]),
                (&[0x9F, 0x02], &amount),
                (&[0x5F, 0x2A], &eur),
            ]),
            "EMV cn field is not BCD digits with F padding",
        ),
        (vec![0x5A, 0x08, 0x47], "EMV TLV is truncated in a value"),
    ];
    for (plain, why) in cases {
        let read = PlainRead { pan: "4761739001010119".into(), emv_tlv: plain, pin: None };
        let (cipher, _) = ok(encrypt_read(&ik, &ksn(9), &read));
        assert_eq!(decrypt_read(&TEST_BDK, &ksn(9), &cipher, None), Err(CryptoError::Invalid(why)));
    }
}

#[test]
fn bad_counters_sizes_and_pins_are_refused() {
    let ik = initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
    let read = PlainRead { pan: "4761739001010119".into(), emv_tlv: card_tlv("4761739001010119", 1, 978), pin: None };
    let (cipher, _) = ok(encrypt_read(&ik, &ksn(1), &read));
    for tc in [0, 0x0001_FFFF, 0xFFFF_0001, u32::MAX] {
        assert!(encrypt_read(&ik, &ksn(tc), &read).is_err(), "counter {tc:#x}");
        assert!(decrypt_read(&TEST_BDK, &ksn(tc), &cipher, None).is_err(), "counter {tc:#x}");
    }
    let big = PlainRead { emv_tlv: vec![0x55; 512], ..read.clone() };
    assert!(encrypt_read(&ik, &ksn(1), &big).is_err(), "512 bytes of plaintext pad to 528");
    let fits = PlainRead { emv_tlv: vec![0x55; 511], ..read.clone() };
    assert_eq!(ok(encrypt_read(&ik, &ksn(1), &fits)).0.len(), 512);
    for len in [0usize, 15, 17, 528] {
        assert!(decrypt_read(&TEST_BDK, &ksn(1), &vec![0u8; len], None).is_err(), "{len} bytes");
    }
    let with_pin = |pin: &str| PlainRead { pin: Some(pin.into()), ..read.clone() };
    assert!(encrypt_read(&ik, &ksn(1), &with_pin("123")).is_err());
    assert!(encrypt_read(&ik, &ksn(1), &with_pin("12345")).is_ok());
}

#[test]
fn debug_output_hides_pan_pin_and_plaintext() {
    let ik = initial_key(&TEST_BDK, &TEST_INITIAL_KEY_ID);
    let read = PlainRead {
        pan: "4761739001010119".into(),
        emv_tlv: card_tlv("4761739001010119", 1, 978),
        pin: Some("8642".into()),
    };
    let (cipher, block) = ok(encrypt_read(&ik, &ksn(3), &read));
    let back = ok(decrypt_read(&TEST_BDK, &ksn(3), &cipher, block.as_ref().map(|b| b.as_slice())));
    for shown in [format!("{read:?}"), format!("{back:?}")] {
        assert!(!shown.contains("4761739001010119") && !shown.contains("8642"), "{shown}");
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = fastrand::Rng::with_seed(924);
    for _ in 0..500 {
        let data: Vec<u8> = (0..rng.usize(0..70)).map(|_| rng.u8(..)).collect();
        let pin: Vec<u8> = (0..rng.usize(0..20)).map(|_| rng.u8(..)).collect();
        let mut k = ksn(rng.u32(..));
        k[0] = rng.u8(..);
        let _ = decrypt_read(&TEST_BDK, &k, &data, Some(&pin));
    }
}
