//! The cashier console, served by the daemon for a shop that runs its counter on the
//! terminal alone: its page, script, style and texts (`default-src 'none'`; only its own
//! files run), the cashiers' sessions (`session.rs`), the gate that tells the register
//! from a signed-in cashier and applies the roles' rules (`gate.rs`), and the console's
//! own operations (`api.rs`). The console calls the same `/v1` operations as a register.

pub mod api;
pub mod gate;
pub mod session;

pub use gate::{Caller, Gate, require_caller};
pub use session::Sessions;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What the console's operations need.
pub struct Console {
    /// The signed-in consoles.
    pub sessions: Arc<Sessions>,
    /// The staff.
    pub staff: crate::staff::Staff,
    /// `console.cashier_refund_limit`.
    pub refund_limit: i64,
    /// The cookie is `Secure` (the API is on HTTPS).
    pub secure: bool,
    /// The quick keys' articles.
    pub articles: Arc<[crate::config::Article]>,
}

impl Console {
    /// The console of `config`, its staff in `staff`.
    pub fn new(config: &crate::config::ConsoleConfig, staff: crate::staff::Staff, secure: bool) -> Self {
        Console {
            sessions: Arc::new(Sessions::new(std::time::Duration::from_secs(config.lock_after_secs))),
            staff,
            refund_limit: config.cashier_refund_limit,
            secure,
            articles: config.articles.clone().into(),
        }
    }
}

/// The page: markup only; its script and style are files of their own.
const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("app.css");

/// The console's content security policy: only its own script, style and images, calls to
/// this terminal only, never framed, no forms posted anywhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /console`.
pub async fn page() -> Response {
    file(PAGE, "text/html; charset=utf-8")
}

/// `GET /console/app.js`.
pub async fn script() -> Response {
    file(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /console/app.css`.
pub async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}

/// `GET /console/texts/{lang}`: the console's texts (English where the language has none);
/// `lang` is a language or locale: 1 to 35 of A-Z a-z 0-9 and `-`.
pub async fn texts(
    axum::extract::Path(lang): axum::extract::Path<String>,
) -> Result<axum::Json<posagent_ecr_api::ConsoleTexts>, crate::ecr::problem::Problem> {
    if !(1..=35).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(crate::ecr::problem::Problem::invalid_field(
            "lang",
            "a language like `sv` or a locale like `sv-SE`",
        ));
    }
    let (lang, texts) = crate::locale::console_texts(&lang);
    let languages = crate::locale::console_languages()
        .into_iter()
        .map(|(lang, name)| posagent_ecr_api::ConsoleLanguage { lang: lang.to_string(), name: name.to_string() })
        .collect();
    Ok(axum::Json(posagent_ecr_api::ConsoleTexts {
        lang: lang.to_string(),
        texts: texts.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        languages,
    }))
}
