//! The console's sessions: a cashier signed in on one browser, held in memory (a restart
//! signs everyone out), named by a random cookie (`HttpOnly`, `SameSite=Strict`, `Secure`
//! over TLS), with its own CSRF token for every request that changes something, locked
//! after `console.lock_after_secs` without a cashier's action, and a supervisor's
//! approval that the next action needing one takes.

use crate::domain::Cashier;
use posagent_acquirer_api::auth::constant_time_eq;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE: &str = "posagent_console";

/// The header a request that changes something carries the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A request the console makes by itself (following a sale, the banner): it does not count
/// as the cashier's action, so the idle lock still comes.
pub const POLL_HEADER: &str = "x-console-poll";

/// How long a supervisor's approval waits for the action it was given for.
pub const APPROVAL_FOR: Duration = Duration::from_secs(120);

/// Sessions kept at once; signing in beyond it ends the one idle longest.
const MAX_SESSIONS: usize = 32;

/// The longest a session lasts, however busy (a shift).
const MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// A signed-in console.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub cashier: Cashier,
    /// The token its requests that change something carry.
    pub csrf: String,
    started: Instant,
    last_action: Instant,
    approval: Option<(Cashier, Instant)>,
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    /// No cookie, or one of no session (signed out, or the terminal restarted).
    Unknown,
    /// Locked after a time without use.
    Locked,
}

/// The sessions.
pub struct Sessions {
    lock_after: Duration,
    by_token: Mutex<HashMap<[u8; 32], Session>>,
}

fn key(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// 256 bits from the OS's random source, hex.
fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Sessions {
    /// Sessions that lock after `lock_after` without an action.
    pub fn new(lock_after: Duration) -> Self {
        Sessions { lock_after, by_token: Mutex::new(HashMap::new()) }
    }

    /// How long a session stays open without an action.
    pub fn lock_after(&self) -> Duration {
        self.lock_after
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_token.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a session for `cashier`; answers its cookie token and the session.
    pub fn open(&self, cashier: Cashier) -> (String, Session) {
        let token = random_token();
        let now = Instant::now();
        let session = Session { cashier, csrf: random_token(), started: now, last_action: now, approval: None };
        let mut map = self.map();
        map.retain(|_, s| !self.expired(s, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_action).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(key(&token), session.clone());
        (token, session)
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_action) > self.lock_after || now.duration_since(s.started) > MAX_AGE
    }

    /// The session of `token`; an action (not a poll) keeps it open.
    pub fn find(&self, token: &str, action: bool) -> Result<Session, NoSession> {
        let now = Instant::now();
        let mut map = self.map();
        let k = key(token);
        let Some(s) = map.get_mut(&k) else { return Err(NoSession::Unknown) };
        if self.expired(s, now) {
            map.remove(&k);
            return Err(NoSession::Locked);
        }
        if action {
            s.last_action = now;
        }
        Ok(s.clone())
    }

    /// Ends the session of `token`.
    pub fn close(&self, token: &str) {
        self.map().remove(&key(token));
    }

    /// Gives the session of `token` a supervisor's approval for its next action needing one.
    pub fn approve(&self, token: &str, supervisor: Cashier) -> bool {
        match self.map().get_mut(&key(token)) {
            Some(s) => {
                s.approval = Some((supervisor, Instant::now()));
                true
            }
            None => false,
        }
    }

    /// Takes the session's approval, if one is waiting and fresh.
    pub fn take_approval(&self, token: &str) -> Option<Cashier> {
        let mut map = self.map();
        let (supervisor, at) = map.get_mut(&key(token))?.approval.take()?;
        (at.elapsed() <= APPROVAL_FOR).then_some(supervisor)
    }

    /// Whether an approval is waiting (without taking it).
    pub fn has_approval(&self, token: &str) -> bool {
        self.map()
            .get(&key(token))
            .and_then(|s| s.approval.as_ref())
            .is_some_and(|(_, at)| at.elapsed() <= APPROVAL_FOR)
    }
}

/// Whether `given` is the session's CSRF token (constant time).
pub fn csrf_matches(session: &Session, given: Option<&str>) -> bool {
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), session.csrf.as_bytes()))
}

/// The console cookie's value in a `Cookie` header, if any.
pub fn cookie_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The `Set-Cookie` value for `token` (empty and expired: signs the browser out).
pub fn set_cookie(token: &str, secure: bool) -> String {
    let age = if token.is_empty() { "; Max-Age=0" } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn anna() -> Cashier {
        Cashier { id: "7".into(), name: "Anna".into(), role: Role::Cashier, active: true }
    }

    #[test]
    fn a_session_locks_after_the_idle_time_and_polls_do_not_keep_it_open() {
        let sessions = Sessions::new(Duration::from_millis(200));
        let (token, s) = sessions.open(anna());
        assert!(csrf_matches(&s, Some(&s.csrf)));
        assert!(!csrf_matches(&s, Some("x")));
        assert!(!csrf_matches(&s, None));
        std::thread::sleep(Duration::from_millis(120));
        assert!(sessions.find(&token, false).is_ok());
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(sessions.find(&token, true).err(), Some(NoSession::Locked));
        assert_eq!(sessions.find(&token, true).err(), Some(NoSession::Unknown));
    }

    #[test]
    fn an_approval_is_taken_once() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let (token, _) = sessions.open(anna());
        let boss = Cashier { id: "2".into(), name: "Bo".into(), role: Role::Supervisor, active: true };
        assert!(sessions.take_approval(&token).is_none());
        assert!(sessions.approve(&token, boss));
        assert!(sessions.has_approval(&token));
        assert_eq!(sessions.take_approval(&token).map(|c| c.id), Some("2".into()));
        assert!(sessions.take_approval(&token).is_none());
        sessions.close(&token);
        assert_eq!(sessions.find(&token, true).err(), Some(NoSession::Unknown));
    }

    #[test]
    fn the_cookie_is_read_among_others_and_set_strictly() {
        let mut h = axum::http::HeaderMap::new();
        h.append(axum::http::header::COOKIE, "a=b; posagent_console=abc123".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(cookie_token(&h).as_deref(), Some("abc123"));
        let c = set_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"), "{c}");
        assert!(set_cookie("", false).contains("Max-Age=0"));
    }
}
