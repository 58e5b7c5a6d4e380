//! The simulated reader's test cards and what a read of one holds: masked and clear PANs,
//! the EMV plaintext that gets encrypted (docs/card-reader-protocol.md §6), the CARD_READ
//! TLV (§4.1), the cardholder verification performed, and ISO 4217 currency numbers.

use serde::{Deserialize, Serialize};

/// A test card (the simulated acquirer picks its answer by the last four digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestCard {
    /// Approved.
    Approve,
    /// Declined by the issuer (do not honor).
    Decline,
    /// Declined: insufficient funds.
    InsufficientFunds,
    /// Declined: expired card (its expiry date is in the past).
    Expired,
    /// Declined unless a PIN block comes with the read.
    PinRequired,
}

impl TestCard {
    /// The clear PAN (Luhn-valid; never leaves the reader in clear).
    pub fn pan(self) -> &'static str {
        match self {
            TestCard::Approve => "4111111111111111",
            TestCard::Decline => "4000000000000002",
            TestCard::InsufficientFunds => "4000000000009995",
            TestCard::Expired => "4000000000000069",
            TestCard::PinRequired => "4000000000003220",
        }
    }

    /// The masked PAN of tag 0x01: first 6 digits, `*`, last 4.
    pub fn masked_pan(self) -> String {
        mask(self.pan())
    }

    /// Expiry date YYMMDD.
    pub fn expiry(self) -> &'static str {
        match self {
            TestCard::Expired => "231231",
            _ => "281231",
        }
    }
}

/// How the customer presents the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presentation {
    /// Inserted (chip).
    Insert,
    /// Tapped (contactless).
    Tap,
    /// Swiped (magnetic stripe).
    Swipe,
}

impl Presentation {
    /// Entry mode of CARD_PRESENTED and tag 0x04: 1 chip, 2 contactless, 3 swipe.
    pub fn entry_mode(self) -> u8 {
        match self {
            Presentation::Insert => 1,
            Presentation::Tap => 2,
            Presentation::Swipe => 3,
        }
    }
}

/// Contactless reads from this amount (minor units) on are verified on the customer's device.
pub const CONTACTLESS_CVM_LIMIT: u32 = 5000;
/// The PIN the simulated customer types.
pub const CUSTOMER_PIN: &str = "1234";

/// Tag 0x06: 0 none, 1 online PIN, 2 offline PIN, 3 signature, 4 consumer device.
pub fn cvm(how: Presentation, online_pin: bool, amount: u32) -> u8 {
    match how {
        Presentation::Tap if amount < CONTACTLESS_CVM_LIMIT => 0,
        Presentation::Tap => 4,
        Presentation::Insert if online_pin => 1,
        Presentation::Insert => 2,
        Presentation::Swipe => 3,
    }
}

/// `first 6 ‖ * … ‖ last 4` (§4.1; the 6-digit form also for 16+ digit PANs).
pub fn mask(pan: &str) -> String {
    let n = pan.len();
    if n < 12 {
        return "*".repeat(n);
    }
    format!("{}{}{}", &pan[..6], "*".repeat(n - 10), &pan[n - 4..])
}

/// ISO 4217 numeric code of the currencies the reader is configured for.
pub fn currency_numeric(alpha: &str) -> Option<u16> {
    const TABLE: &[(&str, u16)] = &[
        ("SEK", 752),
        ("EUR", 978),
        ("NOK", 578),
        ("DKK", 208),
        ("GBP", 826),
        ("USD", 840),
        ("CHF", 756),
        ("PLN", 985),
        ("CZK", 203),
        ("HUF", 348),
        ("ISK", 352),
        ("RON", 946),
    ];
    TABLE.iter().find(|(a, _)| *a == alpha).map(|(_, n)| *n)
}

/// Packs digits (and `D` separators) two per byte; an odd count is padded with `F`.
pub fn bcd(digits: &str) -> Vec<u8> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'D' | b'd' => 0xD,
        _ => 0xF,
    };
    digits.as_bytes().chunks(2).map(|p| (nibble(p[0]) << 4) | p.get(1).map_or(0xF, |&c| nibble(c))).collect()
}

/// EMV numeric `n` of `bytes` bytes (right-aligned, zero-filled).
pub fn n(value: u64, bytes: usize) -> Vec<u8> {
    bcd(&format!("{value:0width$}", width = bytes * 2))
}

/// What goes into one read's EMV plaintext.
#[derive(Debug, Clone)]
pub struct ReadFacts {
    /// The card.
    pub card: TestCard,
    /// How it was presented.
    pub how: Presentation,
    /// ENABLE amount, minor units.
    pub amount: u32,
    /// ISO 4217 numeric of the ENABLE currency.
    pub currency: u16,
    /// Whether the PIN was entered online.
    pub online_pin: bool,
    /// Application transaction counter.
    pub atc: u16,
    /// Transaction date YYMMDD.
    pub date: String,
}

/// The EMV tags of the card-data plaintext, as (tag, value) pairs.
pub fn emv_items(f: &ReadFacts) -> Vec<(Vec<u8>, Vec<u8>)> {
    let pan = f.card.pan();
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (vec![0x5A], bcd(pan)),
        (vec![0x5F, 0x24], bcd(f.card.expiry())),
        (vec![0x9F, 0x02], n(u64::from(f.amount), 6)),
        (vec![0x5F, 0x2A], n(u64::from(f.currency), 2)),
    ];
    if f.how == Presentation::Swipe {
        // Track 2 equivalent: PAN D YYMM service-code discretionary data.
        let track2 = format!("{pan}D{}2010000000000", &f.card.expiry()[..4]);
        items.push((vec![0x57], bcd(&track2)));
        return items;
    }
    let mut tvr = [0u8; 5];
    if f.card == TestCard::Expired {
        tvr[1] |= 0x40; // expired application
    }
    if f.online_pin {
        tvr[2] |= 0x04; // online PIN entered
    }
    let (aip, iad): (&[u8], &[u8]) = match f.how {
        Presentation::Tap => (&[0x20, 0x00], &[0x06, 0x01, 0x12, 0x03, 0xA0, 0x00, 0x00]),
        _ => (&[0x39, 0x00], &[0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00]),
    };
    let mut ac = [0u8; 8];
    ac.iter_mut().for_each(|b| *b = fastrand::u8(..));
    let mut un = [0u8; 4];
    un.iter_mut().for_each(|b| *b = fastrand::u8(..));
    items.extend([
        (vec![0x9F, 0x26], ac.to_vec()),
        (vec![0x9F, 0x27], vec![0x80]),
        (vec![0x9F, 0x36], f.atc.to_be_bytes().to_vec()),
        (vec![0x9F, 0x10], iad.to_vec()),
        (vec![0x9F, 0x37], un.to_vec()),
        (vec![0x95], tvr.to_vec()),
        (vec![0x9A], bcd(&f.date)),
        (vec![0x9C], vec![0x00]),
        (vec![0x82], aip.to_vec()),
        (vec![0x84], vec![0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10]),
    ]);
    items
}

/// The parts of a CARD_READ TLV list (§4.1).
#[derive(Debug, Clone)]
pub struct ReadTlv<'a> {
    /// Tag 0x01.
    pub masked_pan: &'a str,
    /// Tag 0x02.
    pub ksn: &'a [u8; 12],
    /// Tag 0x03.
    pub card_data: &'a [u8],
    /// Tag 0x04.
    pub entry_mode: u8,
    /// Tag 0x05.
    pub pin_block: Option<&'a [u8; 16]>,
    /// Tag 0x06.
    pub cvm: u8,
    /// Tag 0x07 and 0x08: the AID and label of the application read (chip and
    /// contactless; none for a swipe).
    pub application: Option<(&'a [u8], &'a str)>,
}

fn item(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(value);
}

/// `tag: u8, length: u16, value` items, in tag order.
pub fn read_tlv(r: &ReadTlv<'_>) -> Vec<u8> {
    let mut out = vec![];
    item(&mut out, 0x01, r.masked_pan.as_bytes());
    item(&mut out, 0x02, r.ksn);
    item(&mut out, 0x03, r.card_data);
    item(&mut out, 0x04, &[r.entry_mode]);
    if let Some(p) = r.pin_block {
        item(&mut out, 0x05, p);
    }
    item(&mut out, 0x06, &[r.cvm]);
    if let Some((aid, label)) = r.application {
        item(&mut out, 0x07, aid);
        item(&mut out, 0x08, label.as_bytes());
    }
    out
}

/// The EMV application a chip or contactless read of a test card goes through (the
/// test cards are Visa credit cards): its AID and label; none for a swipe.
pub fn application(how: Presentation) -> Option<(&'static [u8], &'static str)> {
    const VISA_CREDIT: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10];
    (how != Presentation::Swipe).then_some((VISA_CREDIT, "VISA CREDIT"))
}

/// KSN of a read: BDK ID ‖ derivation ID (the Initial Key ID) ‖ transaction counter.
pub fn ksn(initial_key_id: &[u8; 8], counter: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(initial_key_id);
    k[8..].copy_from_slice(&counter.to_be_bytes());
    k
}

/// The next DUKPT transaction counter after `counter` (§6): counters with more than 16
/// bits set are skipped; `None` past [`crate::card_crypto::MAX_COUNTER`] (keys exhausted).
pub fn next_counter(counter: u32) -> Option<u32> {
    let mut c = counter.checked_add(1)?;
    while c.count_ones() > 16 {
        c = c.checked_add(1)?;
    }
    (c <= crate::card_crypto::MAX_COUNTER).then_some(c)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn luhn(pan: &str) -> bool {
        let sum: u32 = pan
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, c)| {
                let d = u32::from(c - b'0');
                if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
            })
            .sum();
        sum % 10 == 0
    }

    #[test]
    fn test_cards_have_luhn_valid_pans_and_the_published_masks() {
        let want = [
            (TestCard::Approve, "411111******1111"),
            (TestCard::Decline, "400000******0002"),
            (TestCard::InsufficientFunds, "400000******9995"),
            (TestCard::Expired, "400000******0069"),
            (TestCard::PinRequired, "400000******3220"),
        ];
        for (card, masked) in want {
            assert!(luhn(card.pan()), "{card:?}");
            assert_eq!(card.pan().len(), 16);
            assert_eq!(card.masked_pan(), masked);
        }
        assert!(!luhn("4111111111111112"));
    }

    #[test]
    fn numbers_are_packed_as_emv_wants() {
        assert_eq!(n(1250, 6), [0x00, 0x00, 0x00, 0x00, 0x12, 0x50]);
        assert_eq!(n(752, 2), [0x07, 0x52]);
        assert_eq!(bcd("4111111111111111"), [0x41, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11]);
        assert_eq!(bcd("123"), [0x12, 0x3F]);
        assert_eq!(bcd("41D28"), [0x41, 0xD2, 0x8F]);
        assert_eq!(currency_numeric("SEK"), Some(752));
        assert_eq!(currency_numeric("CZK"), Some(203));
        assert_eq!(currency_numeric("XXX"), None);
    }

    #[test]
    fn cardholder_verification_follows_entry_mode_pin_and_amount() {
        assert_eq!(cvm(Presentation::Tap, false, 4999), 0);
        assert_eq!(cvm(Presentation::Tap, false, 5000), 4);
        assert_eq!(cvm(Presentation::Insert, true, 100), 1);
        assert_eq!(cvm(Presentation::Insert, false, 100), 2);
        assert_eq!(cvm(Presentation::Swipe, false, 100), 3);
    }

    #[test]
    fn emv_plaintext_has_the_required_tags_per_entry_mode() {
        let mut f = ReadFacts {
            card: TestCard::Approve,
            how: Presentation::Tap,
            amount: 8990,
            currency: 752,
            online_pin: false,
            atc: 7,
            date: "250102".into(),
        };
        let tags = |f: &ReadFacts| emv_items(f).into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        let chip = tags(&f);
        for t in [&[0x5A][..], &[0x5F, 0x24], &[0x9F, 0x02], &[0x5F, 0x2A], &[0x9F, 0x26], &[0x84], &[0x9A]] {
            assert!(chip.iter().any(|c| c == t), "{t:02X?}");
        }
        assert!(!chip.iter().any(|c| c == &[0x57]));
        let items = emv_items(&f);
        assert_eq!(items[2].1, [0, 0, 0, 0, 0x89, 0x90]);
        assert_eq!(items[3].1, [0x07, 0x52]);
        f.how = Presentation::Swipe;
        let swipe = emv_items(&f);
        assert_eq!(swipe.len(), 5);
        assert_eq!(swipe[4], (vec![0x57], bcd("4111111111111111D28122010000000000")));
    }

    #[test]
    fn read_tlv_is_tag_length_value() {
        let ksn = ksn(&[0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56], 1);
        assert_eq!(ksn, [0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0, 0, 0, 1]);
        let tlv = read_tlv(&ReadTlv {
            masked_pan: "411111******1111",
            ksn: &ksn,
            card_data: &[0xAA; 16],
            entry_mode: 2,
            pin_block: None,
            cvm: 0,
            application: application(Presentation::Tap),
        });
        assert_eq!(&tlv[..3], [0x01, 0x00, 0x10]);
        assert_eq!(&tlv[3..19], b"411111******1111");
        assert_eq!(&tlv[19..22], [0x02, 0x00, 0x0C]);
        assert_eq!(&tlv[34..37], [0x03, 0x00, 0x10]);
        assert_eq!(&tlv[53..61], [0x04, 0x00, 0x01, 0x02, 0x06, 0x00, 0x01, 0x00]);
        assert_eq!(&tlv[61..71], [0x07, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10]);
        assert_eq!(&tlv[71..74], [0x08, 0x00, 0x0B]);
        assert_eq!(&tlv[74..], b"VISA CREDIT");
        assert_eq!(application(Presentation::Swipe), None);
    }

    #[test]
    fn dukpt_counters_skip_values_with_more_than_16_one_bits() {
        assert_eq!(next_counter(0), Some(1));
        assert_eq!(next_counter(1), Some(2));
        assert_eq!(next_counter(0xFFFE), Some(0xFFFF));
        assert_eq!(next_counter(0x1FFFE), Some(0x20000));
        assert_eq!(next_counter(0xFFFE_0000), Some(0xFFFE_0001));
        assert_eq!(next_counter(0xFFFF_0000), None, "keys exhausted");
    }
}
