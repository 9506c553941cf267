//! Reports: residents filing (per-sender allowances, the `Idempotency-Key`), and texting a
//! tracking link to a resident's phone.

use crate::dispatch::rate::{RateLimited, RateScope};
use crate::dispatch::{DispatchError, Dispatcher, NewReport, ReportReceipt};
use crate::domain::account::Phone;

/// Filing reports. Cheap to clone.
#[derive(Clone)]
pub struct Reports {
    engine: Dispatcher,
}

impl Reports {
    /// Over the dispatch engine.
    #[must_use]
    pub fn new(engine: Dispatcher) -> Self {
        Self { engine }
    }

    /// File a report from `sender`, within its allowance: the receipt, or when to retry.
    /// `idempotency` is (key, hash of the request); a replay answers the first receipt.
    ///
    /// # Errors
    /// `Invalid`, `IdempotencyMismatch`, `Store`.
    pub async fn file(
        &self,
        sender: RateScope<'_>,
        new: NewReport,
        idempotency: Option<(String, String)>,
    ) -> Result<Result<ReportReceipt, RateLimited>, DispatchError> {
        self.engine.report_as(sender, new, idempotency).await
    }

    /// Text the tracking link of `token` to `phone`, within the allowance.
    ///
    /// # Errors
    /// `NotFound`, `SmsUnavailable`, `Sms`, `Store`.
    pub async fn text_tracking_link(
        &self,
        token: &str,
        phone: &Phone,
    ) -> Result<Result<(), RateLimited>, DispatchError> {
        self.engine.text_tracking_link(token, phone).await
    }
}
