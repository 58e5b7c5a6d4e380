//! The terminal's own labels on receipts and reports, per language (the customer
//! display's texts are in `texts`; Klarna's wording is never here).

use super::catalog::Section;

/// A receipt or report label; its key in the catalog files (section `[labels]`) is the
/// variant's name in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum Label {
    /// "Paid with Klarna" on receipts.
    PaidWithKlarna,
    /// Header of a return receipt.
    Return,
    /// "Paid by card" on receipts.
    PaidByCard,
    /// "Refunded" total on a return receipt.
    Refunded,
    /// Marks a reprinted receipt.
    Copy,
    /// "Original purchase" on a return receipt.
    OriginalPurchase,
    /// Marks a card payment the terminal approved offline.
    ApprovedOffline,
    /// "Tax" (VAT) label on receipts.
    Tax,
    /// "Terminal" label on receipts.
    Terminal,
    /// The number of the console's cashier who made the sale or return, on its receipt.
    Cashier,
    /// Marks the customer's receipt when a merchant copy is printed too.
    CustomerCopy,
    /// Marks the merchant's copy.
    MerchantCopy,
    /// The kind of transaction, on a sale receipt.
    Purchase,
    /// The result of an authorization captured at once.
    ResultApproved,
    /// The result of an authorization the register captures later (an amount reserved).
    ResultAuthorized,
    /// Label of the store's VAT or organisation number.
    VatNumber,
    /// Title of a report, `{kind}` being X or Z.
    Report,
    /// Report: sales of a tender.
    Sales,
    /// Report: refunds of a tender.
    Refunds,
    /// Report: declined payments.
    DeclinedCount,
    /// Report: canceled payments.
    CanceledCount,
    /// Report: payments still open.
    OpenCount,
    /// Report: offline payments not yet forwarded.
    OfflinePending,
    /// Report: the heading of the acquirer's settlement of the day.
    Settlement,
    /// Report: the acquirer's fees.
    Fees,
    /// Report: the VAT on the acquirer's fees.
    FeeVat,
    /// Report: chargebacks the acquirer deducted.
    Chargebacks,
    /// Report: what the acquirer pays out.
    Payout,
    /// The card tender.
    Card,
    /// Verification: the PIN was checked (by the chip or the issuer).
    PinVerified,
    /// Verification: the customer's phone or watch verified them.
    DeviceVerified,
    /// Verification: the customer signs.
    Signature,
    /// Verification: none (contactless under the limit).
    NoVerification,
    /// Title of a capture receipt.
    Capture,
    /// Title of a void receipt (the rest of an authorization released).
    Release,
    /// The amount authorized (reserved).
    Authorized,
    /// The amount captured.
    Captured,
    /// The amount released.
    Released,
    /// The operation waits for the acquirer.
    QueuedForAcquirer,
    /// The issuer's authorization code on a card receipt.
    AuthorizationCode,
    /// Title of the printer's test receipt (the fleet's `print-test-receipt`).
    TestReceipt,
}

/// `l` in the language of `locale` (English if the language is not known).
pub fn label(l: Label, locale: &str) -> &'static str {
    super::catalog::lookup(Section::Labels, l.into(), locale)
}
