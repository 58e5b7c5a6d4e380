//! The terminal's own screen texts, looked up per language in the catalog files
//! (src/locale/catalog/; Klarna's wording is not here).

use super::catalog::Section;

/// A text the terminal shows or prints; its key in the catalog files
/// (src/locale/catalog/*.toml, section `[texts]`) is the variant's name in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum Text {
    /// Idle screen greeting.
    Welcome,
    /// Shown with the amount while preparing.
    AmountToPay,
    /// After the scan.
    PaymentInProgress,
    /// Follow the steps on your phone.
    FollowPhone,
    /// Approved.
    Approved,
    /// Declined.
    Declined,
    /// Canceled.
    Canceled,
    /// Something went wrong.
    SomethingWentWrong,
    /// Klarna cannot be used for this purchase.
    KlarnaUnavailable,
    /// Please ask the cashier / use another payment method.
    AskCashier,
    /// "Reference" label.
    Reference,
    /// "Expires in" label.
    ExpiresIn,
    /// "Total" on receipts.
    Total,
    /// "Thank you" on receipts.
    ThankYou,
    /// Ask for the card.
    PresentCard,
    /// Heading of the method-choice screen.
    ChooseMethod,
    /// The card option on the method-choice screen.
    PayByCard,
    /// Under the card option: which cards.
    CardKinds,
    /// Short card prompt for 2×20 line displays.
    PresentCardShort,
    /// On a line display: the QR code is on the printed slip.
    ScanSlip,
    /// Decline reason: not enough money on the account.
    ReasonFunds,
    /// Decline reason: the card has expired.
    ReasonExpired,
    /// Decline reason: the card issuer refused.
    ReasonIssuer,
    /// Decline reason: the customer declined in Klarna's app.
    ReasonKlarna,
    /// Decline reason: the terminal is offline and over its limits.
    ReasonOffline,
    /// Insert the card and enter the PIN (after a contactless read that needs one).
    InsertCardPin,
    /// The same for 2×20 line displays.
    InsertCardPinShort,
    /// The card was not read: the customer tries again.
    CardTryAgain,
    /// The reader wants the card inserted (chip).
    CardUseChip,
    /// The card reader is disconnected; the payment waits for it.
    ReaderDisconnected,
    /// While the terminal asks the acquirer before the payment can be shown.
    OneMoment,
    /// The payment ran out of time (QR code expired, no card, no choice).
    TimedOut,
    /// The terminal's own scan prompt beside Klarna's QR code (not Klarna's wording).
    ScanWithCamera,
}

/// The customer-facing text of a decline reason code, if there is one for it. Klarna's
/// decline (`CUSTOMER_ACTION_REQUIRED`: the customer has to act in the Klarna app before
/// Klarna approves) tells the customer "Not approved in the Klarna app"; so does
/// `CUSTOMER_DECLINED`, the name older simulators gave it, still read from journals.
pub fn decline_reason(code: &str) -> Option<Text> {
    Some(match code {
        "INSUFFICIENT_FUNDS" => Text::ReasonFunds,
        "EXPIRED_CARD" => Text::ReasonExpired,
        "CUSTOMER_ACTION_REQUIRED" | "CUSTOMER_DECLINED" => Text::ReasonKlarna,
        c if c.starts_with("OFFLINE_") => Text::ReasonOffline,
        "DO_NOT_HONOR" | "DECLINED" | "PIN_REQUIRED" | "RESTRICTED_CARD" | "SUSPECTED_FRAUD" => Text::ReasonIssuer,
        _ => return None,
    })
}

/// `t` in the language of `locale` (English if the language is not known).
pub fn text(t: Text, locale: &str) -> &'static str {
    super::catalog::lookup(Section::Texts, t.into(), locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn klarnas_decline_and_its_old_name_tell_the_customer_the_same() {
        for code in ["CUSTOMER_ACTION_REQUIRED", "CUSTOMER_DECLINED"] {
            assert_eq!(decline_reason(code), Some(Text::ReasonKlarna), "{code}");
        }
        // Not declines: a canceled or aborted journey has no decline text.
        for code in ["PURCHASE_FLOW_ABORTED", "PARTNER_CANCELED", "TECHNICAL_ERROR"] {
            assert_eq!(decline_reason(code), None, "{code}");
        }
    }

    #[test]
    fn language_and_fallback() {
        assert_eq!(text(Text::Approved, "de-AT"), "Zahlung erfolgreich");
        assert_eq!(text(Text::Approved, "ja-JP"), "Payment approved");
    }
}
