//! The operations of the ECR API, one stub per operation for utoipa's `path` attribute:
//! method, path, parameters, body and every answer each may give.
#![allow(dead_code)]

use crate::error::ErrorBody;
use crate::requests::{
    CaptureBody, KlarnaQuery, LogLevelChange, MethodBody, NewReturn, NewSale, QueueQuery, ReconciliationQuery,
    RetrySale, SaleQuery, XReportQuery,
};
use crate::{
    Cashier, CashierList, Catalogue, ConsoleInfo, ConsoleSession, ConsoleTexts, DayReport, Health, KlarnaAvailability,
    LogLevel, PutCashier, QueueList, QueueState, QueuedOperation, Reconciliation, Return, Sale, SaleHistory, SaleList,
    SignIn,
};
use utoipa::IntoParams;

/// A sale, by id or reference.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SaleId {
    /// Sale id or reference.
    id: String,
}

/// A return, by id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReturnId {
    id: String,
}

/// A queued operation, by id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct QueueId {
    #[param(minimum = 1, maximum = 9_223_372_036_854_775_807_i64)]
    id: i64,
}

/// The retry-safety key of a capture or void.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// A retried request with the same key answers what the first did; 1 to 255 visible
    /// ASCII characters, any other value is 400.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255, pattern = r"^[!-~]+$")]
    key: Option<String>,
}

#[utoipa::path(post, path = "/v1/sales", operation_id = "createSale", request_body = NewSale,
    summary = "Start a sale (Klarna by default, or CARD); answered at once, followed by GET or /v1/events.",
    responses(
        (status = 201, description = "Started", body = Sale),
        (status = 200, description = "The same reference again (amount and currency equal)", body = Sale),
        (status = 500, response = JournalRowDamaged),
        (status = "default", response = Problem)))]
fn create_sale() {}

#[utoipa::path(get, path = "/v1/sales", operation_id = "listSales", params(SaleQuery),
    summary = "This terminal's sales, newest first: a window of creation times, a state, a method.",
    responses((status = 200, description = "Newest first", body = SaleList),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn list_sales() {}

#[utoipa::path(get, path = "/v1/sales/{id}", operation_id = "readSale", params(SaleId),
    responses((status = 200, description = "The sale", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn read_sale() {}

#[utoipa::path(get, path = "/v1/sales/{id}/history", operation_id = "readSaleHistory", params(SaleId),
    summary = "The sale and every change journaled for it, oldest first (troubleshooting; `posagent sale show`).",
    responses((status = 200, description = "The sale and its history", body = SaleHistory),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn read_sale_history() {}

#[utoipa::path(post, path = "/v1/sales/{id}/cancel", operation_id = "cancelSale", params(SaleId),
    responses((status = 200, description = "The sale in its final state", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn cancel_sale() {}

#[utoipa::path(post, path = "/v1/sales/{id}/method", operation_id = "chooseMethod", params(SaleId),
    description = "The customer's choice for a sale created with method CHOICE, while it is AWAITING_METHOD. Answers once the sale has taken it up (AVAILABILITY_CHECKED for Klarna, AWAITING_CARD for card). 409 NOT_AWAITING_METHOD otherwise; 422 METHOD_NOT_SUPPORTED for a method not offered.",
    request_body = MethodBody,
    responses((status = 200, description = "The sale after the choice", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn choose_method() {}

#[utoipa::path(post, path = "/v1/sales/{id}/reprint", operation_id = "reprintReceipt", params(SaleId),
    responses((status = 200, description = "Printed (marked COPY if it printed before)", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn reprint_receipt() {}

#[utoipa::path(post, path = "/v1/sales/{id}/retry", operation_id = "retrySale", params(SaleId),
    description = "Starts the purchase of a sale that ended unpaid (FAILED, DECLINED, CANCELED, EXPIRED, UNAVAILABLE; `retryable`) again, as a new sale with the same amount, lines, capture mode, locale and Klarna data; its reference is the first sale's with -R1, -R2, … and `retry_of` names the first sale. Resent, it answers the same new sale (200). 409 NOT_RETRYABLE for a sale still open or paid; 409 REFERENCE_CONFLICT for a resend asking for another method; 409 TERMINAL_BUSY while another sale is open.",
    request_body(content = Option<RetrySale>),
    responses((status = 201, description = "The new sale, started", body = Sale),
        (status = 200, description = "The retry asked for before (the same new sale)", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn retry_sale() {}

#[utoipa::path(post, path = "/v1/sales/{id}/capture", operation_id = "captureSale", params(SaleId, IdempotencyKey),
    request_body(content = Option<CaptureBody>),
    responses((status = 200, description = "Captured", body = Sale),
        (status = 202, description = "Queued for the acquirer (queued_capture_amount)", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn capture_sale() {}

#[utoipa::path(post, path = "/v1/sales/{id}/void", operation_id = "voidSale", params(SaleId, IdempotencyKey),
    responses((status = 200, description = "Voided", body = Sale),
        (status = 202, description = "Queued for the acquirer (void_queued)", body = Sale),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn void_sale() {}

#[utoipa::path(post, path = "/v1/drawer/open", operation_id = "openCashDrawer",
    description = "Kicks open the cash drawer wired to the receipt printer. 409 NO_CASH_DRAWER when the printer profile has none.",
    responses((status = 204, description = "The drawer was kicked open"), (status = "default", response = Problem)))]
fn open_cash_drawer() {}

#[utoipa::path(post, path = "/v1/returns", operation_id = "createReturn", request_body = NewReturn,
    responses((status = 201, description = "Refunded", body = Return),
        (status = 200, description = "The same reference again", body = Return),
        (status = 202, description = "The refund waits for the acquirer (PENDING)", body = Return),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn create_return() {}

#[utoipa::path(get, path = "/v1/returns/{id}", operation_id = "readReturn", params(ReturnId),
    responses((status = 200, description = "The return", body = Return),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn read_return() {}

#[utoipa::path(get, path = "/v1/klarna", operation_id = "offerKlarna", params(KlarnaQuery),
    summary = "Whether to show Klarna for an amount, with Klarna's wording (cached with its age).",
    responses(
        (status = 414, description = "The query is longer than the HTTP layer takes (64 KiB); answered by it, without a body"),
        (status = 200, description = "The answer", body = KlarnaAvailability),
        (status = "default", response = Problem)))]
fn offer_klarna() {}

#[utoipa::path(get, path = "/v1/events", operation_id = "followSales",
    summary = "Server-sent events: `event: sale` with a Sale as data on every change; `event: lagged` asks to re-read.",
    responses((status = 200, description = "Event stream", body = String, content_type = "text/event-stream"),
        (status = "default", response = Problem)))]
fn follow_sales() {}

#[utoipa::path(get, path = "/v1/reports/x", operation_id = "reportX", params(XReportQuery),
    responses((status = 200, description = "Mid-day totals", body = DayReport),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn report_x() {}

#[utoipa::path(post, path = "/v1/reports/z", operation_id = "reportZ",
    responses((status = 200, description = "The day closed and printed", body = DayReport),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn report_z() {}

#[utoipa::path(get, path = "/v1/reports/reconciliation", operation_id = "reconcile", params(ReconciliationQuery),
    responses((status = 200, description = "The terminal against the acquirer's settlement", body = Reconciliation),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn reconcile() {}

#[utoipa::path(get, path = "/v1/queue", operation_id = "listQueue", params(QueueQuery),
    responses((status = 200, description = "Newest first", body = QueueList),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn list_queue() {}

#[utoipa::path(get, path = "/v1/queue/summary", operation_id = "queueSummary",
    responses((status = 200, description = "Counts", body = QueueState), (status = "default", response = Problem)))]
fn queue_summary() {}

#[utoipa::path(post, path = "/v1/queue/sync", operation_id = "syncQueue", summary = "Make everything waiting due now.",
    responses((status = 200, description = "Counts", body = QueueState), (status = "default", response = Problem)))]
fn sync_queue() {}

#[utoipa::path(get, path = "/v1/queue/{id}", operation_id = "readQueuedOperation", params(QueueId),
    responses((status = 200, description = "The operation", body = QueuedOperation),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn read_queued_operation() {}

#[utoipa::path(post, path = "/v1/queue/{id}/retry", operation_id = "retryDeadLetter", params(QueueId),
    responses((status = 202, description = "Waiting again", body = QueuedOperation),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn retry_dead_letter() {}

#[utoipa::path(get, path = "/v1/log-level", operation_id = "readLogLevel",
    responses((status = 200, description = "The filter in force", body = LogLevel), (status = "default", response = Problem)))]
fn read_log_level() {}

#[utoipa::path(put, path = "/v1/log-level", operation_id = "changeLogLevel", request_body = LogLevelChange,
    responses((status = 200, description = "Changed", body = LogLevel), (status = "default", response = Problem)))]
fn change_log_level() {}

#[utoipa::path(get, path = "/health", operation_id = "health", security(()),
    responses(
        (status = 200, description = "ok, or degraded: sales go on with a part missing (problems lists it)", body = Health),
        (status = 503, description = "down: no sale can be taken (the journal cannot be read, the customer display fails, or the acquirer is unreachable and no card payment is taken offline)", body = Health),
        (status = "default", response = Problem)))]
fn health() {}

#[utoipa::path(get, path = "/metrics", operation_id = "metrics", security(()),
    responses(
        (status = 200, description = "OpenMetrics 1.0 text (Prometheus scrapes it as is); the metrics are listed in docs/ecr-api.md", body = String, content_type = "application/openmetrics-text"),
        (status = "default", response = Problem)))]
fn metrics() {}

#[utoipa::path(get, path = "/console", operation_id = "cashierConsole", security(()),
    summary = "The cashier console, for a counter without a register (docs/console.md): cashiers sign in with their number and PIN; the page runs only its own script and style (Content-Security-Policy) and cannot be framed.",
    responses((status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = "default", response = Problem)))]
fn cashier_console() {}

#[utoipa::path(get, path = "/console/info", operation_id = "consoleInfo", security(()),
    summary = "What the console needs to format amounts and offer the methods.",
    responses((status = 200, description = "The store's currency and locale", body = ConsoleInfo),
        (status = "default", response = Problem)))]
fn console_info() {}

/// A cashier, by number.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CashierId {
    /// The cashier's number.
    #[param(pattern = r"^[1-9][0-9]{0,5}$")]
    id: String,
}

/// A language of the console.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Lang {
    /// ISO 639-1 code (`sv`), or a locale (`sv-SE`); one the console does not speak is answered in English.
    #[param(pattern = r"^[A-Za-z0-9-]{1,35}$")]
    lang: String,
}

#[utoipa::path(get, path = "/v1/cashiers", operation_id = "listCashiers",
    summary = "The cashiers who sign in at the console (never their PINs).",
    responses((status = 200, description = "By number", body = CashierList),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn list_cashiers() {}

#[utoipa::path(put, path = "/v1/cashiers/{id}", operation_id = "putCashier", params(CashierId), request_body = PutCashier,
    summary = "Adds a cashier (with a PIN) or changes one (a PIN left out stays); from the console, a supervisor's action.",
    responses((status = 201, description = "Added", body = Cashier),
        (status = 200, description = "Changed", body = Cashier),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn put_cashier() {}

#[utoipa::path(get, path = "/v1/offline", operation_id = "readOfflineRoom",
    summary = "What the terminal may still approve while the acquirer is unreachable: the offline limits less the card payments waiting to be forwarded (the console's banner).",
    responses((status = 200, description = "In the store's currency", body = crate::OfflineRoom),
        (status = 500, response = JournalRowDamaged), (status = "default", response = Problem)))]
fn read_offline_room() {}

#[utoipa::path(get, path = "/v1/catalogue", operation_id = "readCatalogue",
    summary = "The articles of the console's quick keys (`[console]` articles and catalogue file).",
    responses((status = 200, description = "In the config's order", body = Catalogue), (status = "default", response = Problem)))]
fn read_catalogue() {}

#[utoipa::path(get, path = "/console/app.js", operation_id = "consoleScript", security(()),
    summary = "The console's script (the only one its page runs).",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript"),
        (status = "default", response = Problem)))]
fn console_script() {}

#[utoipa::path(get, path = "/console/app.css", operation_id = "consoleStyle", security(()),
    summary = "The console's style sheet.",
    responses((status = 200, description = "CSS", body = String, content_type = "text/css"),
        (status = "default", response = Problem)))]
fn console_style() {}

#[utoipa::path(get, path = "/console/texts/{lang}", operation_id = "consoleTexts", security(()), params(Lang),
    summary = "The console's texts in a language, and the languages it speaks.",
    responses((status = 200, description = "The texts", body = ConsoleTexts), (status = "default", response = Problem)))]
fn console_texts() {}

#[utoipa::path(post, path = "/console/session", operation_id = "signIn", security(()), request_body = SignIn,
    summary = "Signs a cashier in: the answer sets the session cookie `posagent_console` (HttpOnly, SameSite=Strict, Secure over HTTPS) and gives the session's CSRF token. A wrong PIN is 401 WRONG_PIN; the fifth in a row locks the cashier for 5 minutes (423 CASHIER_LOCKED).",
    responses((status = 200, description = "Signed in", body = ConsoleSession), (status = "default", response = Problem)))]
fn sign_in() {}

#[utoipa::path(get, path = "/console/session", operation_id = "readSession", security(("consoleSession" = [])),
    summary = "Who is signed in on this browser (401 SIGN_IN_REQUIRED: no one, or locked after `console.lock_after_secs` without an action).",
    responses((status = 200, description = "The session", body = ConsoleSession), (status = "default", response = Problem)))]
fn read_session() {}

#[utoipa::path(delete, path = "/console/session", operation_id = "signOut", security(("consoleSession" = [], "consoleCsrf" = [])),
    summary = "Signs out (the cookie is cleared).",
    responses((status = 204, description = "Signed out"), (status = "default", response = Problem)))]
fn sign_out() {}

#[utoipa::path(post, path = "/console/session/approval", operation_id = "approveAction", security(("consoleSession" = [], "consoleCsrf" = [])), request_body = SignIn,
    summary = "A supervisor's number and PIN approve the session's next action that needs a supervisor (within 2 minutes).",
    responses((status = 200, description = "The session, its approval waiting", body = ConsoleSession), (status = "default", response = Problem)))]
fn approve_action() {}

/// An error; nothing was done.
#[derive(utoipa::ToResponse)]
#[response(description = "An error; nothing was done")]
pub struct Problem(#[to_schema] ErrorBody);

/// JOURNAL_ROW_DAMAGED.
#[derive(utoipa::ToResponse)]
#[response(
    description = "JOURNAL_ROW_DAMAGED: a journal row the answer needs does not decode (edited by hand, a disk fault). The sale, return or operation it holds cannot be read or changed on this terminal and trying again does not help; nothing was done. Store IT keeps the journal file for support (docs/install.md)."
)]
pub struct JournalRowDamaged(#[to_schema] ErrorBody);
