//! Locale-dependent output: money amounts and the terminal's own screen texts.
//! (Klarna's wording is never here: it comes from the acquirer per locale.)

#[rustfmt::skip]
mod cldr_data;
mod labels;
mod money;
mod texts;
mod time;

pub use labels::{Label, label};
pub use money::{decimal_separator, format_amount};
pub use texts::{Text, decline_reason, text};
pub use time::StoreTimeZone;
