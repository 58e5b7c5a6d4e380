//! What an ECR sends [P15 §2]: each command as a struct that encodes itself into an
//! [`Apdu`], plus [`raw`] for anything else (or anything deliberately wrong).

use crate::apdu::Apdu;
use crate::bcd;
use crate::tlv::{self, Tlv};

/// EUR as an ISO 4217 number, the CC `09 78` [P15 §1.4].
pub const EUR: u16 = 978;

/// Config-byte bits of Registration [P15 §2.1 Table 1].
pub mod config {
    /// ECR prints payment receipts.
    pub const ECR_PRINTS_PAYMENT: u8 = 0x02;
    /// ECR prints administration receipts.
    pub const ECR_PRINTS_ADMIN: u8 = 0x04;
    /// ECR wants intermediate status information (04 FF).
    pub const INTERMEDIATE_STATUS: u8 = 0x08;
    /// No amount input on the PT.
    pub const NO_AMOUNT_INPUT: u8 = 0x10;
    /// No administration functions started on the PT.
    pub const NO_ADMIN_ON_PT: u8 = 0x20;
    /// ECR print-type: 1 = receipts as print commands (06 D1/06 D3), 0 = the ECR compiles
    /// receipts from the status information.
    pub const PRINT_LINES: u8 = 0x80;
}

fn password_bytes(password: u32) -> Vec<u8> {
    bcd::encode_number(u64::from(password), 3)
}

fn currency_bytes(cc: u16) -> Vec<u8> {
    bcd::encode_number(u64::from(cc), 2)
}

fn push_tlv(data: &mut Vec<u8>, list: &[Tlv], always: bool) {
    if always || !list.is_empty() {
        let body = tlv::encode_list(list);
        data.push(0x06);
        data.extend(tlv::encode_length(body.len()));
        data.extend(body);
    }
}

/// Any APDU, bytes as given (for commands this crate has no struct for, or broken ones).
pub fn raw(class: u8, instr: u8, data: Vec<u8>) -> Apdu {
    Apdu::new(class, instr, data)
}

/// Registration `06 00` [P15 §2.1]:
/// `<password><config-byte>[<CC>[03<service-byte>][06<TLV>]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The 6-digit password, sent as 3 bytes BCD.
    pub password: u32,
    /// The config byte ([`config`]).
    pub config_byte: u8,
    /// The currency (ISO 4217 number); required by the spec when a service byte or TLV
    /// follows, so [`Registration::encode`] sends EUR then if this is `None`.
    pub currency: Option<u16>,
    /// BMP 03 service byte.
    pub service_byte: Option<u8>,
    /// TLV 12: characters per printer line (1 byte BCD).
    pub printer_width: Option<u8>,
    /// TLV 26: the commands the ECR accepts, each `0A <CLASS INSTR>`.
    pub accepted_commands: Vec<[u8; 2]>,
    /// More TLV objects, appended after 12 and 26.
    pub extra_tlv: Vec<Tlv>,
}

impl Registration {
    /// A registration: ECR prints payment and admin receipts as 06 D1/06 D3, wants 04 FF,
    /// EUR, printer width 40, accepts 06 D1 and 06 D3.
    pub fn new(password: u32) -> Self {
        Self {
            password,
            config_byte: config::ECR_PRINTS_PAYMENT
                | config::ECR_PRINTS_ADMIN
                | config::INTERMEDIATE_STATUS
                | config::PRINT_LINES,
            currency: Some(EUR),
            service_byte: None,
            printer_width: Some(40),
            accepted_commands: vec![[0x06, 0xD1], [0x06, 0xD3]],
            extra_tlv: Vec::new(),
        }
    }

    /// The TLV objects this registration sends.
    pub fn tlv(&self) -> Vec<Tlv> {
        let mut list = Vec::new();
        if let Some(width) = self.printer_width {
            list.push(Tlv::primitive(0x12, bcd::encode_number(u64::from(width), 1)));
        }
        if !self.accepted_commands.is_empty() {
            let commands = self.accepted_commands.iter().map(|c| Tlv::primitive(0x0A, *c)).collect();
            list.push(Tlv::constructed(0x26, commands));
        }
        list.extend(self.extra_tlv.iter().cloned());
        list
    }

    /// The APDU.
    pub fn encode(&self) -> Apdu {
        let mut data = password_bytes(self.password);
        data.push(self.config_byte);
        let tlv = self.tlv();
        let needs_cc = self.service_byte.is_some() || !tlv.is_empty();
        if let Some(cc) = self.currency.or(needs_cc.then_some(EUR)) {
            data.extend(currency_bytes(cc));
            if let Some(service) = self.service_byte {
                data.extend([0x03, service]);
            }
            push_tlv(&mut data, &tlv, false);
        }
        Apdu::new(0x06, 0x00, data)
    }
}

/// How a card type is sent: `8A` up to 255, `8A FF` plus TLV `41` above [P15 §3.1.1, §9.4].
fn push_card_type(data: &mut Vec<u8>, tlv: &mut Vec<Tlv>, card_type: Option<u16>) {
    match card_type {
        Some(id) if id <= 0xFE => data.extend([0x8A, id as u8]),
        Some(id) => {
            data.extend([0x8A, 0xFF]);
            let bytes = id.to_be_bytes();
            let value = if bytes[0] == 0 { vec![bytes[1]] } else { bytes.to_vec() };
            tlv.insert(0, Tlv::primitive(0x41, value));
        }
        None => {}
    }
}

/// Authorization `06 01` [P15 §2.2.1], fields in the spec's order:
/// `04 49 19 01 02 3C 8A 06`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorization {
    /// Amount in minor units (BMP 04, 6 bytes BCD).
    pub amount: u64,
    /// BMP 49 currency.
    pub currency: Option<u16>,
    /// BMP 19 payment type [P15 Table 4].
    pub payment_type: Option<u8>,
    /// BMP 01: seconds the PT waits for the answer to 04 0F.
    pub timeout_secs: Option<u8>,
    /// BMP 02: how often the ECR may answer 84 9C.
    pub max_status_infos: Option<u8>,
    /// BMP 3C additional data, sent as LLLVAR.
    pub additional_data: Option<Vec<u8>>,
    /// ZVT card-type id: `8A`, or `8A FF` + TLV 41 when above 254.
    pub card_type: Option<u16>,
    /// More TLV objects (e.g. 1F1F, 1F04).
    pub tlv: Vec<Tlv>,
}

impl Authorization {
    /// A payment of `amount` minor units in EUR.
    pub fn new(amount: u64) -> Self {
        Self { amount, currency: Some(EUR), ..Self::default() }
    }

    /// The APDU.
    pub fn encode(&self) -> Apdu {
        let mut data = vec![0x04];
        data.extend(bcd::encode_number(self.amount, 6));
        push_common(&mut data, self.currency, self.payment_type);
        if let Some(t) = self.timeout_secs {
            data.extend([0x01, t]);
        }
        if let Some(m) = self.max_status_infos {
            data.extend([0x02, m]);
        }
        push_lllvar(&mut data, 0x3C, self.additional_data.as_deref());
        let mut tlv = self.tlv.clone();
        push_card_type(&mut data, &mut tlv, self.card_type);
        push_tlv(&mut data, &tlv, false);
        Apdu::new(0x06, 0x01, data)
    }
}

fn push_common(data: &mut Vec<u8>, currency: Option<u16>, payment_type: Option<u8>) {
    if let Some(cc) = currency {
        data.push(0x49);
        data.extend(currency_bytes(cc));
    }
    if let Some(pt) = payment_type {
        data.extend([0x19, pt]);
    }
}

fn push_lllvar(data: &mut Vec<u8>, bmp: u8, value: Option<&[u8]>) {
    if let Some(value) = value {
        data.push(bmp);
        data.extend(bcd::encode_var_length(value.len(), 3));
        data.extend_from_slice(&value[..value.len().min(999)]);
    }
}

/// Reversal `06 30` [P15 §2.9]: `<password> 87<receipt-no> [04<amount>] [49<CC>] [06]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reversal {
    /// The password.
    pub password: u32,
    /// The receipt number of the payment to reverse (BMP 87, 2 bytes BCD).
    pub receipt_no: u16,
    /// BMP 04, optional: must match the payment.
    pub amount: Option<u64>,
    /// BMP 49.
    pub currency: Option<u16>,
    /// TLV objects.
    pub tlv: Vec<Tlv>,
}

impl Reversal {
    /// The APDU.
    pub fn encode(&self) -> Apdu {
        let mut data = password_bytes(self.password);
        data.push(0x87);
        data.extend(bcd::encode_number(u64::from(self.receipt_no), 2));
        if let Some(amount) = self.amount {
            data.push(0x04);
            data.extend(bcd::encode_number(amount, 6));
        }
        push_common(&mut data, self.currency, None);
        push_tlv(&mut data, &self.tlv, false);
        Apdu::new(0x06, 0x30, data)
    }
}

/// Refund `06 31` [P15 §2.15]: `<password> [04] [49] [3C] [8A] [06]`; posagent requires the
/// sale's reference in BMP 3C (docs/zvt.md).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refund {
    /// The password.
    pub password: u32,
    /// BMP 04.
    pub amount: Option<u64>,
    /// BMP 49.
    pub currency: Option<u16>,
    /// BMP 3C, LLLVAR ASCII: the sale reference or `R<receipt no.>`.
    pub reference: Option<String>,
    /// Card type: `8A` / `8A FF` + TLV 41.
    pub card_type: Option<u16>,
    /// TLV objects.
    pub tlv: Vec<Tlv>,
}

impl Refund {
    /// The APDU.
    pub fn encode(&self) -> Apdu {
        let mut data = password_bytes(self.password);
        if let Some(amount) = self.amount {
            data.push(0x04);
            data.extend(bcd::encode_number(amount, 6));
        }
        push_common(&mut data, self.currency, None);
        push_lllvar(&mut data, 0x3C, self.reference.as_deref().map(str::as_bytes));
        let mut tlv = self.tlv.clone();
        push_card_type(&mut data, &mut tlv, self.card_type);
        push_tlv(&mut data, &tlv, false);
        Apdu::new(0x06, 0x31, data)
    }
}

/// End-of-Day `06 50 03 <password>` [P15 §2.16.1].
pub fn end_of_day(password: u32) -> Apdu {
    Apdu::new(0x06, 0x50, password_bytes(password))
}

/// Repeat Receipt `06 20 03 <password> [03<service-byte>]` [P15 §2.20.1]; service byte
/// bit 0 asks for the status information again.
pub fn repeat_receipt(password: u32, service_byte: Option<u8>) -> Apdu {
    let mut data = password_bytes(password);
    if let Some(service) = service_byte {
        data.extend([0x03, service]);
    }
    Apdu::new(0x06, 0x20, data)
}

/// Status Enquiry `05 01 03 <password>` [P15 §2.56].
pub fn status_enquiry(password: u32) -> Apdu {
    Apdu::new(0x05, 0x01, password_bytes(password))
}

/// Log-Off `06 02 00` [P15 §2.24].
pub fn log_off() -> Apdu {
    Apdu::new(0x06, 0x02, Vec::new())
}

/// Abort `06 B0 00` [P15 §2.23] (no card-output direction, no card-reader activation).
pub fn abort() -> Apdu {
    Apdu::new(0x06, 0xB0, Vec::new())
}

/// The ECR's positive answer `80 00 00`.
pub fn ack() -> Apdu {
    Apdu::new(0x80, 0x00, Vec::new())
}

/// The ECR's negative answer `84 <code> 00` (the spec writes `84 9C 00`, `84 CC 00`:
/// the `00` is the length byte).
pub fn nack(code: u8) -> Apdu {
    Apdu::new(0x84, code, Vec::new())
}
