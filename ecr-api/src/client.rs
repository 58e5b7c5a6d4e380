//! A typed client of the ECR API: one method per operation, answers as the wire types,
//! refusals as [`EcrError::Refused`] with the terminal's [`ErrorCode`].

use crate::error::{ErrorBody, ErrorCode};
use crate::requests::{
    CaptureBody, KlarnaQuery, LogLevelChange, MethodBody, NewReturn, NewSale, QueueQuery, ReconciliationQuery,
    RetrySale, SaleQuery, XReportQuery,
};
use crate::{
    Cashier, CashierList, Catalogue, ConsoleInfo, DayReport, Health, KlarnaAvailability, LogLevel, PutCashier,
    QueueList, QueueState, QueuedOperation, Reconciliation, Return, Sale, SaleHistory, SaleList,
};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

/// Why a call did not give the answer asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EcrError {
    /// The terminal could not be reached (or did not answer in time).
    #[error("is posagent running? cannot reach {url}: {source}")]
    Unreachable {
        /// The API's address.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The terminal refused: an error status with the `{code, message, field}` envelope.
    #[error("the daemon answered {status} {}: {}", body.code, body.message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The envelope.
        body: ErrorBody,
    },
    /// A sale or return id that cannot stand as one path segment (empty, `.` or `..`,
    /// or with a control character): nothing was sent.
    #[error("refused to call the ECR API with the id {0:?}; give the sale's or return's id or reference")]
    BadId(String),
    /// An answer that is not the documented one (a status or a body the API does not give).
    #[error("the daemon answered {status} with what the API does not document: {detail}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
}

impl EcrError {
    /// The terminal's error code, when it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            EcrError::Refused { body, .. } => Some(body.code),
            _ => None,
        }
    }

    /// The HTTP status, when the terminal answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            EcrError::Refused { status, .. } | EcrError::Unexpected { status, .. } => Some(*status),
            EcrError::Unreachable { .. } | EcrError::BadId(_) => None,
        }
    }
}

/// A client of one terminal's ECR API, with its bearer token.
#[derive(Debug, Clone)]
pub struct EcrClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl EcrClient {
    /// A client of the API at `base_url` (e.g. `http://127.0.0.1:7600`) sending `token`,
    /// over `http` (its timeouts and trusted certificates).
    pub fn new(http: reqwest::Client, base_url: impl Into<String>, token: impl Into<String>) -> Self {
        let base = base_url.into().trim_end_matches('/').to_string();
        EcrClient { http, base, token: token.into() }
    }

    /// The API's address.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A request to `path` with the token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    /// A request to the path of `segments`, each encoded as one segment: an id or
    /// reference with `/`, `?`, `#` or `%` in it names that record, never another endpoint.
    fn at(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder, EcrError> {
        // The URL parser resolves dot segments and drops tabs and newlines (WHATWG).
        let unsafe_segment = |s: &&&str| s.is_empty() || **s == "." || **s == ".." || s.chars().any(char::is_control);
        if let Some(s) = segments.iter().find(unsafe_segment) {
            return Err(EcrError::BadId(s.to_string()));
        }
        let bad_base = || EcrError::BadId(format!("(the API address {} cannot take a path)", self.base));
        let mut url = reqwest::Url::parse(&self.base).map_err(|_| bad_base())?;
        url.path_segments_mut().map_err(|()| bad_base())?.pop_if_empty().extend(segments);
        Ok(self.http.request(method, url).bearer_auth(&self.token))
    }

    /// Sends `req`: the status and the body's bytes.
    async fn exchange(&self, req: RequestBuilder) -> Result<(StatusCode, Vec<u8>), EcrError> {
        let unreachable = |source| EcrError::Unreachable { url: self.base.clone(), source };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        Ok((status, resp.bytes().await.map_err(unreachable)?.to_vec()))
    }

    /// Sends `req`; the status and the body of a success, or the refusal.
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<(StatusCode, T), EcrError> {
        let (status, bytes) = self.exchange(req).await?;
        if status.is_success() {
            return parse(status, &bytes).map(|v| (status, v));
        }
        Err(refusal(status, &bytes))
    }

    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, EcrError> {
        self.send(req).await.map(|(_, v)| v)
    }

    /// `POST /v1/sales`: the sale, and whether it is new (false: the same reference again).
    pub async fn create_sale(&self, sale: &NewSale) -> Result<(Sale, bool), EcrError> {
        let (status, v) = self.send(self.request(Method::POST, "/v1/sales").json(sale)).await?;
        Ok((v, status == StatusCode::CREATED))
    }

    /// `GET /v1/sales/{id}` (id or reference).
    pub async fn sale(&self, id: &str) -> Result<Sale, EcrError> {
        self.call(self.at(Method::GET, &["v1", "sales", id])?).await
    }

    /// `GET /v1/sales/{id}/history`.
    pub async fn sale_history(&self, id: &str) -> Result<SaleHistory, EcrError> {
        self.call(self.at(Method::GET, &["v1", "sales", id, "history"])?).await
    }

    /// `POST /v1/sales/{id}/cancel`: the sale in its final state.
    pub async fn cancel_sale(&self, id: &str) -> Result<Sale, EcrError> {
        self.call(self.at(Method::POST, &["v1", "sales", id, "cancel"])?).await
    }

    /// `POST /v1/sales/{id}/method`: the customer's choice.
    pub async fn choose_method(&self, id: &str, method: &str) -> Result<Sale, EcrError> {
        let body = MethodBody { method: method.to_string() };
        self.call(self.at(Method::POST, &["v1", "sales", id, "method"])?.json(&body)).await
    }

    /// `POST /v1/sales/{id}/reprint`.
    pub async fn reprint(&self, id: &str) -> Result<Sale, EcrError> {
        self.call(self.at(Method::POST, &["v1", "sales", id, "reprint"])?).await
    }

    /// `POST /v1/sales/{id}/retry`: the new sale, and whether it is new.
    pub async fn retry_sale(&self, id: &str, retry: &RetrySale) -> Result<(Sale, bool), EcrError> {
        let (status, v) = self.send(self.at(Method::POST, &["v1", "sales", id, "retry"])?.json(retry)).await?;
        Ok((v, status == StatusCode::CREATED))
    }

    /// `POST /v1/sales/{id}/capture` under `key`: the sale, and whether the capture is
    /// queued for the acquirer (202).
    pub async fn capture(&self, id: &str, amount: Option<i64>, key: &str) -> Result<(Sale, bool), EcrError> {
        let req = self.at(Method::POST, &["v1", "sales", id, "capture"])?.header("Idempotency-Key", key);
        let (status, v) = self.send(req.json(&CaptureBody { amount })).await?;
        Ok((v, status == StatusCode::ACCEPTED))
    }

    /// `POST /v1/sales/{id}/void` under `key`: the sale, and whether the void is queued.
    pub async fn void(&self, id: &str, key: &str) -> Result<(Sale, bool), EcrError> {
        let req = self.at(Method::POST, &["v1", "sales", id, "void"])?.header("Idempotency-Key", key);
        let (status, v) = self.send(req).await?;
        Ok((v, status == StatusCode::ACCEPTED))
    }

    /// `POST /v1/drawer/open`.
    pub async fn open_drawer(&self) -> Result<(), EcrError> {
        match self.exchange(self.request(Method::POST, "/v1/drawer/open")).await? {
            (StatusCode::NO_CONTENT, _) => Ok(()),
            (status, bytes) => Err(refusal(status, &bytes)),
        }
    }

    /// `POST /v1/returns`: the return, and whether it is new (a refund waiting for the
    /// acquirer answers 202 and is [`crate::ReturnState::Pending`]).
    pub async fn create_return(&self, r: &NewReturn) -> Result<(Return, bool), EcrError> {
        let (status, v) = self.send(self.request(Method::POST, "/v1/returns").json(r)).await?;
        Ok((v, status != StatusCode::OK))
    }

    /// `GET /v1/returns/{id}`.
    pub async fn return_(&self, id: &str) -> Result<Return, EcrError> {
        self.call(self.at(Method::GET, &["v1", "returns", id])?).await
    }

    /// `GET /v1/klarna`: whether to show Klarna for an amount.
    pub async fn klarna(&self, q: &KlarnaQuery) -> Result<KlarnaAvailability, EcrError> {
        self.call(self.request(Method::GET, "/v1/klarna").query(q)).await
    }

    /// `GET /v1/reports/x` (`print`: on the receipt printer too).
    pub async fn report_x(&self, print: bool) -> Result<DayReport, EcrError> {
        self.call(self.request(Method::GET, "/v1/reports/x").query(&XReportQuery { print })).await
    }

    /// `POST /v1/reports/z`: closes the day and prints.
    pub async fn report_z(&self) -> Result<DayReport, EcrError> {
        self.call(self.request(Method::POST, "/v1/reports/z")).await
    }

    /// `GET /v1/reports/reconciliation` for `date` (`YYYY-MM-DD`; today without).
    pub async fn reconciliation(&self, date: Option<String>) -> Result<Reconciliation, EcrError> {
        let q = ReconciliationQuery { date };
        self.call(self.request(Method::GET, "/v1/reports/reconciliation").query(&q)).await
    }

    /// `GET /v1/sales`: sales newest first, filtered by `q`.
    pub async fn sales(&self, q: &SaleQuery) -> Result<SaleList, EcrError> {
        self.call(self.request(Method::GET, "/v1/sales").query(q)).await
    }

    /// `GET /v1/cashiers`.
    pub async fn cashiers(&self) -> Result<CashierList, EcrError> {
        self.call(self.request(Method::GET, "/v1/cashiers")).await
    }

    /// `PUT /v1/cashiers/{id}`: the cashier, and whether it is new (201).
    pub async fn put_cashier(&self, id: &str, body: &PutCashier) -> Result<(Cashier, bool), EcrError> {
        let (status, cashier) = self.send(self.at(Method::PUT, &["v1", "cashiers", id])?.json(body)).await?;
        Ok((cashier, status == StatusCode::CREATED))
    }

    /// `GET /v1/offline`: what may still be approved while the acquirer is unreachable.
    pub async fn offline_room(&self) -> Result<crate::OfflineRoom, EcrError> {
        self.call(self.request(Method::GET, "/v1/offline")).await
    }

    /// `GET /v1/catalogue`: the console's quick keys.
    pub async fn catalogue(&self) -> Result<Catalogue, EcrError> {
        self.call(self.request(Method::GET, "/v1/catalogue")).await
    }

    /// `GET /v1/queue`.
    pub async fn queue(&self, q: &QueueQuery) -> Result<QueueList, EcrError> {
        self.call(self.request(Method::GET, "/v1/queue").query(q)).await
    }

    /// `GET /v1/queue/summary`.
    pub async fn queue_summary(&self) -> Result<QueueState, EcrError> {
        self.call(self.request(Method::GET, "/v1/queue/summary")).await
    }

    /// `POST /v1/queue/sync`: everything waiting due now.
    pub async fn sync_queue(&self) -> Result<QueueState, EcrError> {
        self.call(self.request(Method::POST, "/v1/queue/sync")).await
    }

    /// `GET /v1/queue/{id}`.
    pub async fn queued_operation(&self, id: i64) -> Result<QueuedOperation, EcrError> {
        self.call(self.request(Method::GET, &format!("/v1/queue/{id}"))).await
    }

    /// `POST /v1/queue/{id}/retry`: a dead letter sent once more.
    pub async fn retry_dead_letter(&self, id: i64) -> Result<QueuedOperation, EcrError> {
        self.call(self.request(Method::POST, &format!("/v1/queue/{id}/retry"))).await
    }

    /// `GET /v1/log-level`.
    pub async fn log_level(&self) -> Result<LogLevel, EcrError> {
        self.call(self.request(Method::GET, "/v1/log-level")).await
    }

    /// `PUT /v1/log-level`.
    pub async fn set_log_level(&self, level: &str) -> Result<LogLevel, EcrError> {
        let body = LogLevelChange { level: level.to_string() };
        self.call(self.request(Method::PUT, "/v1/log-level").json(&body)).await
    }

    /// `GET /health`: the answer whether the terminal is up (200) or down (503).
    pub async fn health(&self) -> Result<Health, EcrError> {
        match self.exchange(self.http.get(format!("{}/health", self.base))).await? {
            (status @ (StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE), bytes) => parse(status, &bytes),
            (status, bytes) => Err(refusal(status, &bytes)),
        }
    }

    /// `GET /console/info`.
    pub async fn console_info(&self) -> Result<ConsoleInfo, EcrError> {
        self.call(self.http.get(format!("{}/console/info", self.base))).await
    }

    /// `GET /v1/events`: the open event stream (server-sent events), to read as it comes.
    pub async fn events(&self) -> Result<reqwest::Response, EcrError> {
        let unreachable = |source| EcrError::Unreachable { url: self.base.clone(), source };
        let resp = self.request(Method::GET, "/v1/events").send().await.map_err(unreachable)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        Err(refusal(status, &resp.bytes().await.map_err(unreachable)?))
    }
}

/// A success's body as `T`.
fn parse<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, EcrError> {
    serde_json::from_slice(bytes).map_err(|e| EcrError::Unexpected { status: status.as_u16(), detail: e.to_string() })
}

/// An answer that is not the one asked for: the refusal in its envelope, or what it is.
fn refusal(status: StatusCode, bytes: &[u8]) -> EcrError {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) if status.is_client_error() || status.is_server_error() => {
            EcrError::Refused { status: status.as_u16(), body }
        }
        Ok(_) => EcrError::Unexpected { status: status.as_u16(), detail: "an error envelope on a success".into() },
        Err(e) => EcrError::Unexpected { status: status.as_u16(), detail: e.to_string() },
    }
}
