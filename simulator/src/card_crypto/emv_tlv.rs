//! EMV BER-TLV (EMV Book 3 Annex B) for the card data plaintext: a builder, a strict
//! parser (truncation, indefinite lengths and over-long tags are refused), and the EMV
//! numeric formats `n` and `cn` in BCD.

use super::CryptoError;

/// Longest tag accepted (EMV uses at most 3 bytes).
const MAX_TAG_LEN: usize = 4;
/// Most length bytes after 0x8n accepted (0x84: up to 4 GiB).
const MAX_LEN_BYTES: usize = 4;
/// Deepest nesting of constructed data objects accepted.
const MAX_DEPTH: usize = 8;

/// One data object of a parsed TLV string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes (e.g. `[0x9F, 0x02]`).
    pub tag: &'a [u8],
    /// The value bytes.
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// Whether the tag is constructed (b6 of its first byte): its value is TLV again.
    pub fn is_constructed(&self) -> bool {
        self.tag.first().is_some_and(|b| b & 0x20 != 0)
    }
}

/// Appends the BER length of `len`: one byte below 0x80, else 0x81, 0x82, … followed by
/// the length in as few big-endian bytes as it needs.
fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Builds BER-TLV from (tag, value) pairs; tags are given whole, as their bytes.
pub fn build(items: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in items {
        out.extend_from_slice(tag);
        push_length(&mut out, value.len());
        out.extend_from_slice(value);
    }
    out
}

/// Reads the tag at the start of `data`: one byte, or — when its low five bits are all
/// ones — followed by bytes with b8 set up to one with b8 clear. Returns the tag length.
fn tag_len(data: &[u8]) -> Result<usize, CryptoError> {
    let first = *data.first().ok_or(CryptoError::Invalid("EMV TLV is truncated in a tag"))?;
    if first == 0x00 {
        return Err(CryptoError::Invalid("EMV TLV has a 00 byte where a tag should be"));
    }
    if first & 0x1F != 0x1F {
        return Ok(1);
    }
    for (i, b) in data.iter().enumerate().skip(1).take(MAX_TAG_LEN - 1) {
        if b & 0x80 == 0 {
            return Ok(i + 1);
        }
    }
    if data.len() < MAX_TAG_LEN {
        Err(CryptoError::Invalid("EMV TLV is truncated in a tag"))
    } else {
        Err(CryptoError::Invalid("EMV TLV has a tag longer than 4 bytes"))
    }
}

/// Reads the length at the start of `data`; returns (value length, bytes the length took).
fn read_length(data: &[u8]) -> Result<(usize, usize), CryptoError> {
    let truncated = CryptoError::Invalid("EMV TLV is truncated in a length");
    let first = *data.first().ok_or(truncated.clone())?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > MAX_LEN_BYTES {
        return Err(CryptoError::Invalid("EMV TLV has an indefinite or over-long length"));
    }
    let bytes = data.get(1..1 + n).ok_or(truncated)?;
    let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok((len, 1 + n))
}

/// Parses one level of BER-TLV into its data objects, in order. Empty input is an empty
/// list; anything that does not end exactly at a data object's end is refused.
pub fn parse(mut data: &[u8]) -> Result<Vec<Tlv<'_>>, CryptoError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let t = tag_len(data)?;
        let (len, l) = read_length(&data[t..])?;
        let start = t + l;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= data.len())
            .ok_or(CryptoError::Invalid("EMV TLV is truncated in a value"))?;
        out.push(Tlv { tag: &data[..t], value: &data[start..end] });
        data = &data[end..];
    }
    Ok(out)
}

/// Parses BER-TLV and returns every primitive data object, descending into constructed
/// ones (templates such as 70 or 77); a primitive tag given twice is refused.
pub fn primitives(data: &[u8]) -> Result<Vec<Tlv<'_>>, CryptoError> {
    let mut out = Vec::new();
    collect(data, 0, &mut out)?;
    for (i, a) in out.iter().enumerate() {
        if out[..i].iter().any(|b| b.tag == a.tag) {
            return Err(CryptoError::Invalid("EMV TLV gives a tag twice"));
        }
    }
    Ok(out)
}

fn collect<'a>(data: &'a [u8], depth: usize, out: &mut Vec<Tlv<'a>>) -> Result<(), CryptoError> {
    if depth > MAX_DEPTH {
        return Err(CryptoError::Invalid("EMV TLV is nested too deeply"));
    }
    for item in parse(data)? {
        if item.is_constructed() {
            collect(item.value, depth + 1, out)?;
        } else {
            out.push(item);
        }
    }
    Ok(())
}

/// EMV format `n`: `value` in BCD, right-justified with leading zeros, in `bytes` bytes
/// (9F02 is `n(amount, 6)`, 5F2A is `n(code, 2)`).
pub fn n(value: u64, bytes: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; bytes];
    let mut rest = value;
    for byte in out.iter_mut().rev() {
        let lo = (rest % 10) as u8;
        let hi = ((rest / 10) % 10) as u8;
        *byte = (hi << 4) | lo;
        rest /= 100;
    }
    if rest != 0 {
        return Err(CryptoError::Invalid("number does not fit the EMV n field"));
    }
    Ok(out)
}

/// Reads EMV format `n` (BCD digits only; at most 19 digits, the most a u64 holds).
pub fn decode_n(value: &[u8]) -> Result<u64, CryptoError> {
    let bad = CryptoError::Invalid("EMV n field is not BCD");
    let digits = nibbles(value);
    let significant: Vec<u8> = digits.iter().copied().skip_while(|&d| d == 0).collect();
    if digits.iter().any(|&d| d > 9) {
        return Err(bad);
    }
    if significant.len() > 19 {
        return Err(CryptoError::Invalid("EMV n field is too long"));
    }
    Ok(significant.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d)))
}

/// EMV format `cn`: the digits in BCD, left-justified, padded with 0xF nibbles.
pub fn cn(digits: &str) -> Result<Vec<u8>, CryptoError> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CryptoError::Invalid("EMV cn field takes digits only"));
    }
    let mut ds: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    if ds.len() % 2 == 1 {
        ds.push(0xF);
    }
    Ok(ds.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// Reads EMV format `cn`: digits, then only 0xF padding.
pub fn decode_cn(value: &[u8]) -> Result<String, CryptoError> {
    let ds = nibbles(value);
    let end = ds.iter().position(|&d| d == 0xF).unwrap_or(ds.len());
    if ds[..end].iter().any(|&d| d > 9) || ds[end..].iter().any(|&d| d != 0xF) {
        return Err(CryptoError::Invalid("EMV cn field is not BCD digits with F padding"));
    }
    Ok(ds[..end].iter().map(|&d| char::from(b'0' + d)).collect())
}

fn nibbles(value: &[u8]) -> Vec<u8> {
    value.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect()
}

/// Upper-case hex of `bytes` (tag names in [`super::DecryptedRead::tags`]).
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card_crypto::dukpt::tests::hexv;

    /// Published in globalpayments/java-sdk, `src/test/java/com/global/api/tests/network/
    /// vaps/VapsDebitTests.java` (`withTagData`): EMV data with 9F02 000000001000 and
    /// 5F2A 0124.
    const GLOBALPAYMENTS_TAGS: &str = concat!(
        "82021C008407A0000002771010950580000000009A031709289C01005F280201245F2A0201245F3401019F0206000000",
        "0010009F03060000000000009F080200019F090200019F100706010A03A420009F1A0201249F26089CC473F4A4CE18D3",
        "9F2701809F3303E0F8C89F34030100029F3501229F360200639F370435EFED379F410400000019"
    );

    /// Published in coolbong/JavaTlv, `src/test/java/TlvTest.java` (`test_tlv_gp_get_status`):
    /// constructed two-byte tag BF34 with a 0x81 length (168) over eight two-byte tags.
    const JAVATLV_BF34: &str = concat!(
        "BF3481A8DF0112000000000000000000000000000038000000DF0212000000000000000000000000000000000000",
        "DF0312000000000000000000000000000000000000DF0412000000000000000000000000000000000000",
        "DF0512000000000000000000000000000000000000DF0612000000000000000000000000000000000000",
        "DF0712000000000000000000000000000000000000DF0812000000000000000000000000000000000000"
    );

    #[test]
    fn builder_matches_published_encodings() {
        // coolbong/JavaTlv TlvBuildTest.test_tlv_build_002 (nested templates 70 / 61).
        let app =
            build(&[(&[0x4F], &hexv("A0000000031010")), (&[0x50], &hexv("56495341435245444954")), (&[0x81], &[0x01])]);
        let record = build(&[(&[0x70], &build(&[(&[0x61], &app)]))]);
        assert_eq!(hex_upper(&record), "701A61184F07A0000000031010500A56495341435245444954810101");

        // JavaTlv test_tlv_gp_get_status: multi-byte tags and the 0x81 form.
        let mut first = [0u8; 18];
        first[14] = 0x38;
        let zeros = [0u8; 18];
        let tags: Vec<[u8; 2]> = (1..=8).map(|i| [0xDF, i]).collect();
        let items: Vec<(&[u8], &[u8])> = tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_slice(), if i == 0 { &first[..] } else { &zeros[..] }))
            .collect();
        assert_eq!(hex_upper(&build(&[(&[0xBF, 0x34], &build(&items))])), JAVATLV_BF34);

        // JavaTlv test_tlv_constructor_004: 128 bytes take the length 81 80.
        assert_eq!(build(&[(&[0x94], &[0u8; 128])])[..3], [0x94, 0x81, 0x80]);

        // pyasn1 tests/codec/cer/test_encoder.py, OctetStringEncoderTestCase.testLongMode:
        // a 1000-byte primitive OCTET STRING segment is 04 82 03 E8 followed by the bytes.
        let long = build(&[(&[0x04], &[0x51u8; 1000])]);
        assert_eq!(long[..4], [0x04, 0x82, 0x03, 0xE8]);
        assert_eq!(long.len(), 1004);
    }

    #[test]
    fn parser_reads_published_data() {
        let data = hexv(GLOBALPAYMENTS_TAGS);
        let items = primitives(&data).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(items.len(), 22);
        let get = |tag: &[u8]| items.iter().find(|t| t.tag == tag).map(|t| t.value);
        assert_eq!(get(&[0x9F, 0x02]).map(decode_n), Some(Ok(1000)));
        assert_eq!(get(&[0x5F, 0x2A]).map(decode_n), Some(Ok(124)));
        assert_eq!(get(&[0x9F, 0x26]), Some(hexv("9CC473F4A4CE18D3").as_slice()));
        // Our encoder gives the same bytes for those two values.
        assert_eq!(n(1000, 6), Ok(hexv("000000001000")));
        assert_eq!(n(124, 2), Ok(hexv("0124")));

        // coolbong/JavaTlv TlvTest.test_tlv_find_002: primitives inside template 77.
        let r77 = hexv(
            "77319F2701809F360200019F2608CA800E798292C38D9F101A1110A00103220001DAC000000000000000FF00000000000000FF",
        );
        let items = primitives(&r77).unwrap_or_else(|e| panic!("{e}"));
        let tags: Vec<String> = items.iter().map(|t| hex_upper(t.tag)).collect();
        assert_eq!(tags, ["9F27", "9F36", "9F26", "9F10"]);
        assert_eq!(items[1].value, [0x00, 0x01]);

        let bf34 = hexv(JAVATLV_BF34);
        let items = primitives(&bf34).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(items.len(), 8);
        assert_eq!(hex_upper(items[0].value), "000000000000000000000000000038000000");
        let pyasn1: Vec<u8> = [&[0x04, 0x82, 0x03, 0xE8][..], &[0x51; 1000]].concat();
        assert_eq!(parse(&pyasn1).map(|v| v[0].value.len()), Ok(1000));
    }

    #[test]
    fn truncated_and_malformed_input_is_refused() {
        for published in [hexv(JAVATLV_BF34), [&[0x04, 0x82, 0x03, 0xE8][..], &[0x51; 1000]].concat()] {
            for cut in 1..published.len() {
                assert!(parse(&published[..cut]).is_err(), "prefix of {cut} bytes");
            }
        }
        assert_eq!(parse(&[]), Ok(vec![]));
        for bad in [
            &[0x9F][..],                           // tag cut short
            &[0x9F, 0x81],                         // tag continues past the end
            &[0x9F, 0x81, 0x81, 0x81, 0x01, 0x00], // tag longer than 4 bytes
            &[0x5A, 0x80, 0x00, 0x00],             // indefinite length
            &[0x5A, 0x85, 0, 0, 0, 0, 1, 0],       // 5 length bytes
            &[0x5A, 0x82, 0x01],                   // length cut short
            &[0x5A, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], // value far past the end
            &[0x00, 0x01, 0x00],                   // 00 filler
        ] {
            assert!(parse(bad).is_err(), "{bad:02X?}");
        }
        let twice = build(&[(&[0x5A], &[0x12]), (&[0x70], &build(&[(&[0x5A], &[0x34])]))]);
        assert!(parse(&twice).is_ok());
        assert!(primitives(&twice).is_err(), "5A given twice");
        let mut deep = build(&[(&[0x5A], &[0x12])]);
        for _ in 0..10 {
            deep = build(&[(&[0x70], &deep)]);
        }
        assert!(primitives(&deep).is_err());
    }

    #[test]
    fn round_trips_and_garbage_never_panic() {
        let mut rng = fastrand::Rng::with_seed(690);
        for _ in 0..300 {
            let tags: Vec<Vec<u8>> = (0..rng.usize(0..6))
                .map(|i| match rng.u8(0..3) {
                    0 => vec![0x41 + i as u8],
                    1 => vec![0x5F, 0x20 + i as u8],
                    _ => vec![0x9F, 0x81, 0x10 + i as u8],
                })
                .collect();
            let values: Vec<Vec<u8>> =
                tags.iter().map(|_| (0..rng.usize(0..300)).map(|_| rng.u8(..)).collect()).collect();
            let items: Vec<(&[u8], &[u8])> = tags.iter().zip(&values).map(|(t, v)| (&t[..], &v[..])).collect();
            let encoded = build(&items);
            let parsed = parse(&encoded).unwrap_or_else(|e| panic!("{e}"));
            let back: Vec<(&[u8], &[u8])> = parsed.iter().map(|t| (t.tag, t.value)).collect();
            assert_eq!(back, items);
        }
        for _ in 0..3000 {
            let junk: Vec<u8> = (0..rng.usize(0..40)).map(|_| rng.u8(..)).collect();
            let _ = primitives(&junk);
            let _ = decode_n(&junk);
            let _ = decode_cn(&junk);
        }
    }

    #[test]
    fn bcd_formats_round_trip_and_refuse_bad_digits() {
        for pan in ["4111111111111111", "6214672500000000056", "123456789012"] {
            let v = cn(pan).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(v.len(), pan.len().div_ceil(2));
            assert_eq!(decode_cn(&v).as_deref(), Ok(pan));
        }
        for amount in [0u64, 1, 1250, 999_999_999_999] {
            assert_eq!(n(amount, 6).and_then(|v| decode_n(&v)), Ok(amount));
        }
        assert!(n(1_000_000_000_000, 6).is_err(), "13 digits do not fit n12");
        assert!(cn("41x1").is_err());
        assert!(decode_n(&[0x12, 0x3A]).is_err());
        assert!(decode_cn(&[0x41, 0xF1]).is_err(), "digit after F padding");
        assert!(decode_cn(&[0x4A, 0x11]).is_err());
    }
}
