//! Who is calling the API: the register (its bearer token) or a cashier signed in at the
//! console (the session cookie; a request that changes something also carries the
//! session's CSRF token and, when the browser sends one, this terminal's own `Origin`).
//! A cashier's actions pass the role's rules here — a void, a Z report, a dead letter's
//! retry and a change of cashiers need a supervisor, signed in or approving with their
//! PIN; a refund over the cashier's limit is refused by the returns — and each is
//! journaled (who, approved by whom, what, to what) before it is done, its status after.

use super::session::{CSRF_HEADER, NoSession, POLL_HEADER, Sessions, cookie_token, csrf_matches};
use crate::domain::{Cashier, Role};
use crate::ecr::problem::Problem;
use crate::staff::Staff;
use crate::store::NewAction;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use posagent_acquirer_api::auth::{bearer_token, constant_time_eq};
use posagent_ecr_api::ErrorCode;
use std::sync::Arc;

/// Who made a request (an extension of every request past the gate).
#[derive(Debug, Clone)]
pub enum Caller {
    /// The register, with the ECR token: every operation, no cashier.
    Register,
    /// A cashier at the console.
    Console(Signed),
}

/// A cashier's request.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who.
    pub cashier: Cashier,
    /// The supervisor whose approval this request took.
    pub approved_by: Option<Cashier>,
    /// The largest refund this request may make; `None`: any.
    pub refund_limit: Option<i64>,
}

impl Caller {
    /// The console's cashier's number, if a cashier is calling.
    pub fn cashier_id(&self) -> Option<String> {
        match self {
            Caller::Register => None,
            Caller::Console(s) => Some(s.cashier.id.clone()),
        }
    }

    /// Who asks for a return, with their limit.
    pub fn refunder(&self) -> crate::returns::Refunder {
        match self {
            Caller::Register => crate::returns::Refunder::default(),
            Caller::Console(s) => {
                crate::returns::Refunder { cashier: Some(s.cashier.id.clone()), limit: s.refund_limit }
            }
        }
    }
}

/// What the gate needs.
pub struct Gate {
    /// The register's token.
    pub token: Arc<String>,
    /// The console's sessions.
    pub sessions: Arc<Sessions>,
    /// The staff, for the journaled actions.
    pub staff: Staff,
    /// `console.cashier_refund_limit`.
    pub refund_limit: i64,
}

/// Who may do an action at the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any cashier.
    Cashier,
    /// A supervisor, signed in or approving.
    Supervisor,
    /// Any cashier, within the refund limit unless a supervisor approves.
    RefundLimit,
}

/// A console action: its name, who may do it, and what it is done to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    action: String,
    need: Need,
    subject: Option<String>,
}

/// The rule of a request that changes something; `None`: not an action of the console
/// (the log level, which is store IT's, with the register's token).
fn rule(method: &Method, path: &str) -> Option<Rule> {
    let parts: Vec<&str> = path.strip_prefix("/v1/")?.split('/').collect();
    let (action, need, subject) = match (method.as_str(), parts.as_slice()) {
        ("POST", ["sales"]) => ("sale.create".to_string(), Need::Cashier, None),
        ("POST", ["sales", id, "void"]) => ("sale.void".to_string(), Need::Supervisor, Some(*id)),
        ("POST", ["sales", id, verb @ ("cancel" | "method" | "reprint" | "retry" | "capture")]) => {
            (format!("sale.{verb}"), Need::Cashier, Some(*id))
        }
        ("POST", ["drawer", "open"]) => ("drawer.open".to_string(), Need::Cashier, None),
        ("POST", ["returns"]) => ("return.create".to_string(), Need::RefundLimit, None),
        ("POST", ["reports", "z"]) => ("report.z".to_string(), Need::Supervisor, None),
        ("POST", ["queue", "sync"]) => ("queue.sync".to_string(), Need::Cashier, None),
        ("POST", ["queue", id, "retry"]) => ("queue.retry".to_string(), Need::Supervisor, Some(*id)),
        ("PUT", ["cashiers", id]) => ("cashier.put".to_string(), Need::Supervisor, Some(*id)),
        _ => return None,
    };
    Some(Rule { action, need, subject: subject.map(str::to_string) })
}

/// Middleware: the register by its token, else the console's cashier by the session.
pub async fn require_caller(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    let given = bearer_token(request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    if constant_time_eq(given.as_bytes(), gate.token.as_bytes()) {
        mark_authenticated(&request);
        request.extensions_mut().insert(Caller::Register);
        return next.run(request).await;
    }
    let Some(token) = cookie_token(request.headers()) else {
        let mut r = Problem::unauthorized().into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"posagent\""));
        return r;
    };
    let action = request.headers().get(POLL_HEADER).is_none();
    let session = match gate.sessions.find(&token, action) {
        Ok(s) => s,
        Err(why) => return sign_in_required(why).into_response(),
    };
    mark_authenticated(&request);
    let method = request.method().clone();
    if method == Method::GET || method == Method::HEAD {
        let signed = Signed { cashier: session.cashier, approved_by: None, refund_limit: None };
        request.extensions_mut().insert(Caller::Console(signed));
        return next.run(request).await;
    }
    if !csrf_matches(&session, request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
        || !same_origin(request.headers())
    {
        return Problem::new(
            StatusCode::FORBIDDEN,
            ErrorCode::CsrfRejected,
            "the request lacks this console session's CSRF token or comes from another site; reload the console",
        )
        .into_response();
    }
    let Some(rule) = rule(&method, request.uri().path()) else {
        return Problem::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Unauthorized,
            "this is done by store IT with the register's token, not at the console",
        )
        .into_response();
    };
    act(&gate, &token, session.cashier, rule, request, next).await
}

/// A cashier's action under its rule: refused when the role does not allow it, else
/// journaled, done, and its status journaled.
async fn act(gate: &Gate, token: &str, cashier: Cashier, rule: Rule, request: Request, next: Next) -> Response {
    let supervisor = cashier.role == Role::Supervisor;
    let approved_by = match rule.need {
        Need::Cashier => None,
        _ if supervisor => None,
        Need::Supervisor => match gate.sessions.take_approval(token) {
            Some(s) => Some(s),
            None => return supervisor_required(&rule.action).into_response(),
        },
        Need::RefundLimit => gate.sessions.take_approval(token),
    };
    let refund_limit =
        (rule.need == Need::RefundLimit && !supervisor && approved_by.is_none()).then_some(gate.refund_limit);
    let (request, subject) = match rule.subject {
        Some(s) => (request, Some(s)),
        None if rule.action == "return.create" => match returned_purchase(request).await {
            Ok(pair) => pair,
            Err(r) => return r,
        },
        None => (request, None),
    };
    let begun = gate
        .staff
        .begin(NewAction {
            cashier: cashier.id.clone(),
            approved_by: approved_by.as_ref().map(|c| c.id.clone()),
            action: rule.action,
            subject,
        })
        .await;
    let seq = match begun {
        Ok(seq) => seq,
        Err(e) => return Problem::from(e).into_response(),
    };
    let mut request = request;
    request.extensions_mut().insert(Caller::Console(Signed { cashier, approved_by, refund_limit }));
    let response = next.run(request).await;
    if let Err(e) = gate.staff.finish(seq, response.status().as_u16()).await {
        tracing::warn!(seq, error = %e, "the console action's status could not be journaled");
    }
    response
}

/// The purchase a return names (its subject), read off the body, which is put back.
async fn returned_purchase(request: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, crate::ecr::routes::MAX_BODY).await.map_err(|_| {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, "the request body is over 1 MiB")
            .into_response()
    })?;
    let subject = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("original_reference").and_then(|r| r.as_str()).map(str::to_string))
        .filter(|r| (1..=255).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_graphic()));
    Ok((Request::from_parts(parts, axum::body::Body::from(bytes)), subject))
}

/// Whether the request's `Origin`, when it has one, is this terminal as the request names it.
pub(super) fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn mark_authenticated(request: &Request) {
    if let Some(crate::ecr::serve::Connection(c)) = request.extensions().get() {
        c.mark_authenticated();
    }
}

/// 401: sign in (again).
pub fn sign_in_required(why: NoSession) -> Problem {
    let message = match why {
        NoSession::Unknown => "sign in at the console with your cashier number and PIN",
        NoSession::Locked => "the console locked after a time without use: sign in again",
    };
    Problem::new(StatusCode::UNAUTHORIZED, ErrorCode::SignInRequired, message)
}

/// 403: a supervisor is needed.
fn supervisor_required(action: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        ErrorCode::SupervisorRequired,
        format!("{action} needs a supervisor: one signs in, or approves with their number and PIN"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_console_action_has_its_rule() {
        let r = |m: Method, p: &str| rule(&m, p).map(|r| (r.action, r.need, r.subject));
        assert_eq!(r(Method::POST, "/v1/sales"), Some(("sale.create".into(), Need::Cashier, None)));
        assert_eq!(
            r(Method::POST, "/v1/sales/S-1/void"),
            Some(("sale.void".into(), Need::Supervisor, Some("S-1".into())))
        );
        assert_eq!(r(Method::POST, "/v1/sales/S-1/cancel").map(|x| x.1), Some(Need::Cashier));
        assert_eq!(r(Method::POST, "/v1/returns").map(|x| x.1), Some(Need::RefundLimit));
        assert_eq!(r(Method::POST, "/v1/reports/z").map(|x| x.1), Some(Need::Supervisor));
        assert_eq!(r(Method::PUT, "/v1/cashiers/7").map(|x| x.1), Some(Need::Supervisor));
        assert_eq!(r(Method::PUT, "/v1/log-level"), None);
        assert_eq!(r(Method::POST, "/v1/sales/S-1/explode"), None);
        assert_eq!(r(Method::DELETE, "/v1/sales/S-1"), None);
    }

    #[test]
    fn an_origin_must_be_this_terminal() {
        let h = |origin: Option<&str>| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7600"));
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap_or_else(|_| HeaderValue::from_static("x")));
            }
            h
        };
        assert!(same_origin(&h(None)));
        assert!(same_origin(&h(Some("http://127.0.0.1:7600"))));
        assert!(!same_origin(&h(Some("http://evil.example"))));
        assert!(!same_origin(&h(Some("null"))));
    }
}
