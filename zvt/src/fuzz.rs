//! The fuzz entry point (`fuzz/fuzz_targets/zvt_apdu.rs`, replayed by `tests/no_panic.rs`):
//! arbitrary bytes through every decoder; nothing may panic.

use crate::{Apdu, ApduReader, PtMessage, decode_ecr, serial};

/// Feeds `data` to the stream reader (whole and in two pieces), the single-APDU decoder,
/// both message decoders and the serial frame reader; re-encodes what decodes.
pub fn zvt_apdu(data: &[u8]) {
    let split = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut reader = ApduReader::new();
    reader.push(&data[..split]);
    let _ = reader.next_apdu();
    reader.push(&data[split..]);
    while let Ok(Some(apdu)) = reader.next_apdu() {
        decode_all(&apdu);
    }
    if let Ok(apdu) = Apdu::decode(data) {
        decode_all(&apdu);
    }
    let mut frames = serial::FrameReader::new();
    for event in frames.push(data) {
        if let serial::FrameEvent::Frame(bytes) = event {
            let _ = Apdu::decode(&bytes).map(|apdu| decode_all(&apdu));
        }
    }
}

fn decode_all(apdu: &Apdu) {
    if let Ok(crate::EcrMessage::Command(command)) = decode_ecr(apdu) {
        let _ = command.to_apdu();
    }
    if let Ok(message) = PtMessage::decode(apdu) {
        let _ = message.to_apdu();
    }
}
