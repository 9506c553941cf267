//! Outbound signed webhooks of joint handling: the events a call-in's steps make (stored with
//! the step's write, their delivery a deadline in the shared timer set) and one attempt to
//! deliver one, signed, with backoff and the delivery log.

use super::domain::{CallIn, Step};
use super::store::{DeliveryLine, WebhookEvent};
use super::{DepartmentError, Departments, view};

impl Departments {
    /// One outbound event per step worth telling the district's platform (not reminders),
    /// when webhooks are on.
    pub(super) fn webhook_events(&self, call_in: &CallIn, steps: &[Step], now: jiff::Timestamp) -> Vec<WebhookEvent> {
        if !self.d().settings().departments.webhook.enabled() {
            return vec![];
        }
        steps
            .iter()
            .filter(|s| !matches!(s, Step::RemindedAck | Step::RemindedRespond))
            .map(|step| {
                let id = uuid::Uuid::now_v7().to_string();
                let kind = format!("call_in.{}", step.as_str());
                let body = crate::push::wire::to_json(&serde_json::json!({
                    "id": id,
                    "type": kind,
                    "at": now,
                    "call_in": view::CallInView::of(call_in),
                }));
                WebhookEvent { id, incident_id: call_in.incident_id.clone(), kind, body, attempts: 0 }
            })
            .collect()
    }

    /// Attempt one webhook delivery: true when it is done with (delivered or given up),
    /// false when it waits for another attempt (its deadline moved on by the backoff).
    pub(super) async fn deliver(&self, id: &str) -> Result<bool, DepartmentError> {
        let Some(mut event) = self.store().get_webhook(id).await? else { return Ok(false) };
        let settings = &self.d().settings().departments.webhook;
        event.attempts += 1;
        let now = self.d().now();
        let line = |outcome: String| DeliveryLine {
            event_id: event.id.clone(),
            kind: event.kind.clone(),
            attempt: event.attempts,
            outcome,
            at: now,
        };
        let Some(secret) = settings.secret.as_ref().filter(|_| settings.enabled()) else {
            self.store().finish_webhook(id, &line("gave up: webhooks are off".into())).await?;
            return Ok(true);
        };
        let timestamp = now.as_second().to_string();
        let signature = sign(secret, &timestamp, &event.body);
        let sent = self
            .inner
            .http
            .post(settings.url.trim())
            .header("content-type", "application/json")
            .header("x-gd-event-id", &event.id)
            .header("x-gd-timestamp", &timestamp)
            .header("x-gd-signature", format!("sha256={signature}"))
            .body(event.body.clone())
            .send()
            .await;
        let failure = match sent {
            Ok(r) if r.status().is_success() => {
                self.store().finish_webhook(id, &line(format!("delivered {}", r.status().as_u16()))).await?;
                tracing::info!(event_id = %event.id, attempt = event.attempts, "webhook delivered");
                return Ok(true);
            }
            Ok(r) => format!("{}", r.status().as_u16()),
            // The error's kind only: a URL can carry credentials.
            Err(e) if e.is_timeout() => "timeout".to_owned(),
            Err(e) if e.is_connect() => "connection refused".to_owned(),
            Err(_) => "request failed".to_owned(),
        };
        if event.attempts >= settings.max_attempts {
            tracing::warn!(event_id = %event.id, attempts = event.attempts, "webhook given up");
            self.store().finish_webhook(id, &line(format!("gave up: {failure}"))).await?;
            return Ok(true);
        }
        let mut backoff = crate::retry::Backoff::new(settings.retry_first, settings.retry_max);
        let delay = (1..event.attempts).fold(backoff.next_delay(), |_, _| backoff.next_delay());
        let due = now
            .saturating_add(jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::MAX))
            .unwrap_or(now);
        tracing::info!(event_id = %event.id, attempt = event.attempts, failure = %failure, "webhook failed; retrying");
        self.store().retry_webhook(&event, due, &line(format!("failed {failure}; retry"))).await?;
        Ok(false)
    }
}

/// `X-GD-Signature`'s hex: HMAC-SHA256 over `"<timestamp>.<body>"`, keyed by the secret.
#[must_use]
pub fn sign(secret: &secrecy::SecretString, timestamp: &str, body: &str) -> String {
    use hmac::Mac;
    use secrecy::ExposeSecret;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
