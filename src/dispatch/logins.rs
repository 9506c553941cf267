//! Login throttling, shared by every instance: attempts per phone are counted in the store
//! (a fixed window of `auth.login_lockout` from the first attempt that did not succeed), so N
//! instances give an attacker no more tries than one. Attempts are counted before the
//! password is checked, so concurrent guesses through several instances cannot pass the limit
//! together; a successful login forgets the count.

use super::resident_chat::RateLimited;
use super::{DispatchError, Dispatcher};
use crate::auth::sha256_hex;
use crate::domain::account::Phone;

/// The store key of a phone's login window (hashed: no phone number in the store's keys).
fn window_key(phone: &Phone) -> String {
    sha256_hex(&format!("login:{}", phone.full()))
}

impl Dispatcher {
    /// Count a login attempt for `phone`; `Ok(Err(..))` once it is over
    /// `auth.login_max_failures` attempts in the window (the caller refuses without checking
    /// the password).
    ///
    /// # Errors
    /// `Err(Store)` on backend failure (the login is refused, never let through unchecked).
    pub async fn count_login_attempt(&self, phone: &Phone) -> Result<Result<(), RateLimited>, DispatchError> {
        let auth = &self.settings().auth;
        let hit = self.store().hit_rate_window(&window_key(phone), auth.login_lockout).await?;
        if hit.count > u64::from(auth.login_max_failures) {
            metrics::counter!("gd_logins_locked_total").increment(1);
            return Ok(Err(RateLimited::until(hit.resets_in)));
        }
        Ok(Ok(()))
    }

    /// A login for `phone` succeeded: forget its attempts.
    ///
    /// # Errors
    /// `Err(Store)` on backend failure.
    pub async fn login_succeeded(&self, phone: &Phone) -> Result<(), DispatchError> {
        self.store().clear_rate_window(&window_key(phone)).await?;
        Ok(())
    }
}
