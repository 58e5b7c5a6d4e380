//! PINs: their form, and their argon2id hashes made and checked on a blocking thread, one
//! at a time (each takes ~19 MiB and tens of milliseconds: a flood of sign-ins queues, it
//! does not take the terminal's memory or both cores).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

/// A PIN could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The hash function failed (or a stored hash does not parse).
    #[error("the PIN could not be hashed or checked ({0}); the cashier's stored PIN may be damaged: set a new one")]
    Hash(String),
    /// The blocking thread was lost.
    #[error("the PIN check did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Whether a PIN is 4 to 8 digits and not one a thief tries first (one digit repeated,
/// a run up or down): the message tells the person choosing it.
pub fn check_pin_form(pin: &str) -> Result<(), String> {
    let digits: Vec<u8> = pin.bytes().collect();
    if !(4..=8).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err("a PIN is 4 to 8 digits".into());
    }
    let steps: Vec<i16> = digits.windows(2).map(|w| i16::from(w[1]) - i16::from(w[0])).collect();
    if steps.iter().all(|s| *s == steps[0]) && steps[0].abs() <= 1 {
        return Err("choose a PIN that is not one digit repeated or a run like 1234".into());
    }
    Ok(())
}

/// OWASP's argon2id setting: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Result<Argon2<'static>, PinError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| PinError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Makes and checks hashes, one at a time.
pub(super) struct Hasher {
    turn: tokio::sync::Semaphore,
    /// A hash no PIN is known for: what an unknown cashier's PIN is checked against.
    decoy: tokio::sync::OnceCell<String>,
}

impl Hasher {
    pub(super) fn new() -> Self {
        Hasher { turn: tokio::sync::Semaphore::new(1), decoy: tokio::sync::OnceCell::new() }
    }

    /// The PHC string of `pin` with a new random salt.
    pub(super) async fn hash(&self, pin: Zeroizing<String>) -> Result<String, PinError> {
        let _turn = self.turn.acquire().await.map_err(|e| PinError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            // 16 bytes from the OS's random source (a v4 UUID: 122 random bits), the salt
            // length argon2 recommends.
            let salt =
                SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(|e| PinError::Hash(e.to_string()))?;
            argon2()?
                .hash_password(pin.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| PinError::Hash(e.to_string()))
        })
        .await?
    }

    /// Whether `pin` is the one `hash` was made of.
    pub(super) async fn verify(&self, pin: Zeroizing<String>, hash: String) -> Result<bool, PinError> {
        let _turn = self.turn.acquire().await.map_err(|e| PinError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(|e| PinError::Hash(e.to_string()))?;
            // The parameters are the stored hash's own (a hash made with other settings still checks).
            Ok(argon2()?.verify_password(pin.as_bytes(), &parsed).is_ok())
        })
        .await?
    }

    /// Spends the time of a check on a PIN that has no cashier.
    pub(super) async fn verify_nothing(&self, pin: Zeroizing<String>) -> Result<(), PinError> {
        let decoy =
            self.decoy.get_or_try_init(|| self.hash(Zeroizing::new(uuid::Uuid::new_v4().to_string()))).await?.clone();
        self.verify(pin, decoy).await.map(|_| ())
    }
}
