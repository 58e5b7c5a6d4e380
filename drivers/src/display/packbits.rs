//! PackBits run-length coding (Apple Technical Note TN1023, TIFF 6.0 §9, compression
//! 32773) over units of `N` bytes: a header byte `n` read as signed, then for 0..=127 the
//! next `n + 1` units literally, for -1..=-127 the next unit `1 - n` times, and -128
//! nothing. With `N = 1` it is TIFF's PackBits byte for byte; the panel protocol's
//! compressed BLIT codes a pixel (2 bytes) as the unit on RGB565 panels, so a flat colour
//! whose two bytes differ still makes runs, and a byte (8 pixels) on 1-bit panels
//! (`docs/protocols.md`).

/// Longest run or literal one header byte covers.
const MAX_RUN: usize = 128;

/// Appends `src`, whole units of `N` bytes (a trailing part of a unit is left out),
/// coded as PackBits to `out`: a run of two or more equal units that starts a packet is
/// repeated, a literal is cut before a run of three (as Apple's encoder does).
pub fn encode_into<const N: usize>(src: &[u8], out: &mut Vec<u8>) {
    let units = src.len() / N;
    let unit = |i: usize| &src[i * N..(i + 1) * N];
    let mut i = 0;
    while i < units {
        let run = (i..units.min(i + MAX_RUN)).take_while(|&j| unit(j) == unit(i)).count();
        if run >= 2 {
            out.push((257 - run) as u8);
            out.extend_from_slice(unit(i));
            i += run;
            continue;
        }
        let start = i;
        i += 1;
        while i < units && i - start < MAX_RUN && !(i + 2 < units && unit(i) == unit(i + 1) && unit(i) == unit(i + 2)) {
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&src[start * N..i * N]);
    }
}

/// `src` coded as PackBits over bytes (TIFF's PackBits).
pub fn encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() / 8 + 16);
    encode_into::<1>(src, &mut out);
    out
}

/// Why PackBits data does not decode to what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackBitsError {
    /// A packet's header promises more bytes than the data has.
    #[error("PackBits data ends inside a packet")]
    Truncated,
    /// The data decodes to more or fewer bytes than expected.
    #[error("PackBits data decodes to {got} bytes, {expected} were expected")]
    Length {
        /// Bytes the data would give (as far as it was read).
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
}

/// Decodes `src` (PackBits over bytes), which must give exactly `expected` bytes.
pub fn decode(src: &[u8], expected: usize) -> Result<Vec<u8>, PackBitsError> {
    decode_units::<1>(src, expected)
}

/// Decodes `src`, PackBits over `N`-byte units, which must give exactly `expected`
/// bytes (so a bad packet cannot make a panel allocate more than its region).
pub fn decode_units<const N: usize>(src: &[u8], expected: usize) -> Result<Vec<u8>, PackBitsError> {
    let mut out = Vec::with_capacity(expected);
    let mut i = 0;
    while i < src.len() {
        let n = src[i] as i8;
        i += 1;
        let (count, literal) = match n {
            0..=127 => (n as usize + 1, true),
            -127..=-1 => ((1 - i16::from(n)) as usize, false),
            _ => continue, // -128: no operation
        };
        if out.len() + count * N > expected {
            return Err(PackBitsError::Length { got: out.len() + count * N, expected });
        }
        if literal {
            let bytes = src.get(i..i + count * N).ok_or(PackBitsError::Truncated)?;
            out.extend_from_slice(bytes);
            i += count * N;
        } else {
            let unit: [u8; N] = src.get(i..i + N).and_then(|u| u.try_into().ok()).ok_or(PackBitsError::Truncated)?;
            let start = out.len();
            out.resize(start + count * N, 0);
            for dst in out[start..].chunks_exact_mut(N) {
                dst.copy_from_slice(&unit);
            }
            i += N;
        }
    }
    if out.len() != expected {
        return Err(PackBitsError::Length { got: out.len(), expected });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apple's example in Technical Note TN1023 (the same in TIFF 6.0 §9).
    const UNPACKED: [u8; 24] = [
        0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22, 0xAA, 0xAA, 0xAA, 0xAA,
        0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
    ];
    const PACKED: [u8; 15] = [0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7, 0xAA];

    #[test]
    fn apples_example_is_byte_exact_both_ways() {
        assert_eq!(encode(&UNPACKED), PACKED);
        assert_eq!(decode(&PACKED, UNPACKED.len()), Ok(UNPACKED.to_vec()));
    }

    #[test]
    fn the_no_operation_header_is_skipped() {
        assert_eq!(decode(&[0x80, 0xFF, 0x07, 0x80], 2), Ok(vec![7, 7]));
    }

    #[test]
    fn long_runs_and_literals_are_cut_at_128() {
        let mut src = vec![5u8; 300];
        src.extend((0..=255u8).cycle().take(300));
        let packed = encode(&src);
        assert_eq!(decode(&packed, src.len()), Ok(src.clone()));
        // 300 equal bytes: 128 + 128 + 44, two bytes each.
        assert_eq!(&packed[..6], &[0x81, 5, 0x81, 5, 0xD5, 5]);
    }

    #[test]
    fn data_of_the_wrong_length_or_cut_short_is_refused() {
        assert_eq!(decode(&PACKED, 23), Err(PackBitsError::Length { got: 24, expected: 23 }));
        assert_eq!(decode(&PACKED, 25), Err(PackBitsError::Length { got: 24, expected: 25 }));
        assert_eq!(decode(&[0x03, 1, 2], 4), Err(PackBitsError::Truncated));
        assert_eq!(decode(&[0xFE], 3), Err(PackBitsError::Truncated));
        // A header promising a run past the region is refused before anything is made.
        assert_eq!(decode(&[0x81, 0], 10), Err(PackBitsError::Length { got: 128, expected: 10 }));
    }

    #[test]
    fn two_byte_units_make_runs_of_a_colour_whose_bytes_differ() {
        // Three pink pixels (F8 1F), then red and white: a run, then a literal of two.
        let src = [[0xF8, 0x1F], [0xF8, 0x1F], [0xF8, 0x1F], [0xF8, 0x00], [0xFF, 0xFF]];
        let mut out = vec![];
        encode_into::<2>(src.as_flattened(), &mut out);
        assert_eq!(out, [0xFE, 0xF8, 0x1F, 0x01, 0xF8, 0x00, 0xFF, 0xFF]);
        assert_eq!(decode_units::<2>(&out, 10), Ok(src.as_flattened().to_vec()));
        // Half a unit at the end, or one unit too many, is refused.
        assert_eq!(decode_units::<2>(&[0x00, 0xF8], 2), Err(PackBitsError::Truncated));
        assert_eq!(decode_units::<2>(&out, 8), Err(PackBitsError::Length { got: 10, expected: 8 }));
    }

    #[test]
    fn pseudo_random_data_round_trips() {
        let mut x: u32 = 0x1234_5678;
        for len in [0usize, 1, 2, 3, 127, 128, 129, 1000, 4099] {
            let src: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    // Few distinct values, so runs of every length occur.
                    (x % 3) as u8
                })
                .collect();
            assert_eq!(decode(&encode(&src), len), Ok(src.clone()), "length {len}");
            let units = &src[..len / 2 * 2];
            let mut packed = vec![];
            encode_into::<2>(units, &mut packed);
            assert_eq!(decode_units::<2>(&packed, units.len()), Ok(units.to_vec()), "length {len}, 2-byte units");
        }
    }
}
