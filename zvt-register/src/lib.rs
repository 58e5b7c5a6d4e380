//! A ZVT register (ECR), written from the ZVT specification (PA00P016 rev 04, PA00P015
//! rev 13.08) and posagent's contract `docs/zvt.md` only, to drive posagent as a payment
//! terminal (PT) in tests — including the faults real registers and links produce.
//!
//! Layers: [`apdu`], [`bcd`], [`tlv`], [`bmp`] (wire formats); [`command`] (what the ECR
//! sends); [`message`] and [`status`] (what the PT sends, parsed strictly: every
//! deviation is a [`violation::Violation`]); [`serial`] and [`link`] (TCP and serial
//! transports with faults); [`register`] (the ECR side of each exchange, timers T3/T4,
//! [`register::Behaviour`]); [`receipt`] (what the register printed).

pub mod apdu;
pub mod bcd;
pub mod behaviour;
pub mod bmp;
pub mod command;
pub mod link;
pub mod message;
pub mod outcome;
pub mod receipt;
pub mod register;
pub mod serial;
mod serial_line;
pub mod status;
pub mod text;
pub mod tlv;
pub mod transcript;
pub mod violation;

pub use behaviour::{Behaviour, ReceiptAnswer, StatusAnswer};
pub use command::{Authorization, Refund, Registration, Reversal};
pub use link::{Link, LinkError, SerialFaults, SerialTimers};
pub use outcome::{End, Outcome, Receipt, Timer};
pub use register::{Event, Exchange, Register};
pub use transcript::{Direction, Transcript};

/// The brief's name for a running payment: an [`Exchange`] of an Authorization.
pub type PaymentHandle<'a> = Exchange<'a>;
