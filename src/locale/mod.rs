//! Locale-dependent output: money amounts, times, and the terminal's own texts (from
//! the per-language catalog files in src/locale/catalog/).
//! (Klarna's wording is never here: it comes from the acquirer per locale.)

#[rustfmt::skip]
mod cldr_data;
mod catalog;
pub use catalog::{console_languages, console_texts};
mod labels;
mod money;
mod texts;
mod time;

pub use labels::{Label, label};
pub use money::{decimal_separator, format_amount};
pub use texts::{Text, decline_reason, text};
pub use time::StoreTimeZone;
