//! Why a sale ended as it did: the terminal's own reasons as an enum, with the codes the
//! acquirer, the card reader or the offline policy report kept as they came. The journal
//! and the register keep the text (`Sale::reason`); these names never change.
//!
//! Klarna's payment request reasons (`PaymentRequestStateReason`: `PARTNER_CANCELED`,
//! `PURCHASE_FLOW_ABORTED`, `TECHNICAL_ERROR`, `CUSTOMER_ACTION_REQUIRED`, …) are reported
//! codes, kept as the acquirer sent them. Codes older simulators sent
//! (`CUSTOMER_DECLINED`, `CUSTOMER_IN_FLOW`, `CUSTOMER_APPROVED`) stay readable in
//! journals the same way: any text decodes.

use std::fmt;

/// Why a sale ended (or why it is about to: the reason a payment request is canceled for).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// The cashier canceled the sale.
    CashierCanceled,
    /// The customer canceled at the card reader.
    CustomerCanceled,
    /// The terminal's own time for the QR code ran out.
    TerminalTimeout,
    /// The payment request expired before the customer finished.
    PaymentRequestExpired,
    /// No card came in time.
    CardTimeout,
    /// No method was chosen in time.
    ChoiceTimeout,
    /// The QR code could not be shown.
    DisplayFailed,
    /// The QR slip (for a display that cannot show the code) could not be printed.
    QrSlipNotPrinted,
    /// A card sale on a terminal without a card reader.
    NoCardReader,
    /// The card's chip declined what was approved.
    CardDeclinedAfterApproval,
    /// The card reader went away during the sale.
    CardReaderDisconnected,
    /// The card reader failed.
    CardReaderFailed,
    /// Declined, without a reason from the acquirer.
    Declined,
    /// The payment request was canceled, without a reason from the acquirer.
    Canceled,
    /// Klarna's instruction hides Klarna, without a status reason.
    HideKlarna,
    /// Klarna does not support the purchase, without a status reason.
    PaymentUnsupported,
    /// Klarna was not offered: the acquirer is unreachable.
    Offline,
    /// The acquirer could not be reached.
    AcquirerUnreachable,
    /// The acquirer failed (5xx and the like).
    AcquirerError,
    /// The acquirer refused the request.
    AcquirerRefused,
    /// The acquirer's answer did not fit.
    AcquirerBadAnswer,
    /// The journal failed.
    JournalError,
    /// A device failed.
    DeviceError,
    /// Canceled for the inner reason, but the acquirer could not be told: the payment
    /// request is left to expire.
    LeftToExpire(Box<EndReason>),
    /// A code as the acquirer, the card reader or the offline policy reported it.
    Reported(String),
}

/// The terminal's own reasons and their names.
const NAMES: [(EndReason, &str); 23] = [
    (EndReason::CashierCanceled, "CASHIER_CANCELED"),
    (EndReason::CustomerCanceled, "CUSTOMER_CANCELED"),
    (EndReason::TerminalTimeout, "TERMINAL_TIMEOUT"),
    (EndReason::PaymentRequestExpired, "PAYMENT_REQUEST_EXPIRED"),
    (EndReason::CardTimeout, "CARD_TIMEOUT"),
    (EndReason::ChoiceTimeout, "CHOICE_TIMEOUT"),
    (EndReason::DisplayFailed, "DISPLAY_FAILED"),
    (EndReason::QrSlipNotPrinted, "QR_SLIP_NOT_PRINTED"),
    (EndReason::NoCardReader, "NO_CARD_READER"),
    (EndReason::CardDeclinedAfterApproval, "CARD_DECLINED_AFTER_APPROVAL"),
    (EndReason::CardReaderDisconnected, "CARD_READER_DISCONNECTED"),
    (EndReason::CardReaderFailed, "CARD_READER_FAILED"),
    (EndReason::Declined, "DECLINED"),
    (EndReason::Canceled, "CANCELED"),
    (EndReason::HideKlarna, "HIDE_KLARNA"),
    (EndReason::PaymentUnsupported, "PAYMENT_UNSUPPORTED"),
    (EndReason::Offline, "OFFLINE"),
    (EndReason::AcquirerUnreachable, "ACQUIRER_UNREACHABLE"),
    (EndReason::AcquirerError, "ACQUIRER_ERROR"),
    (EndReason::AcquirerRefused, "ACQUIRER_REFUSED"),
    (EndReason::AcquirerBadAnswer, "ACQUIRER_BAD_ANSWER"),
    (EndReason::JournalError, "JOURNAL_ERROR"),
    (EndReason::DeviceError, "DEVICE_ERROR"),
];

/// What [`EndReason::LeftToExpire`] adds to its reason.
const LEFT_TO_EXPIRE: &str = "; acquirer unreachable, payment request left to expire";

impl EndReason {
    /// The reason as journaled and as the register sees it.
    pub fn name(&self) -> String {
        match self {
            EndReason::LeftToExpire(inner) => format!("{}{LEFT_TO_EXPIRE}", inner.name()),
            EndReason::Reported(code) => code.clone(),
            own => NAMES.iter().find(|(r, _)| r == own).map_or_else(String::new, |(_, n)| (*n).to_string()),
        }
    }

    /// Reads a journaled reason back (any text: what is not the terminal's own is a
    /// reported code). `parse(r.name()) == r` for the terminal's own reasons.
    pub fn parse(s: &str) -> Self {
        if let Some(inner) = s.strip_suffix(LEFT_TO_EXPIRE) {
            return EndReason::LeftToExpire(Box::new(EndReason::parse(inner)));
        }
        NAMES.iter().find(|(_, n)| *n == s).map_or_else(|| EndReason::Reported(s.to_string()), |(r, _)| r.clone())
    }

    /// The reason reported by someone else, or `default` when they gave none.
    pub fn reported_or(code: Option<String>, default: EndReason) -> Self {
        code.map_or(default, |c| EndReason::parse(&c))
    }

    /// Whether the sale timed out (the QR code expired, no card came, no method was
    /// chosen): the customer sees "time ran out" rather than "canceled".
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            EndReason::TerminalTimeout
                | EndReason::PaymentRequestExpired
                | EndReason::CardTimeout
                | EndReason::ChoiceTimeout
        )
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts journals hold and registers read, as they were before the enum.
    #[test]
    fn names_are_those_journaled_before() {
        let pinned = [
            "CASHIER_CANCELED",
            "CUSTOMER_CANCELED",
            "TERMINAL_TIMEOUT",
            "PAYMENT_REQUEST_EXPIRED",
            "CARD_TIMEOUT",
            "CHOICE_TIMEOUT",
            "DISPLAY_FAILED",
            "QR_SLIP_NOT_PRINTED",
            "NO_CARD_READER",
            "CARD_DECLINED_AFTER_APPROVAL",
            "CARD_READER_DISCONNECTED",
            "CARD_READER_FAILED",
            "DECLINED",
            "CANCELED",
            "HIDE_KLARNA",
            "PAYMENT_UNSUPPORTED",
            "OFFLINE",
            "ACQUIRER_UNREACHABLE",
            "ACQUIRER_ERROR",
            "ACQUIRER_REFUSED",
            "ACQUIRER_BAD_ANSWER",
            "JOURNAL_ERROR",
            "DEVICE_ERROR",
        ];
        for ((reason, name), pinned) in NAMES.iter().zip(pinned) {
            assert_eq!(*name, pinned);
            assert_eq!(reason.name(), pinned);
            assert_eq!(&EndReason::parse(pinned), reason);
        }
        let left = EndReason::LeftToExpire(Box::new(EndReason::TerminalTimeout));
        assert_eq!(left.name(), "TERMINAL_TIMEOUT; acquirer unreachable, payment request left to expire");
        assert_eq!(EndReason::parse(&left.name()), left);
    }

    #[test]
    fn klarnas_reasons_and_the_old_simulator_codes_decode_as_written() {
        let klarna = ["PARTNER_CANCELED", "PURCHASE_FLOW_ABORTED", "TECHNICAL_ERROR", "CUSTOMER_ACTION_REQUIRED"];
        let old = ["CUSTOMER_DECLINED", "CUSTOMER_IN_FLOW", "CUSTOMER_APPROVED"];
        for code in klarna.into_iter().chain(old) {
            let reason = EndReason::parse(code);
            assert_eq!(reason, EndReason::Reported(code.into()), "{code} is no reason of the terminal's own");
            assert_eq!(reason.name(), code);
        }
    }

    #[test]
    fn reported_codes_are_kept_as_they_came() {
        for code in ["DO_NOT_HONOR", "FLOOR_LIMIT_EXCEEDED", "", "x y"] {
            assert_eq!(EndReason::parse(code).name(), code);
        }
        assert_eq!(EndReason::reported_or(None, EndReason::Declined), EndReason::Declined);
        assert_eq!(
            EndReason::reported_or(Some("INSUFFICIENT_FUNDS".into()), EndReason::Declined).name(),
            "INSUFFICIENT_FUNDS"
        );
    }
}
