//! Logging in: the one flow every staff login goes through (the HTTP handler only maps its
//! answer), built so that it cannot be turned into a weapon.
//!
//! - **Memory and cores.** An argon2id check takes 19 MiB and tens of milliseconds of a core.
//!   Every check (and every new hash) on this instance waits for one of
//!   `auth.password_hash_concurrency` permits (default: half the cores, at least one), so a
//!   flood of logins queues, bounded by the request deadline, instead of holding 19 MiB per
//!   request: memory stays flat and other requests keep their cores.
//! - **Guessing.** Attempts are counted in the store before the password is checked (so
//!   concurrent guesses through several instances cannot slip past a limit together), in three
//!   fixed windows shared by every instance:
//!   - per phone *and* client address: `auth.login_max_failures` per `auth.login_lockout`. A
//!     stranger who guesses locks out only their own address.
//!   - per client address over every phone: `auth.login_ip_max_failures` per
//!     `auth.login_ip_window`, against spraying one password over many phones.
//!   - per phone over every address: `auth.login_phone_max_failures` per
//!     `auth.login_phone_window`, the slow limit against guesses spread over many addresses.
//!     Once it is reached, only an address with no attempt of its own on that phone in its
//!     window gets through (one try each, until that address's window resets): the mediator's
//!     own phone, which has not failed, still logs in.
//!
//!   A success clears its (phone, address) window and gives back its own hit on the other two,
//!   so mediators sharing an office's address are never limited by their successes.
//! - **Enumeration.** An unknown phone is counted, looked up and checked against a dummy hash
//!   with the same parameters, exactly like a known one: the same answer at the same cost.

use super::{AccountError, Accounts};
use crate::auth::{self, sha256_hex};
use crate::dispatch::rate::{RateLimited, ip_bucket};
use crate::domain::account::{Account, Phone};
use crate::store::StoreError;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefused {
    /// Wrong phone or password, or an account that may not log in (one answer for all).
    Denied,
    /// Too many attempts in one of the windows (see the module docs).
    Throttled(RateLimited),
}

/// The permits for password hashing on this instance.
pub(super) fn hash_permits(configured: usize) -> Arc<Semaphore> {
    let n = if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map_or(1, |cores| cores.get() / 2).max(1)
    };
    Arc::new(Semaphore::new(n))
}

/// The three windows one attempt counts in (hashed: no phone or address in the store's keys).
struct Windows {
    pair: String,
    address: String,
    phone: String,
}

impl Windows {
    fn of(phone: &Phone, from: IpAddr) -> Self {
        let (phone, address) = (phone.full(), ip_bucket(from));
        Self {
            pair: sha256_hex(&format!("login:{phone}:{address}")),
            address: sha256_hex(&format!("login-ip:{address}")),
            phone: sha256_hex(&format!("login:{phone}")),
        }
    }
}

impl Accounts {
    /// Log in with a phone and password from client address `from`: the account, or why not.
    ///
    /// # Errors
    /// `Store` on backend failure (the login is refused, never let through unchecked).
    pub async fn login(
        &self,
        phone: &str,
        password: String,
        from: IpAddr,
    ) -> Result<Result<Account, LoginRefused>, AccountError> {
        let Ok(phone) = Phone::parse(phone) else { return Ok(Err(LoginRefused::Denied)) };
        if password.chars().count() > auth::MAX_PASSWORD_CHARS {
            return Ok(Err(LoginRefused::Denied));
        }
        let windows = Windows::of(&phone, from);
        if let Err(limited) = self.count_login_attempt(&windows).await? {
            tracing::info!(phone = %phone.masked(), "login refused: too many attempts");
            return Ok(Err(LoginRefused::Throttled(limited)));
        }
        let account = self.directory.account_by_phone(&phone).await?;
        let phc = account.as_ref().map_or_else(|| auth::NO_PASSWORD_HASH.to_owned(), |a| a.password_hash.clone());
        let matches = self.verify_password(password, phc).await?;
        match account {
            // Admin accounts log in too (issue #17); the CLI's tokens stay for bootstrapping.
            Some(a) if matches && a.enabled => {
                let store = &self.leases;
                tokio::try_join!(
                    store.clear_rate_window(&windows.pair),
                    store.refund_rate_window(&windows.address),
                    store.refund_rate_window(&windows.phone),
                )?;
                tracing::info!(account_id = %a.id, role = a.role.as_str(), "login");
                Ok(Ok(a))
            }
            _ => {
                tracing::info!(phone = %phone.masked(), "login failed");
                Ok(Err(LoginRefused::Denied))
            }
        }
    }

    /// Count one attempt in each window; `Ok(Err(..))` when it must be refused unchecked.
    async fn count_login_attempt(&self, windows: &Windows) -> Result<Result<(), RateLimited>, AccountError> {
        let a = &self.dispatcher.settings().auth;
        let store = &self.leases;
        let (pair, address, phone) = tokio::try_join!(
            store.hit_rate_window(&windows.pair, a.login_lockout),
            store.hit_rate_window(&windows.address, a.login_ip_window),
            store.hit_rate_window(&windows.phone, a.login_phone_window),
        )?;
        let over = |hit: crate::store::leases::RateCount, max: u32| hit.count > u64::from(max);
        let refused = if over(pair, a.login_max_failures) {
            Some(("phone_and_address", pair))
        } else if over(address, a.login_ip_max_failures) {
            Some(("address", address))
        } else if over(phone, a.login_phone_max_failures) && pair.count > 1 {
            Some(("phone", phone))
        } else {
            None
        };
        Ok(match refused {
            Some((window, hit)) => {
                metrics::counter!("gd_logins_locked_total", "window" => window).increment(1);
                Err(RateLimited::until(hit.resets_in))
            }
            None => Ok(()),
        })
    }

    /// Check a password against a PHC string, waiting for a hashing permit.
    async fn verify_password(&self, password: String, phc: String) -> Result<bool, AccountError> {
        self.with_hash_permit(move || auth::verify_password(&password, &phc)).await
    }

    /// Hash a new password (argon2id), waiting for a hashing permit like a login does (so an
    /// import cannot crowd out everyone's logins).
    ///
    /// # Errors
    /// `Hashing` if the hasher fails (it does not with its defaults); `Store` if hashing
    /// stopped.
    pub(super) async fn hash_password(&self, password: String) -> Result<String, AccountError> {
        self.with_hash_permit(move || auth::hash_password(&password)).await?.map_err(|_| AccountError::Hashing)
    }

    /// Run `work` on a blocking thread once a permit is free; the permit is held until the
    /// work ends, even if the caller gives up waiting for it.
    async fn with_hash_permit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let stopped = || AccountError::Store(StoreError::Unavailable("password hashing stopped".into()));
        let permit = self.hash_permits.clone().acquire_owned().await.map_err(|_| stopped())?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|_| stopped())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHash;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(auth::NO_PASSWORD_HASH).expect("a valid PHC string, so it is really computed");
        let real = auth::hash_password("any-password").expect("hashes");
        let real = PasswordHash::new(&real).expect("valid");
        assert_eq!((dummy.algorithm, dummy.version), (real.algorithm, real.version));
        assert_eq!(dummy.params, real.params, "same memory, iterations and lanes");
        assert!(!auth::verify_password("any-password", auth::NO_PASSWORD_HASH));
    }

    #[test]
    fn hashing_permits_default_to_half_the_cores_and_at_least_one() {
        assert_eq!(hash_permits(3).available_permits(), 3);
        let auto = hash_permits(0).available_permits();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        assert_eq!(auto, (cores / 2).max(1));
    }
}
