//! `GET /v1/sales`: this terminal's sales, newest first, in a window of creation times
//! and by state or method — the list a cashier's console or a register's back office
//! shows for the day. The filters are checked here; the journal does the selecting.

use super::problem::Problem;
use super::routes::EcrState;
use super::wire;
use crate::domain::SaleState;
use crate::store::SaleFilter;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::PaymentMethod;
use posagent_ecr_api::{SaleList, SaleQuery};

/// Most sales one listing returns.
const MAX_LIST: usize = 1000;
/// Sales a listing returns when `limit` is not given.
const DEFAULT_LIST: usize = 100;

/// Sales newest first; `?since=&before=` (RFC 3339), `?state=`, `?method=`, `?limit=`.
pub(super) async fn list(
    State(s): State<EcrState>,
    q: Result<Query<SaleQuery>, QueryRejection>,
) -> Result<Json<SaleList>, Problem> {
    let Ok(Query(q)) = q else {
        return Err(Problem::invalid_request(
            "pass ?since=RFC3339&before=RFC3339&state=STATE&method=KLARNA|CARD&limit=N (each optional)",
        ));
    };
    let filter = filter_of(q)?;
    let sales = s.checkout.sales(filter).await?;
    Ok(Json(SaleList { sales: sales.into_iter().map(wire::sale).collect() }))
}

/// The journal's filter for a query, or which parameter is wrong and why.
fn filter_of(q: SaleQuery) -> Result<SaleFilter, Problem> {
    let state = match q.state.as_deref() {
        None => None,
        Some(v) => Some(SaleState::parse(v).ok_or_else(|| {
            let names: Vec<&str> = SaleState::ALL.iter().map(|s| s.as_str()).collect();
            Problem::invalid_field("state", format!("state `{v}` is not one of {}", names.join(", ")))
        })?),
    };
    let method = match q.method.as_deref() {
        None => None,
        Some("KLARNA") => Some(PaymentMethod::Klarna),
        Some("CARD") => Some(PaymentMethod::Card),
        Some(_) => return Err(Problem::invalid_field("method", "method must be KLARNA or CARD")),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIST);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(Problem::invalid_field("limit", format!("limit must be 1 to {MAX_LIST}")));
    }
    Ok(SaleFilter {
        since: instant("since", q.since.as_deref())?,
        before: instant("before", q.before.as_deref())?,
        state,
        method,
        limit,
    })
}

/// An RFC 3339 instant of parameter `field`, in UTC. Its date and time are separated by
/// `T` (or `t`), as RFC 3339's `date-time` has them; chrono also takes a space there.
fn instant(field: &'static str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, Problem> {
    let Some(v) = value else { return Ok(None) };
    let wrong = |why: String| {
        Problem::invalid_field(
            field,
            format!("{field} must be an RFC 3339 date-time such as 2026-12-04T00:00:00+01:00 ({why})"),
        )
    };
    if !matches!(v.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(wrong("no T between the date and the time".into()));
    }
    DateTime::parse_from_rfc3339(v).map(|t| Some(t.with_timezone(&Utc))).map_err(|e| wrong(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> SaleQuery {
        let mut q = SaleQuery::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "since" => q.since = v,
                "before" => q.before = v,
                "state" => q.state = v,
                "method" => q.method = v,
                _ => q.limit = v.and_then(|v| v.parse().ok()),
            }
        }
        q
    }

    #[test]
    fn filters_are_read_in_utc_and_bad_ones_name_their_parameter() {
        let f = filter_of(query(&[("since", "2026-12-04T00:00:00+01:00"), ("state", "APPROVED"), ("method", "CARD")]))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(f.since.map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-03T23:00:00+00:00"));
        assert_eq!(
            (f.state, f.method, f.limit, f.before),
            (Some(SaleState::Approved), Some(PaymentMethod::Card), 100, None)
        );
        for (pairs, field) in [
            (vec![("since", "yesterday")], "since"),
            (vec![("before", "2026-12-04")], "before"),
            (vec![("since", "2026-12-04 00:00:00Z")], "since"),
            (vec![("state", "PAID")], "state"),
            (vec![("state", "approved")], "state"),
            (vec![("method", "card")], "method"),
            (vec![("method", "CASH")], "method"),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "1001")], "limit"),
        ] {
            let e = filter_of(query(&pairs)).err().unwrap_or_else(|| panic!("{pairs:?} passed"));
            assert_eq!(e.field.as_deref(), Some(field), "{pairs:?}");
        }
    }
}
