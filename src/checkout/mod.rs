//! The checkout: the sale state machine, from the register's request to the receipt.
//!
//! [`Checkout`] accepts sales (one at a time: the terminal has one customer display),
//! journals every transition before acting on it, drives the acquirer, the display and
//! the printer, and publishes each change to subscribers (the ECR event stream).

mod availability;
mod card;
mod choice;
mod engine;
mod error;
mod flow;
mod idle;
mod machine;
mod new_sale;
mod offline;
mod ports;
mod post_purchase;
mod receipt;
mod retry;
mod run;
mod wait;

pub use availability::{KlarnaAvailability, Source};
pub use engine::{Checkout, CheckoutDeps, CheckoutError};
pub use new_sale::{NewSale, ReceiptPrinting};
pub use offline::OfflineRoom;
pub use receipt::{
    CopyFor, PostPurchaseKind, ReceiptHeader, card_brand, card_line, declined_document, marked, post_purchase_document,
    qr_slip_document, receipt_document,
};
pub use retry::RetrySale;
