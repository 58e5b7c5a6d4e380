//! One register's conversation with the PT: each command it sends dispatched to what
//! answers it (registration and the terminal's state here; a payment in
//! [`super::payment`], the others in [`super::admin`]), a malformed APDU answered
//! `84 9A`, an unknown command `84 83`; and what a registration set, which every later
//! connection shares until a Log-Off.

use super::link::{Conversation, Incoming, LinkError, T3};
use super::{PosTerminal, rc};
use posagent_zvt::{Command, Completion, ConfigByte, EcrMessage, Password, PtMessage, Registration, TlvContainer};
use std::sync::Arc;

/// What the register asked for at its registration (06 00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterSettings {
    /// Its config byte.
    pub config: ConfigByte,
    /// It sent a currency code: the PT sends one back in results.
    pub currency_sent: bool,
    /// Its printer's width in characters (TLV 12).
    pub printer_width: Option<u16>,
    /// It takes Print Text-Block (06 D3).
    pub text_blocks: bool,
    /// It sent a TLV container: the PT may send them [P15 §9.2.2].
    pub tlv: bool,
}

impl Default for RegisterSettings {
    /// Before any registration and after a Log-Off: config byte `86` [P15 §2.24].
    fn default() -> Self {
        RegisterSettings {
            config: ConfigByte(0x86),
            currency_sent: false,
            printer_width: None,
            text_blocks: false,
            tlv: false,
        }
    }
}

impl RegisterSettings {
    /// The register prints the payment receipts, from the PT's print commands.
    pub fn receipts_to_register(&self) -> bool {
        self.config.0 & 0x02 != 0 && self.config.0 & 0x80 != 0
    }

    /// The register prints the payment receipts (from print commands or the results).
    pub fn register_prints(&self) -> bool {
        self.config.0 & 0x02 != 0
    }

    /// The register prints the admin receipts (end of day) from print commands.
    pub fn admin_receipts_to_register(&self) -> bool {
        self.config.0 & 0x04 != 0 && self.config.0 & 0x80 != 0
    }

    /// The register wants intermediate status (04 FF).
    pub fn intermediate_status(&self) -> bool {
        self.config.0 & 0x08 != 0
    }

    /// The width receipt lines are fitted to (TLV 12, else 40 characters).
    pub fn width(&self) -> usize {
        self.printer_width.map_or(40, |w| usize::from(w).clamp(16, 80))
    }
}

/// Serves `conv` until the register closes it or the daemon stops.
pub async fn serve(pt: &Arc<PosTerminal>, mut conv: Conversation) {
    loop {
        let next = tokio::select! {
            () = pt.deps.shutdown.cancelled() => return,
            next = conv.next(None) => next,
        };
        let done = match next {
            Ok(Incoming::Malformed(e)) => {
                tracing::warn!(error = %e, "the register sent an APDU that does not decode; answered 84 9A");
                conv.send(&PtMessage::Nack(e.nack_code())).await
            }
            Ok(Incoming::Message(EcrMessage::Answer(a))) => {
                tracing::debug!(answer = ?a, "an answer from the register with nothing asked; ignored");
                Ok(())
            }
            Ok(Incoming::Message(EcrMessage::Command(c))) => match pt.busy.try_lock() {
                // A stop drops the command where it is: a result the register has not
                // taken is journaled PENDING, and the next start reverses it.
                Ok(_one_at_a_time) => tokio::select! {
                    () = pt.deps.shutdown.cancelled() => return,
                    done = command(pt, &mut conv, c) => done,
                },
                // Another register's command runs (the serial line's, or TCP's).
                Err(_) => conv.send(&PtMessage::Nack(rc::PLEASE_WAIT)).await,
            },
            Err(_) => return,
        };
        if let Err(e) = done {
            tracing::info!(error = %e, "the register's connection ended");
            return;
        }
    }
}

/// Answers one command.
async fn command(pt: &Arc<PosTerminal>, conv: &mut Conversation, command: Command) -> Result<(), LinkError> {
    match command {
        Command::Registration(r) => registration(pt, conv, r).await,
        Command::LogOff => {
            *pt.settings.lock().await = RegisterSettings::default();
            conv.send(&PtMessage::Ack).await
        }
        Command::StatusEnquiry => status_enquiry(pt, conv).await,
        Command::Authorization(a) => super::payment::authorization(pt, conv, a).await,
        Command::Reversal(r) if password_ok(pt, &r.password) => super::admin::reversal(pt, conv, r).await,
        Command::Refund(r) if password_ok(pt, &r.password) => super::admin::refund(pt, conv, r).await,
        Command::EndOfDay(p) if password_ok(pt, &p) => super::admin::end_of_day(pt, conv).await,
        Command::RepeatReceipt(p) if password_ok(pt, &p) => super::admin::repeat_receipt(pt, conv).await,
        Command::Reversal(_) | Command::Refund(_) | Command::EndOfDay(_) | Command::RepeatReceipt(_) => {
            tracing::warn!("a register's command carried the wrong password; answered 84 83 (zvt.password)");
            conv.send(&PtMessage::Nack(rc::FUNCTION_NOT_POSSIBLE)).await
        }
        // Nothing runs that an abort could stop: it is taken [P15 §2.23].
        Command::Abort => conv.send(&PtMessage::Ack).await,
        Command::Unsupported { class, instr } => {
            tracing::info!(class, instr, "a ZVT command posagent does not offer; answered 84 83");
            conv.send(&PtMessage::Nack(rc::FUNCTION_NOT_POSSIBLE)).await
        }
    }
}

fn password_ok(pt: &PosTerminal, password: &Password) -> bool {
    password.0 == pt.deps.config.password_number()
}

/// Registration (06 00) [P15 §2.1]: the password, the currency, then the completion
/// with the terminal id and what the register's TLV asked to be echoed.
async fn registration(pt: &PosTerminal, conv: &mut Conversation, r: Registration) -> Result<(), LinkError> {
    if !password_ok(pt, &r.password) {
        tracing::warn!("a registration with the wrong password; answered 84 83 (zvt.password)");
        return conv.send(&PtMessage::Nack(rc::FUNCTION_NOT_POSSIBLE)).await;
    }
    let ours = pt.currency_code();
    if let Some(cc) = r.currency
        && cc != ours
    {
        tracing::warn!(register = cc, terminal = ours, "a registration in another currency; answered 84 1E 6F");
        let refusal = PtMessage::wrong_currency_answer(Some(ours)).map_err(|e| LinkError::Encode(e.to_string()))?;
        return conv.send_bytes(&refusal.encode()).await;
    }
    let settings = RegisterSettings {
        config: r.config,
        currency_sent: r.currency.is_some(),
        printer_width: r.printer_width,
        text_blocks: r.accepts_text_blocks,
        tlv: r.tlv.is_some(),
    };
    *pt.settings.lock().await = settings;
    conv.send(&PtMessage::Ack).await?;
    // The printer width (TLV 12) is echoed [P15 §2.1], in the TLV the register sent.
    let echo = r.tlv.as_ref().and_then(|t| t.find(0x12)).map(|w| TlvContainer::new(vec![w.clone()]));
    let completion = Completion::registration(
        Some(pt.status_byte()),
        Some(pt.deps.config.terminal_id_number()),
        r.currency.map(|_| ours),
        echo,
    );
    let answer = conv.ask(&PtMessage::Completion(completion), T3).await?;
    tracing::info!(config = format!("{:02X}", r.config.0), ?answer, "a register registered");
    Ok(())
}

/// Status Enquiry (05 01) [P15 §2.56]: the software version and the terminal's state.
async fn status_enquiry(pt: &PosTerminal, conv: &mut Conversation) -> Result<(), LinkError> {
    conv.send(&PtMessage::Ack).await?;
    let version = format!("posagent {}", env!("CARGO_PKG_VERSION"));
    let completion = Completion::status_enquiry(Some(version), pt.terminal_status().await, None);
    conv.ask(&PtMessage::Completion(completion), T3).await.map(|_| ())
}
