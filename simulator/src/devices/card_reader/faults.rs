//! Faults the simulated reader plays on command (`POST /sim/card-reader/fault`, scenario
//! step `card_reader_fault`): what each one does to the link or the transactions, and the
//! damaged copies of a frame written in front of the real one.

use super::cards::TestCard;
use super::link::STX;
use super::machine::{DEFAULT_HOLD, ERROR_CODES, error_name};
use serde::{Deserialize, Deserializer, Serialize};
use std::time::{Duration, Instant};

/// A fault for the reader to play. JSON/TOML: `{"kind": "stray_read", "card": "approve"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReaderFault {
    /// Sends a CARD_READ of `card` (tapped) now, for a transaction that is not open: `txn`
    /// if given, else the last one that ended, else 0. Works while idle too.
    StrayRead {
        /// The card read.
        card: TestCard,
        /// The txn it carries (must not be the open one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        txn: Option<u32>,
    },
    /// The first ACK of the reader's next CARD_READ is taken as never arrived: the read is
    /// sent again 500 ms later with the same SEQ (a duplicate the host must drop).
    ResendNextRead,
    /// The first `count` ACKs (default 1, at most 4) of the reader's next frame, of any
    /// kind, are taken as never arrived; each costs a resend 500 ms later. With 4 the
    /// frame is given up as after a link failure (a CARD_READ is then forgotten).
    LoseNextAck {
        /// ACKs to lose.
        #[serde(default = "one")]
        count: u8,
    },
    /// A read crossing the cancel: on the next presentation the reader makes the read but
    /// holds the CARD_READ until a CANCEL for the transaction arrives, sends it then (as if
    /// it had left just before the CANCEL came in), and handles the CANCEL as the spec says:
    /// the read is forgotten, IDLE(t, CANCELED). With no CANCEL within `hold_ms` (default
    /// 1000) the read goes out normally.
    ReadThenIgnoreCancel {
        /// How long the read waits for the CANCEL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hold_ms: Option<u64>,
    },
    /// Sends ERROR `code` (a number or a name such as `"CARD_UNREADABLE"`) for the open
    /// transaction, or txn 0 if none, and does what the code's kind means (§5): retryable
    /// codes keep waiting, ending codes end the transaction (IDLE FAILED), out-of-service
    /// codes (0x30 and up) also keep the reader out of service until `repair`.
    Error {
        /// ERROR code.
        #[serde(deserialize_with = "error_code")]
        code: u8,
        /// Text for the host's log (default: the code's name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Clears an out-of-service fault (STATUS fault 0 again).
    Repair,
    /// Writes these bytes on the line now, as they are.
    Garbage {
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Writes a damaged copy of the reader's next frame right before it; the frame itself
    /// must still get through. Injected again before that frame went out, the next copy
    /// goes in front of the frame after it (one copy per frame, in order).
    DamagedFrame {
        /// What is wrong with the copy.
        how: FrameDamage,
    },
    /// Writes every ACK `ms` late (0 restores).
    SlowAcks {
        /// Delay in milliseconds (at most 60 000).
        ms: u64,
    },
    /// A hung reader: while on, it reads and drops everything and sends nothing; its
    /// timers do not run. When it comes back, an unacknowledged frame is resent.
    Dead {
        /// Hung (true) or answering again (false).
        on: bool,
    },
    /// A power cycle: the open transaction, queued frames, armed faults and what it
    /// remembered of the host are gone; its SEQ starts at 1 again. An out-of-service
    /// fault, the DUKPT counter and `slow_acks` stay.
    Reboot,
    /// The chip declines in the second GENERATE AC: after the next approved OUTCOME of a
    /// chip read the reader ends with IDLE(t, CARD_DECLINED).
    ChipDeclines,
}

fn one() -> u8 {
    1
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CodeIn {
    Number(u8),
    Name(String),
}

fn error_code<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    use serde::de::Error;
    match CodeIn::deserialize(d)? {
        CodeIn::Number(n) => Ok(n),
        CodeIn::Name(s) => {
            if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                return u8::from_str_radix(hex, 16).map_err(D::Error::custom);
            }
            ERROR_CODES.iter().find(|(n, _)| n.eq_ignore_ascii_case(&s)).map(|(_, c)| *c).ok_or_else(|| {
                D::Error::custom(format!("unknown ERROR code `{s}`: give a number or a name of docs §5"))
            })
        }
    }
}

/// How the damaged copy of a frame is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameDamage {
    /// LEN set to 1025 (outside 2 … 1024).
    BadLen,
    /// The first half of the frame, then 80 ms of silence (the inter-byte timeout).
    Truncated,
    /// A lone STX in front of the frame.
    StrayStx,
    /// The frame with its CRC's low byte inverted.
    BadCrc,
}

/// Silence after a truncated copy: longer than the 50 ms inter-byte timeout.
pub const TRUNCATED_PAUSE: Duration = Duration::from_millis(80);

impl FrameDamage {
    /// The damaged copy of `frame` and the pause before the frame itself.
    pub fn copy_of(self, frame: &[u8]) -> (Vec<u8>, Duration) {
        let mut copy = frame.to_vec();
        match self {
            FrameDamage::BadLen if copy.len() >= 3 => {
                copy[1..3].copy_from_slice(&1025u16.to_be_bytes());
            }
            FrameDamage::Truncated => {
                copy.truncate((frame.len() / 2).max(5));
                return (copy, TRUNCATED_PAUSE);
            }
            FrameDamage::StrayStx => return (vec![STX], Duration::ZERO),
            FrameDamage::BadCrc => {
                if let Some(last) = copy.last_mut() {
                    *last ^= 0xFF;
                }
            }
            FrameDamage::BadLen => {}
        }
        (copy, Duration::ZERO)
    }
}

impl super::Core {
    /// Plays `fault`; refused when it cannot be played now.
    pub(super) fn inject(&mut self, fault: ReaderFault, now: Instant) -> Result<(), &'static str> {
        let on_line = |c: &Self| match (c.plugged, c.dead) {
            (false, _) => Err("the card reader is unplugged"),
            (true, true) => Err("the card reader is not answering (dead)"),
            (true, false) => Ok(()),
        };
        match fault {
            ReaderFault::StrayRead { card, txn } => {
                on_line(self)?;
                let out = self.machine.stray_read(card, txn)?;
                self.send_all(out);
            }
            ReaderFault::ResendNextRead => self.link.lose_next_read = true,
            ReaderFault::LoseNextAck { count } if (1..=4).contains(&count) => self.link.lose_next = count,
            ReaderFault::LoseNextAck { .. } => return Err("lose_next_ack: count is 1 to 4"),
            ReaderFault::ReadThenIgnoreCancel { hold_ms } => {
                self.machine.armed.hold_read = Some(hold_ms.map_or(DEFAULT_HOLD, Duration::from_millis));
            }
            ReaderFault::Error { code, text } => {
                on_line(self)?;
                let text = text.unwrap_or_else(|| error_name(code).to_string());
                let out = self.machine.inject_error(code, &text, now)?;
                self.send_all(out);
            }
            ReaderFault::Repair => self.machine.repair(),
            ReaderFault::Garbage { bytes } => {
                on_line(self)?;
                self.link.write_raw(bytes);
            }
            ReaderFault::DamagedFrame { how } => self.link.damage_next.push_back(how),
            ReaderFault::SlowAcks { ms } if ms <= 60_000 => self.link.ack_delay = Duration::from_millis(ms),
            ReaderFault::SlowAcks { .. } => return Err("slow_acks: at most 60000 ms"),
            ReaderFault::Dead { on } => {
                if self.dead && !on {
                    self.link.wake(now);
                    self.machine.saw_frame(now);
                }
                self.dead = on;
            }
            ReaderFault::Reboot => {
                if !self.plugged {
                    return Err("the card reader is unplugged");
                }
                self.reboot(now);
            }
            ReaderFault::ChipDeclines => self.machine.armed.chip_declines = true,
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::devices::card_reader::link::{ETX, encode};

    #[test]
    fn faults_parse_from_json_and_toml() {
        let f: ReaderFault = serde_json::from_str(r#"{"kind":"stray_read","card":"approve"}"#).unwrap();
        assert_eq!(f, ReaderFault::StrayRead { card: TestCard::Approve, txn: None });
        let f: ReaderFault = serde_json::from_str(r#"{"kind":"error","code":"tamper"}"#).unwrap();
        assert_eq!(f, ReaderFault::Error { code: 0x32, text: None });
        let f: ReaderFault = serde_json::from_str(r#"{"kind":"error","code":1}"#).unwrap();
        assert_eq!(f, ReaderFault::Error { code: 1, text: None });
        let f: ReaderFault = serde_json::from_str(r#"{"kind":"error","code":"0x33"}"#).unwrap();
        assert_eq!(f, ReaderFault::Error { code: 0x33, text: None });
        let f: ReaderFault = toml::from_str("kind = \"damaged_frame\"\nhow = \"bad_crc\"").unwrap();
        assert_eq!(f, ReaderFault::DamagedFrame { how: FrameDamage::BadCrc });
        let f: ReaderFault = toml::from_str("kind = \"garbage\"\nbytes = [0, 255, 6]").unwrap();
        assert_eq!(f, ReaderFault::Garbage { bytes: vec![0, 255, 6] });
        let f: ReaderFault = serde_json::from_str(r#"{"kind":"lose_next_ack"}"#).unwrap();
        assert_eq!(f, ReaderFault::LoseNextAck { count: 1 });
        for bad in [
            r#"{"kind":"garbage","bytes":[1],"extra":1}"#,
            r#"{"kind":"error","code":"NO_SUCH_CODE"}"#,
            r#"{"kind":"explode"}"#,
            r#"{"kind":"dead"}"#,
        ] {
            assert!(serde_json::from_str::<ReaderFault>(bad).is_err(), "{bad}");
        }
        let back = serde_json::to_value(ReaderFault::SlowAcks { ms: 700 }).unwrap();
        assert_eq!(back, serde_json::json!({"kind": "slow_acks", "ms": 700}));
    }

    #[test]
    fn damaged_copies_are_damaged_as_named() {
        let frame = encode(3, 0x86, &[0, 0, 0, 0x2A, 0]);
        let (bad_len, pause) = FrameDamage::BadLen.copy_of(&frame);
        assert_eq!((&bad_len[..3], &bad_len[3..]), (&[STX, 0x04, 0x01][..], &frame[3..]));
        assert_eq!(pause, Duration::ZERO);
        let (cut, pause) = FrameDamage::Truncated.copy_of(&frame);
        assert_eq!((cut.as_slice(), pause), (&frame[..6], TRUNCATED_PAUSE));
        assert_eq!(FrameDamage::StrayStx.copy_of(&frame).0, [STX]);
        let (crc, _) = FrameDamage::BadCrc.copy_of(&frame);
        assert_eq!(crc.len(), frame.len());
        assert_eq!(crc[..crc.len() - 1], frame[..frame.len() - 1]);
        assert_eq!(crc[crc.len() - 3], ETX);
        assert_ne!(crc.last(), frame.last());
    }
}
