//! The store config's checks beyond what its types say, one function per section; each
//! failure names the key to fix and what it must be.

use super::store::{AcquirerConfig, EcrConfig, LimitsConfig, StoreConfig, StoreSection, SyncConfig, valid_locale};
use posagent_acquirer_api::MAX_AMOUNT;
use std::ops::RangeInclusive;

/// A failed check: the key and what is wrong with it.
pub(super) type Check = Result<(), (&'static str, String)>;

fn fail(key: &'static str, message: impl Into<String>) -> Check {
    Err((key, message.into()))
}

/// `value` within `range`, else `message` under `key`.
fn within<T: PartialOrd>(key: &'static str, value: T, range: RangeInclusive<T>, message: &str) -> Check {
    if range.contains(&value) { Ok(()) } else { fail(key, message) }
}

/// Every check of the store config, in file order.
pub(super) fn store_config(c: &StoreConfig) -> Check {
    if c.printer_endpoint == Some(super::Endpoint::Network) {
        return fail("printer_endpoint", "give the printer's address, e.g. \"tcp:PRINTER-ADDRESS:9100\"");
    }
    if let Some(level) = &c.log_level {
        crate::logging::validate_filter(level).map_err(|why| ("log_level", why.to_string()))?;
    }
    store(&c.store)?;
    acquirer(&c.acquirer)?;
    ecr(&c.ecr)?;
    limits(&c.limits)?;
    if let Some(addr) = c.metrics.listen
        && (addr == c.ecr.listen || addr.port() == c.ecr.listen.port() && addr.port() != 0)
    {
        return fail(
            "metrics.listen",
            "must be another port than ecr.listen (the monitoring listener serves only /metrics and /health)",
        );
    }
    c.offline.validate().map_err(|(key, message)| (key, message.to_string()))?;
    c.console.check()?;
    if let Some(zvt) = &c.zvt {
        zvt.check()?;
    }
    if let Some(fleet) = &c.fleet {
        fleet.check()?;
    }
    sync(&c.sync)
}

/// `[store]`: the names, address and VAT number that are printed, the country, the locale.
fn store(s: &StoreSection) -> Check {
    for (key, v) in [
        ("store.store_reference", &s.store_reference),
        ("store.terminal_reference", &s.terminal_reference),
        ("store.name", &s.name),
    ] {
        if v.trim().is_empty() || v.len() > 255 {
            return fail(key, "must be 1 to 255 characters");
        }
    }
    if s.address.len() > 3 {
        return fail("store.address", "at most 3 lines");
    }
    for (key, v) in
        s.address.iter().map(|l| ("store.address", l)).chain(s.vat_number.iter().map(|v| ("store.vat_number", v)))
    {
        if v.trim().is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
            return fail(key, "each must be 1 to 64 printable characters");
        }
    }
    if s.country.len() != 2 || !s.country.chars().all(|c| c.is_ascii_uppercase()) {
        return fail("store.country", format!("`{}` is not an ISO 3166-1 alpha-2 code; write e.g. \"SE\"", s.country));
    }
    if !valid_locale(&s.locale) {
        return fail("store.locale", format!("`{}` is not a locale like \"sv-SE\"", s.locale));
    }
    Ok(())
}

/// `[acquirer]`: https (plain http only to this machine) and a sane timeout.
fn acquirer(a: &AcquirerConfig) -> Check {
    if !(a.url.starts_with("https://")
        || a.url.starts_with("http://127.0.0.1")
        || a.url.starts_with("http://localhost"))
    {
        return fail("acquirer.url", "must be an https:// URL (plain http only to this machine)");
    }
    within("acquirer.timeout_ms", a.timeout_ms, 1_000..=120_000, "must be 1000 to 120000")
}

/// `[ecr]`: rate limits, TLS files in pairs, allowed host names.
fn ecr(e: &EcrConfig) -> Check {
    within("ecr.max_requests_per_sec", e.max_requests_per_sec, 1..=10_000, "must be 1 to 10000")?;
    if e.tls_cert_file.is_some() != e.tls_key_file.is_some() {
        return fail("ecr", "set both tls_cert_file and tls_key_file, or neither");
    }
    within("ecr.max_unauthenticated_per_sec", e.max_unauthenticated_per_sec, 1..=10_000, "must be 1 to 10000")?;
    e.check_host_names()
}

/// `[limits]`: the amount ceiling and the customer's timeouts.
fn limits(l: &LimitsConfig) -> Check {
    within("limits.max_amount", l.max_amount, 1..=MAX_AMOUNT, &format!("must be 1 to {MAX_AMOUNT} minor units"))?;
    within(
        "limits.klarna_timeout_secs",
        l.klarna_timeout_secs,
        30..=3600,
        "must be 30 to 3600 (a Klarna payment request lives at least 15 minutes)",
    )?;
    within(
        "limits.choice_timeout_secs",
        l.choice_timeout_secs,
        10..=600,
        "must be 10 to 600 (the seconds a customer has to choose Klarna or card on the display)",
    )?;
    within(
        "limits.shutdown_grace_secs",
        l.shutdown_grace_secs,
        0..=300,
        "must be 0 to 300 (and below the service's TimeoutStopSec)",
    )
}

/// `[sync]`: batch size, parallelism, backoff and retention.
fn sync(s: &SyncConfig) -> Check {
    within("sync.batch_size", s.batch_size, 1..=100, "must be 1 to 100")?;
    within("sync.max_parallel", s.max_parallel, 1..=16, "must be 1 to 16")?;
    within("sync.max_backoff_secs", s.max_backoff_secs, 1..=3600, "must be 1 to 3600")?;
    within("sync.retention_days", s.retention_days, 1..=3650, "must be 1 to 3650")?;
    within("sync.heartbeat_secs", s.heartbeat_secs, 5..=600, "must be 5 to 600")
}
