//! The console's staff and sessions on the wire: cashiers (store IT or a supervisor adds
//! them; a PIN goes in, never out), signing in, a supervisor's approval, what was done at
//! the console, and the catalogue its quick keys sell from. Every object is closed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a cashier may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CashierRole {
    /// Sells, cancels, reprints, refunds up to `console.cashier_refund_limit`, prints X reports.
    Cashier,
    /// Also voids, refunds over the limit, closes the day, retries dead letters, manages
    /// cashiers, and approves a cashier's action with their own PIN.
    Supervisor,
}

/// A cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cashier {
    /// The cashier's number, typed at sign-in and printed on receipts.
    #[schema(pattern = r"^[1-9][0-9]{0,5}$")]
    pub id: String,
    /// The name shown and printed.
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// The role.
    pub role: CashierRole,
    /// Whether they can sign in (a disabled cashier's sales keep the number).
    pub active: bool,
}

/// `GET /v1/cashiers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashierList {
    /// By number.
    pub cashiers: Vec<Cashier>,
}

/// `PUT /v1/cashiers/{id}`: a cashier added, or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCashier {
    /// The name shown and printed: 1 to 40 characters.
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// The role.
    pub role: CashierRole,
    /// Whether they can sign in (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// A new PIN: 4 to 8 digits, not one digit repeated or a run like 1234. Needed for a
    /// new cashier; left out, the PIN stays. Kept only as an argon2id hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[0-9]{4,8}$")]
    pub pin: Option<String>,
}

fn yes() -> bool {
    true
}

/// `POST /console/session` and `POST /console/session/approval`: a cashier's number and PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The cashier's number.
    #[schema(max_length = 6)]
    pub cashier: String,
    /// The PIN.
    #[schema(max_length = 8)]
    pub pin: String,
}

/// `GET`/`POST /console/session`: who is signed in on this browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSession {
    /// The cashier.
    pub cashier: Cashier,
    /// The token every request that changes something carries in `X-CSRF-Token`.
    pub csrf_token: String,
    /// The session locks after this many seconds without an action.
    #[schema(minimum = 30, maximum = 3600)]
    pub lock_after_secs: u64,
    /// The largest refund (minor units) this cashier makes without a supervisor's
    /// approval; null: any (a supervisor, or an approval waiting).
    pub refund_limit: Option<i64>,
    /// A supervisor's approval waits for the next action that needs one.
    pub approval_waiting: bool,
}

/// One thing done at the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffAction {
    /// When it was asked for.
    pub at: DateTime<Utc>,
    /// The cashier's number.
    pub cashier: String,
    /// The supervisor who approved it.
    pub approved_by: Option<String>,
    /// What: `sale.create`, `sale.void`, `return.create`, `report.z`, `session.sign_in`…
    pub action: String,
    /// The sale, return, queued operation or cashier it was done to.
    pub subject: Option<String>,
    /// The answer's HTTP status; null if the terminal stopped while it ran.
    pub status: Option<u16>,
}

/// An article of the console's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// Its reference (the order line's).
    pub reference: String,
    /// Its name.
    pub name: String,
    /// Unit price including tax, minor units.
    #[schema(minimum = 1)]
    pub price: i64,
    /// Tax rate in basis points (2500 = 25 %).
    #[schema(minimum = 0, maximum = 10000)]
    pub tax_rate: i64,
}

/// `GET /v1/catalogue`: what the quick keys sell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// In the order of the config.
    pub articles: Vec<Article>,
}

/// A language the console speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLanguage {
    /// ISO 639-1 code.
    #[schema(pattern = r"^[a-z]{2}$")]
    pub lang: String,
    /// Its name in itself.
    pub name: String,
}

/// `GET /console/texts/{lang}`: the console's texts in a language (English where it has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleTexts {
    /// The language served (`en` for one the console does not speak).
    #[schema(pattern = r"^[a-z]{2}$")]
    pub lang: String,
    /// Each text by its key; `{name}` in a text is filled in by the console.
    pub texts: std::collections::BTreeMap<String, String>,
    /// Every language the console speaks.
    pub languages: Vec<ConsoleLanguage>,
}
