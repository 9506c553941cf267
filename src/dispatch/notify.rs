//! Notifications out through WeChat (issue #3): a mediator with a bound openid gets one per
//! offer (so a phone whose page is closed still hears about it); a resident who reported
//! through WeChat gets one when their report is claimed, when the mediator arrives and when it
//! is resolved; and one with the link when the mediator invites them to a video mediation (a
//! customer-service text: it needs no template, and WeChat accepts it within 48 hours of the
//! resident's last message, which a report through WeChat is); a department account with a
//! bound openid gets one when its department is called in, handed the lead or urged (issue #21,
//! [`Dispatcher::wechat_call_in`]). The case file's deadlines (issue #20) reach the holder
//! the same way, and the 司法确认 reminder the resident too ([`Dispatcher::wechat_case_due`]).
//!
//! Dispatch only enqueues ([`Dispatcher::wechat_notify`], [`Dispatcher::wechat_offers`]): a
//! bounded queue (`wechat.notify_queue`) that never blocks (full → dropped, counted in
//! `gd_wechat_notify_dropped_total`, and logged). The worker ([`Dispatcher::run_notifier`],
//! started and stopped with the app) takes one of [`CONCURRENT_DELIVERIES`] slots *before* it
//! takes the next job, so a WeChat that stops answering holds at most that many deliveries and
//! a full queue, never a growing crowd of parked tasks. Each delivery retries with jittered
//! exponential backoff ([`crate::retry`]) and appends each attempt's outcome to the incident's
//! timeline (`Event::Notified`). With no WeChat credentials configured, deliveries are logged
//! as skipped.

use super::Dispatcher;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Event, Transition};
use crate::domain::timeline;
use crate::store::{Directory, IncidentStore, Ports, WechatStore};
use crate::wechat::client::{WechatClient, WechatError};
use crate::wechat::mask;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Deliveries in flight at once.
pub(super) const CONCURRENT_DELIVERIES: usize = 8;

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Notice {
    /// A mediator has a new offer.
    Offer,
    /// The resident's report was taken.
    Claimed,
    /// The mediator arrived.
    Arrived,
    /// The report was closed.
    Resolved,
    /// The parties are invited to a video mediation (a customer-service text with the link).
    VideoInvitation,
    /// A department was called in.
    CalledIn,
    /// A department was handed the lead.
    HandedOver,
    /// A department was urged (overdue, or 督办).
    Urged,
    /// A case-file deadline fell due (issue #20).
    Case(CaseNotice),
}

/// Which case-file deadline fell due (issue #20), for [`Dispatcher::wechat_case_due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseNotice {
    /// The agreed performance day passed: follow up (回访).
    FollowUp,
    /// Apply for 司法确认 while its window is open.
    Confirmation,
    /// The one-month mediation deadline.
    Deadline,
}

impl Notice {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Claimed => "claimed",
            Self::Arrived => "arrived",
            Self::Resolved => "resolved",
            Self::VideoInvitation => "video_invitation",
            Self::CalledIn => "called_in",
            Self::HandedOver => "handed_over",
            Self::Urged => "urged",
            Self::Case(CaseNotice::FollowUp) => "case_follow_up",
            Self::Case(CaseNotice::Confirmation) => "case_confirmation",
            Self::Case(CaseNotice::Deadline) => "case_deadline",
        }
    }
}

/// What a department account is told by WeChat (issue #21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallInNotice {
    /// Its department was called in to assist.
    CalledIn,
    /// Its department was asked to take the lead over.
    HandedOver,
    /// An overdue mark, or supervision (督办).
    Urged,
}

/// Who gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recipient {
    /// A staff account (a mediator, a department's account) with its own openid.
    Account(AccountId),
    Resident,
}

#[derive(Debug, Clone)]
struct Job {
    incident_id: IncidentId,
    notice: Notice,
    recipient: Recipient,
    /// A customer-service text to send instead of a template message.
    text: Option<String>,
    /// The `client_msg_id` when the incident and notice do not tell it apart from another
    /// notice to the same person (a call-in and its step): WeChat drops a repeated one.
    occasion: Option<String>,
    /// The day a case-file notice concerns (`YYYY-MM-DD`).
    date: Option<String>,
}

struct Context {
    directory: Arc<dyn Directory>,
    wechat: Arc<dyn WechatStore>,
    incidents: Arc<dyn IncidentStore>,
    client: WechatClient,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    slots: Arc<Semaphore>,
}

/// The notification queue; its worker is [`Dispatcher::run_notifier`].
pub(super) struct Notifier {
    context: Arc<Context>,
    queue: mpsc::Sender<Job>,
    /// Taken by the one worker when the app starts it.
    jobs: Mutex<Option<mpsc::Receiver<Job>>>,
}

impl Notifier {
    /// A notifier delivering through `store`'s cached token with `settings.wechat`, stamping
    /// its messages and timeline entries with `clock`.
    pub(super) fn new(ports: &Ports, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        let client = WechatClient::new(settings.wechat.clone(), ports.wechat.clone());
        let slots = Arc::new(Semaphore::new(CONCURRENT_DELIVERIES));
        let (queue, jobs) = mpsc::channel(settings.wechat.notify_queue);
        let context = Arc::new(Context {
            directory: ports.directory.clone(),
            wechat: ports.wechat.clone(),
            incidents: ports.incidents.clone(),
            client,
            settings,
            clock,
            slots,
        });
        Self { context, queue, jobs: Mutex::new(Some(jobs)) }
    }

    /// The WeChat API client.
    pub(super) fn client(&self) -> &WechatClient {
        &self.context.client
    }

    fn enqueue(&self, job: Job) {
        let sent = self.queue.try_send(job);
        self.gauge_queue();
        if let Err(e) = sent {
            metrics::counter!("gd_wechat_notify_dropped_total").increment(1);
            let job = match e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
            };
            tracing::warn!(incident_id = %job.incident_id, notice = job.notice.as_str(), "notification queue full; dropped");
        }
    }

    fn gauge_queue(&self) {
        let queued = self.queue.max_capacity() - self.queue.capacity();
        metrics::gauge!("gd_wechat_notify_queued").set(queued as f64);
    }
}

/// Deliver queued notifications until `stop`: a slot first, then a job, then its delivery as a
/// task holding that slot. Deliveries still running at `stop` are cancelled.
async fn run(notifier: &Notifier, mut jobs: mpsc::Receiver<Job>, stop: CancellationToken) {
    let context = &notifier.context;
    let mut deliveries = JoinSet::new();
    loop {
        let slot = tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => continue,
            slot = context.slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let job = tokio::select! {
            () = stop.cancelled() => break,
            job = jobs.recv() => match job {
                Some(job) => job,
                None => break,
            },
        };
        notifier.gauge_queue();
        let context = context.clone();
        deliveries.spawn(async move {
            metrics::gauge!("gd_wechat_notify_in_flight").increment(1.0);
            deliver(&context, job).await;
            metrics::gauge!("gd_wechat_notify_in_flight").decrement(1.0);
            drop(slot);
        });
    }
    deliveries.shutdown().await;
}

async fn openid_of(context: &Context, job: &Job) -> Option<String> {
    let found = match &job.recipient {
        Recipient::Account(id) => context.directory.get_account(id).await.map(|a| a.and_then(|a| a.wechat_openid)),
        Recipient::Resident => context.wechat.incident_openid(&job.incident_id).await,
    };
    match found {
        Ok(openid) => openid.filter(|o| !o.is_empty()),
        Err(e) => {
            tracing::warn!(incident_id = %job.incident_id, error = %e, "could not look up a notification recipient");
            None
        }
    }
}

async fn record(context: &Context, job: &Job, to: &str, outcome: String) {
    let api = if job.text.is_some() { "custom" } else { context.settings.wechat.message_api.as_str() };
    let event = Event::Notified {
        channel: format!("wechat_{api}"),
        notice: job.notice.as_str().to_owned(),
        to: mask(to),
        outcome,
    };
    let entry = timeline::system(context.clock.now(), event);
    if let Err(e) = context.incidents.append_timeline(&job.incident_id, &[entry]).await {
        tracing::warn!(incident_id = %job.incident_id, error = %e, "could not record a delivery");
    }
}

async fn deliver(context: &Context, job: Job) {
    let Some(openid) = openid_of(context, &job).await else { return };
    let w = &context.settings.wechat;
    let template = match job.notice {
        Notice::Offer => &w.template_offer,
        Notice::Claimed => &w.template_claimed,
        Notice::Arrived => &w.template_arrived,
        Notice::Resolved => &w.template_resolved,
        Notice::VideoInvitation => "",
        Notice::CalledIn | Notice::HandedOver | Notice::Urged => &w.template_call_in,
        Notice::Case(_) => &w.template_case_due,
    };
    if !context.client.enabled() || (template.is_empty() && job.text.is_none()) {
        let why = if context.client.enabled() { "skipped: no template id" } else { "skipped: wechat not configured" };
        tracing::info!(incident_id = %job.incident_id, notice = job.notice.as_str(), to = %mask(&openid), "{why}");
        record(context, &job, &openid, why.to_owned()).await;
        return;
    }
    let base = context.settings.http.public_base_url.trim_end_matches('/');
    let case_page = format!("{base}/m/case/{}", job.incident_id);
    let date = job.date.as_deref().unwrap_or("");
    let (what, link) = match (job.notice, &job.recipient) {
        (Notice::Offer, _) => ("附近有新的矛盾纠纷，请尽快接单".to_owned(), format!("{base}/m")),
        (Notice::Claimed, _) => ("调解员已接单，正在赶来".to_owned(), format!("{base}/")),
        (Notice::Arrived, _) => ("调解员已到场".to_owned(), format!("{base}/")),
        (Notice::Resolved, _) => ("您反映的问题已办结，欢迎评价".to_owned(), format!("{base}/")),
        (Notice::Case(CaseNotice::FollowUp), _) => ("协议履行期已到，请回访".to_owned(), case_page),
        (Notice::Case(CaseNotice::Confirmation), Recipient::Resident) => {
            (format!("请于{date}前申请司法确认"), format!("{base}/"))
        }
        (Notice::Case(CaseNotice::Confirmation), _) => (format!("{date}前可申请司法确认"), case_page),
        (Notice::Case(CaseNotice::Deadline), _) => ("调解期限已到，请结案或延期".to_owned(), case_page),
        (Notice::VideoInvitation, _) => (String::new(), String::new()),
        (Notice::CalledIn, _) => ("指挥中心吹哨，请按时报到".to_owned(), format!("{base}/d")),
        (Notice::HandedOver, _) => ("指挥中心移交案件，请确认接手".to_owned(), format!("{base}/d")),
        (Notice::Urged, _) => ("联调事项已超时或被督办，请尽快处理".to_owned(), format!("{base}/d")),
    };
    let now = context.clock.now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    let data = json!({
        "thing1": { "value": what },
        "thing2": { "value": format!("编号{}", short(&job.incident_id)) },
        "time3": { "value": now.strftime("%Y-%m-%d %H:%M").to_string() },
    });
    let client_msg_id = match &job.occasion {
        Some(occasion) => occasion.clone(),
        None => format!("{}:{}:{}", job.incident_id, job.notice.as_str(), mask(&openid)),
    };
    let mut backoff = crate::retry::Backoff::new(w.notify_backoff, w.notify_backoff.saturating_mul(16));
    for attempt in 1..=w.notify_attempts {
        let sent = if let Some(text) = &job.text {
            context.client.send_custom_text(&openid, text).await
        } else if w.message_api == "subscribe" {
            context.client.send_subscribe(&openid, template, &link, &data).await
        } else {
            context.client.send_template(&openid, template, &link, &data, &client_msg_id).await
        };
        let last = attempt == w.notify_attempts;
        match sent {
            Ok(()) => {
                metrics::counter!("gd_wechat_notify_total", "outcome" => "sent").increment(1);
                tracing::info!(incident_id = %job.incident_id, notice = job.notice.as_str(), to = %mask(&openid), attempt, "notification sent");
                record(context, &job, &openid, format!("sent (attempt {attempt})")).await;
                return;
            }
            Err(e) => {
                let retry = e.is_transient() && !last;
                let code = match &e {
                    WechatError::Api { code, .. } => code.to_string(),
                    other => other.to_string(),
                };
                tracing::warn!(incident_id = %job.incident_id, notice = job.notice.as_str(), to = %mask(&openid), attempt, error = %e, retry, "notification failed");
                let outcome = if retry {
                    format!("failed (attempt {attempt}): {code}; retrying")
                } else {
                    format!("failed (attempt {attempt}): {code}")
                };
                record(context, &job, &openid, outcome).await;
                if !retry {
                    metrics::counter!("gd_wechat_notify_total", "outcome" => "failed").increment(1);
                    return;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// The number residents are told: the id's last six characters.
pub(crate) fn short(id: &IncidentId) -> String {
    let s = id.to_string();
    s[s.len().saturating_sub(6)..].to_owned()
}

impl Dispatcher {
    /// The notification worker: delivers what [`Self::wechat_notify`] queued until `stop`
    /// (the app runs exactly one; a second call returns at once).
    pub async fn run_notifier(&self, stop: CancellationToken) {
        let notifier = &self.inner.wechat;
        let jobs = notifier.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match jobs {
            Some(jobs) => run(notifier, jobs, stop).await,
            None => tracing::warn!("the notification worker is already running"),
        }
    }

    /// Enqueue the WeChat notifications a stored transition calls for (never waits).
    pub(super) fn wechat_notify(&self, transition: &Transition) {
        let id = &transition.incident.id;
        for event in &transition.events {
            let (notice, recipient) = match event {
                Event::Offered { mediator_ids } => {
                    self.wechat_offers(id, mediator_ids);
                    continue;
                }
                Event::Claimed { .. } | Event::Assigned { .. } => (Notice::Claimed, Recipient::Resident),
                Event::Arrived => (Notice::Arrived, Recipient::Resident),
                Event::Resolved { .. } => (Notice::Resolved, Recipient::Resident),
                _ => continue,
            };
            self.inner.wechat.enqueue(Job {
                incident_id: id.clone(),
                notice,
                recipient,
                text: None,
                occasion: None,
                date: None,
            });
        }
    }

    /// Enqueue the WeChat notices of a case-file deadline that fell due (never waits): to the
    /// holding mediator, and the 司法确认 reminder also to the resident (each is sent only
    /// when that person has an openid: a bound account, a report through WeChat).
    pub fn wechat_case_due(
        &self,
        id: &IncidentId,
        notice: CaseNotice,
        holder: Option<&AccountId>,
        date: Option<String>,
    ) {
        let mut recipients: Vec<Recipient> = holder.cloned().map(Recipient::Account).into_iter().collect();
        if notice == CaseNotice::Confirmation {
            recipients.push(Recipient::Resident);
        }
        for recipient in recipients {
            let job = Job {
                incident_id: id.clone(),
                notice: Notice::Case(notice),
                recipient,
                text: None,
                occasion: None,
                date: date.clone(),
            };
            self.inner.wechat.enqueue(job);
        }
    }

    /// Enqueue one offer notification per mediator (never waits).
    pub(super) fn wechat_offers(&self, id: &IncidentId, mediator_ids: &[AccountId]) {
        for m in mediator_ids {
            let recipient = Recipient::Account(m.clone());
            let job = Job {
                incident_id: id.clone(),
                notice: Notice::Offer,
                recipient,
                text: None,
                occasion: None,
                date: None,
            };
            self.inner.wechat.enqueue(job);
        }
    }

    /// Enqueue a department's notice about `incident` to each of `accounts` that has a bound
    /// openid (never waits; an account without one is skipped without a trace). `occasion`
    /// names the call-in and its step (WeChat drops a message id it has seen).
    pub fn wechat_call_in(&self, incident: &IncidentId, accounts: &[AccountId], what: CallInNotice, occasion: &str) {
        let notice = match what {
            CallInNotice::CalledIn => Notice::CalledIn,
            CallInNotice::HandedOver => Notice::HandedOver,
            CallInNotice::Urged => Notice::Urged,
        };
        for a in accounts {
            let recipient = Recipient::Account(a.clone());
            let occasion = Some(occasion.to_owned());
            let job = Job { incident_id: incident.clone(), notice, recipient, text: None, occasion, date: None };
            self.inner.wechat.enqueue(job);
        }
    }

    /// Enqueue the video invitation `link` (absolute, one use, `valid_minutes`) for the resident
    /// who reported `id` through WeChat, as a customer-service text (never waits; a report not
    /// made through WeChat has nobody to send it to, and the delivery finds that out).
    pub fn wechat_video_invitation(&self, id: &IncidentId, link: &str, valid_minutes: u64) {
        let text = format!(
            "调解员邀请您参加视频调解（编号{}），不用下载软件，点这里进入：\n{link}\n\
             链接只能用一次，{valid_minutes}分钟内有效。本次视频不录音、不录像。",
            short(id)
        );
        let job = Job {
            incident_id: id.clone(),
            notice: Notice::VideoInvitation,
            recipient: Recipient::Resident,
            text: Some(text),
            occasion: None,
            date: None,
        };
        self.inner.wechat.enqueue(job);
    }

    /// The WeChat API client (QR codes, notifications).
    #[must_use]
    pub fn wechat_client(&self) -> &WechatClient {
        self.inner.wechat.client()
    }
}
