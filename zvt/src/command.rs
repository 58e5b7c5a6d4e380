//! The commands an ECR sends to the PT [P15 §2]: the ones posagent answers, decoded;
//! every other one is [`Command::Unsupported`].

use crate::apdu::Apdu;
use crate::bcd;
use crate::bmp::{BmpWriter, Bmps};
use crate::error::{DecodeError, EncodeError};
use crate::fields::{self, Password};
use crate::text;
use crate::tlv::TlvContainer;

/// A command from the ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Registration `06 00` [P15 §2.1].
    Registration(Registration),
    /// Log-Off `06 02` [P15 §2.24].
    LogOff,
    /// Status-Enquiry `05 01` [P15 §2.56] (password and service byte are checked for form only).
    StatusEnquiry,
    /// Authorization `06 01` [P15 §2.2].
    Authorization(Authorization),
    /// Reversal `06 30` [P15 §2.9].
    Reversal(Reversal),
    /// Refund `06 31` [P15 §2.15].
    Refund(Refund),
    /// End-of-Day `06 50` [P15 §2.16].
    EndOfDay(Password),
    /// Repeat Receipt `06 20` [P15 §2.20].
    RepeatReceipt(Password),
    /// Abort `06 B0` [P15 §2.23].
    Abort,
    /// Any other command: the session answers `84 83 00`.
    Unsupported {
        /// CLASS.
        class: u8,
        /// INSTR.
        instr: u8,
    },
}

/// The config byte of a registration [P15 §2.1 Table 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigByte(pub u8);

impl ConfigByte {
    /// The configuration after a Log-Off or before any registration: `86` [P15 §2.24].
    pub const AFTER_LOG_OFF: ConfigByte = ConfigByte(0x86);

    /// `02`: the ECR prints the payment receipts.
    pub fn ecr_prints_payment_receipts(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// `04`: the ECR prints the administration receipts.
    pub fn ecr_prints_admin_receipts(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// `08`: the ECR wants intermediate status information (`04 FF`).
    pub fn intermediate_status(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// `10`: no amount entry on the PT.
    pub fn no_amount_entry(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// `20`: no administration functions started on the PT.
    pub fn no_admin_on_pt(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// `80`: receipts as print lines (`06 D1`/`06 D3`), not built by the ECR from `04 0F`.
    pub fn receipts_as_print_lines(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// Registration `06 00 <pw><config>[<CC>[03<service>][06<TLV>]]` [P15 §2.1].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registration {
    /// The password.
    pub password: Password,
    /// The config byte.
    pub config: ConfigByte,
    /// The currency code (sent without a BMP number).
    pub currency: Option<u16>,
    /// BMP 03.
    pub service_byte: Option<u8>,
    /// BMP 06.
    pub tlv: Option<TlvContainer>,
    /// TLV 12: characters per line of the ECR's printer (from `tlv`).
    pub printer_width: Option<u16>,
    /// TLV 26 lists `0A 06 D3`: the ECR accepts text blocks (from `tlv`).
    pub accepts_text_blocks: bool,
}

impl Registration {
    /// A registration with these fields; `printer_width` and `accepts_text_blocks` are
    /// read from `tlv`.
    pub fn new(
        password: Password,
        config: ConfigByte,
        currency: Option<u16>,
        service_byte: Option<u8>,
        tlv: Option<TlvContainer>,
    ) -> Self {
        let printer_width =
            tlv.as_ref().and_then(|t| t.find_bytes(0x12)).and_then(|b| bcd::decode_number(b, "", 0).ok());
        let accepts_text_blocks = tlv
            .as_ref()
            .and_then(|t| t.find(0x26))
            .is_some_and(|list| list.children().iter().any(|c| c.tag == 0x0A && c.bytes() == Some(&[0x06, 0xD3])));
        Registration {
            password,
            config,
            currency,
            service_byte,
            tlv,
            printer_width: printer_width.map(|w| w as u16),
            accepts_text_blocks,
        }
    }
}

/// Authorization `06 01` [P15 §2.2.1] (card data BMPs are parsed and ignored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorization {
    /// BMP 04, minor units.
    pub amount: u64,
    /// BMP 49.
    pub currency: Option<u16>,
    /// BMP 19.
    pub payment_type: Option<u8>,
    /// BMP 01: seconds the PT waits for the answer to `04 0F`.
    pub timeout_secs: Option<u8>,
    /// BMP 02: how often the ECR may answer `84 9C`.
    pub max_status_infos: Option<u8>,
    /// BMP 8A, or TLV 41 when 8A is `FF` or absent.
    pub card_type: Option<u16>,
    /// BMP 06 (without a TLV 41 taken as `card_type`).
    pub tlv: Option<TlvContainer>,
}

/// Reversal `06 30 <pw> 87<receipt-no> [04][49][19]…` [P15 §2.9].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reversal {
    /// The password.
    pub password: Password,
    /// BMP 87, 4 BCD digits.
    pub receipt_no: u16,
    /// BMP 04.
    pub amount: Option<u64>,
    /// BMP 49.
    pub currency: Option<u16>,
    /// BMP 19.
    pub payment_type: Option<u8>,
}

/// Refund `06 31 <pw> [04][49][19]…[3C][8A][06]` [P15 §2.15].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refund {
    /// The password.
    pub password: Password,
    /// BMP 04.
    pub amount: Option<u64>,
    /// BMP 49.
    pub currency: Option<u16>,
    /// BMP 19.
    pub payment_type: Option<u8>,
    /// BMP 3C (LLLVAR text): posagent's reference of the purchase.
    pub additional_data: Option<String>,
    /// BMP 8A or TLV 41.
    pub card_type: Option<u16>,
}

impl Command {
    /// Decodes a command APDU (any CLASS INSTR; unknown ones are `Unsupported`).
    pub fn decode(apdu: &Apdu) -> Result<Command, DecodeError> {
        let data = &apdu.data;
        Ok(match (apdu.class, apdu.instr) {
            (0x06, 0x00) => Command::Registration(decode_registration(data)?),
            (0x06, 0x02) => Command::LogOff,
            (0x05, 0x01) => {
                if !data.is_empty() {
                    Password::decode(data, "Status-Enquiry")?;
                    Bmps::parse(&data[3..], 3)?;
                }
                Command::StatusEnquiry
            }
            (0x06, 0x01) => Command::Authorization(decode_authorization(data)?),
            (0x06, 0x30) => Command::Reversal(decode_reversal(data)?),
            (0x06, 0x31) => Command::Refund(decode_refund(data)?),
            (0x06, 0x50) => Command::EndOfDay(password_then_bmps(data, "End-of-Day")?),
            (0x06, 0x20) => Command::RepeatReceipt(password_then_bmps(data, "Repeat Receipt")?),
            (0x06, 0xB0) => {
                Bmps::parse(data, 0)?;
                Command::Abort
            }
            (class, instr) => Command::Unsupported { class, instr },
        })
    }

    /// The command's APDU (what an ECR sends; for tests and round trips).
    pub fn to_apdu(&self) -> Result<Apdu, EncodeError> {
        let (class, instr, data) = match self {
            Command::Registration(r) => (0x06, 0x00, encode_registration(r)?),
            Command::LogOff => (0x06, 0x02, Vec::new()),
            Command::StatusEnquiry => (0x05, 0x01, Vec::new()),
            Command::Authorization(a) => (0x06, 0x01, encode_authorization(a)?),
            Command::Reversal(r) => (0x06, 0x30, encode_reversal(r)?),
            Command::Refund(r) => (0x06, 0x31, encode_refund(r)?),
            Command::EndOfDay(pw) => (0x06, 0x50, pw.encode()?),
            Command::RepeatReceipt(pw) => (0x06, 0x20, pw.encode()?),
            Command::Abort => (0x06, 0xB0, Vec::new()),
            Command::Unsupported { class, instr } => (*class, *instr, Vec::new()),
        };
        Ok(Apdu::new(class, instr, data))
    }
}

fn password_then_bmps(data: &[u8], command: &'static str) -> Result<Password, DecodeError> {
    let password = Password::decode(data, command)?;
    Bmps::parse(&data[3..], 3)?.tlv()?;
    Ok(password)
}

fn decode_registration(data: &[u8]) -> Result<Registration, DecodeError> {
    let password = Password::decode(data, "Registration")?;
    let config = *data.get(3).ok_or(DecodeError::Missing { command: "Registration", what: "config byte" })?;
    let (currency, bmps) = match data.get(4..) {
        None | Some([]) => (None, Bmps::default()),
        Some([_]) => return Err(DecodeError::Truncated { what: "currency code", offset: 4, needed: 2, available: 1 }),
        Some(rest) => (Some(bcd::decode_currency(&rest[..2], 4)?), Bmps::parse(&rest[2..], 6)?),
    };
    Ok(Registration::new(password, ConfigByte(config), currency, bmps.byte(0x03), bmps.tlv()?))
}

fn encode_registration(r: &Registration) -> Result<Vec<u8>, EncodeError> {
    let mut w = BmpWriter::new();
    w.raw(&r.password.encode()?).raw(&[r.config.0]);
    match r.currency {
        Some(cc) => {
            w.raw(&bcd::encode_currency(cc)?);
        }
        None if r.service_byte.is_some() || r.tlv.is_some() => {
            return Err(EncodeError::Invalid {
                what: "Registration",
                reason: "service byte or TLV without a currency code",
            });
        }
        None => {}
    }
    if let Some(service) = r.service_byte {
        w.fixed(0x03, &[service]);
    }
    if let Some(tlv) = &r.tlv {
        w.tlv(tlv)?;
    }
    Ok(w.finish())
}

fn decode_authorization(data: &[u8]) -> Result<Authorization, DecodeError> {
    let bmps = Bmps::parse(data, 0)?;
    let amount = bmps
        .number(0x04, "amount")?
        .ok_or(DecodeError::Missing { command: "Authorization", what: "amount (BMP 04)" })?;
    let mut tlv = bmps.tlv()?;
    Ok(Authorization {
        amount,
        currency: bmps.number(0x49, "currency code")?.map(|v| v as u16),
        payment_type: bmps.byte(0x19),
        timeout_secs: bmps.byte(0x01),
        max_status_infos: bmps.byte(0x02),
        card_type: fields::take_card_type(bmps.byte(0x8A), &mut tlv),
        tlv,
    })
}

fn encode_authorization(a: &Authorization) -> Result<Vec<u8>, EncodeError> {
    let mut w = BmpWriter::new();
    w.fixed(0x04, &bcd::encode_amount(a.amount)?);
    put_money_fields(&mut w, a.currency, a.payment_type)?;
    if let Some(timeout) = a.timeout_secs {
        w.fixed(0x01, &[timeout]);
    }
    if let Some(max) = a.max_status_infos {
        w.fixed(0x02, &[max]);
    }
    let mut tlv = a.tlv.clone();
    if let Some(card_type) = a.card_type {
        w.fixed(0x8A, &[fields::put_card_type(card_type, &mut tlv)]);
    }
    if let Some(tlv) = &tlv {
        w.tlv(tlv)?;
    }
    Ok(w.finish())
}

fn put_money_fields(w: &mut BmpWriter, currency: Option<u16>, payment_type: Option<u8>) -> Result<(), EncodeError> {
    if let Some(cc) = currency {
        w.fixed(0x49, &bcd::encode_currency(cc)?);
    }
    if let Some(pt) = payment_type {
        w.fixed(0x19, &[pt]);
    }
    Ok(())
}

fn decode_reversal(data: &[u8]) -> Result<Reversal, DecodeError> {
    let password = Password::decode(data, "Reversal")?;
    let bmps = Bmps::parse(&data[3..], 3)?;
    bmps.tlv()?;
    let receipt_no = bmps
        .number(0x87, "receipt number")?
        .ok_or(DecodeError::Missing { command: "Reversal", what: "receipt number (BMP 87)" })?;
    Ok(Reversal {
        password,
        receipt_no: receipt_no as u16,
        amount: bmps.number(0x04, "amount")?,
        currency: bmps.number(0x49, "currency code")?.map(|v| v as u16),
        payment_type: bmps.byte(0x19),
    })
}

fn encode_reversal(r: &Reversal) -> Result<Vec<u8>, EncodeError> {
    let mut w = BmpWriter::new();
    w.raw(&r.password.encode()?);
    w.bcd(0x87, u64::from(r.receipt_no), 2, "receipt number")?;
    if let Some(amount) = r.amount {
        w.fixed(0x04, &bcd::encode_amount(amount)?);
    }
    put_money_fields(&mut w, r.currency, r.payment_type)?;
    Ok(w.finish())
}

fn decode_refund(data: &[u8]) -> Result<Refund, DecodeError> {
    let password = Password::decode(data, "Refund")?;
    let bmps = Bmps::parse(&data[3..], 3)?;
    let mut tlv = bmps.tlv()?;
    Ok(Refund {
        password,
        amount: bmps.number(0x04, "amount")?,
        currency: bmps.number(0x49, "currency code")?.map(|v| v as u16),
        payment_type: bmps.byte(0x19),
        additional_data: bmps.get(0x3C).map(|b| text::decode_cp437(b.value)),
        card_type: fields::take_card_type(bmps.byte(0x8A), &mut tlv),
    })
}

fn encode_refund(r: &Refund) -> Result<Vec<u8>, EncodeError> {
    let mut w = BmpWriter::new();
    w.raw(&r.password.encode()?);
    if let Some(amount) = r.amount {
        w.fixed(0x04, &bcd::encode_amount(amount)?);
    }
    put_money_fields(&mut w, r.currency, r.payment_type)?;
    if let Some(text) = &r.additional_data {
        w.lllvar(0x3C, &text::encode_cp437(text), "additional data (BMP 3C)")?;
    }
    let mut tlv = None;
    if let Some(card_type) = r.card_type {
        w.fixed(0x8A, &[fields::put_card_type(card_type, &mut tlv)]);
    }
    if let Some(tlv) = &tlv {
        w.tlv(tlv)?;
    }
    Ok(w.finish())
}
