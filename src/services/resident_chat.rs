//! Resident chat: messages residents send to the WeChat Official Account, after the webhook
//! has verified and decoded a delivery, and the replay guard on WeChat's signed URLs.
//!
//! A scan binds the resident (openid) to the scene's place and invites a description; a text
//! within `wechat.text_window` files a report there (through [`Reports`], within the
//! openid's allowance); a location message sets or corrects the place. Replies are plain
//! Chinese with the H5 form `/r/{scene}` and, once filed, the tracking link `/t/{token}`.
//!
//! Each delivery is answered once: the first copy claims its dedupe key in the store (shared
//! by all instances), WeChat's retries get the stored answer, and a retry racing the first copy
//! waits for it within `wechat.reply_budget`, else answers `success` (WeChat then stops).

use super::{NewReport, RateScope, Reports};
use crate::auth::sha256_hex;
use crate::dispatch::{DispatchError, Dispatcher};
use crate::domain::category::Category;
use crate::domain::ids::SceneId;
use crate::domain::location::{CoordSystem, GeoPoint};
use crate::store::wechat::{DeliveryClaim, ResidentSession};
use crate::store::{Directory, Leases, Ports, WechatStore};
use crate::wechat::mask;
use crate::wechat::message::{Inbound, Message};
use std::sync::Arc;
use std::time::Duration;

/// WeChat conversations. Cheap to clone.
#[derive(Clone)]
pub struct ResidentChat {
    engine: Dispatcher,
    /// Filing, within the openid's allowance.
    reports: Reports,
    /// Residents' conversations, delivery dedupe, who reported what.
    wechat: Arc<dyn WechatStore>,
    /// The replay guard on signed URLs.
    leases: Arc<dyn Leases>,
    /// Scenes scanned.
    directory: Arc<dyn Directory>,
}

/// How long a claimed delivery stays claimed if its claimer dies mid-way.
const CLAIM_LEASE: Duration = Duration::from_secs(30);
/// How long the reporting openid of an incident is remembered (for its notifications).
const INCIDENT_OPENID_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// Poll period of a retry waiting for the first copy's answer.
const ANSWER_POLL: Duration = Duration::from_millis(50);

/// What to answer WeChat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatReply {
    /// A text to the resident.
    Text(String),
    /// The bare `success` (no message to the resident).
    Success,
}

impl ChatReply {
    fn encode(&self) -> String {
        match self {
            Self::Text(t) => format!("t:{t}"),
            Self::Success => "s".into(),
        }
    }

    fn decode(stored: &str) -> Self {
        stored.strip_prefix("t:").map_or(Self::Success, |t| Self::Text(t.to_owned()))
    }
}

/// Guess a category from the words (residents can correct it later on the H5 page).
#[must_use]
fn infer_category(text: &str) -> Category {
    const RULES: [(Category, &[&str]); 7] = [
        (Category::Wages, &["工资", "欠薪", "工钱", "老板不给钱", "劳务费"]),
        (Category::Family, &["离婚", "家暴", "婆媳", "夫妻", "赡养", "抚养", "彩礼"]),
        (Category::Property, &["物业", "物业费", "停车费", "电梯"]),
        (Category::Traffic, &["车祸", "交通事故", "刮蹭", "追尾", "撞车"]),
        (Category::Land, &["宅基地", "拆迁", "土地", "房屋", "租房", "房东"]),
        (Category::Consumer, &["退款", "商家", "消费", "退货", "饭店"]),
        (Category::Neighbor, &["邻居", "楼上", "楼下", "噪音", "漏水", "装修", "吵", "占道", "垃圾"]),
    ];
    RULES.iter().find(|(_, words)| words.iter().any(|w| text.contains(w))).map_or(Category::Other, |(c, _)| *c)
}

impl ResidentChat {
    /// Over the dispatch engine (settings, the WeChat client) and the WeChat state, leases and
    /// directory of `ports`, filing texts through `reports`.
    #[must_use]
    pub fn new(engine: Dispatcher, ports: &Ports, reports: Reports) -> Self {
        let (wechat, leases, directory) = (ports.wechat.clone(), ports.leases.clone(), ports.directory.clone());
        Self { engine, reports, wechat, leases, directory }
    }

    /// Remember that the signed URL `url_hash` came with body `body_hash` for `ttl`; the body
    /// hash first seen with it, if it was seen before (another body is a replay).
    ///
    /// # Errors
    /// `Store`.
    pub async fn first_body_of(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, DispatchError> {
        Ok(self.leases.remember_signed_url(url_hash, body_hash, ttl).await?)
    }

    /// Answer one verified WeChat delivery, exactly once per WeChat message id (deduplicated
    /// across WeChat's retries).
    ///
    /// # Errors
    /// `Store` (and report failures): nothing is remembered, so WeChat's retry tries again.
    pub async fn answer(&self, message: &Message) -> Result<ChatReply, DispatchError> {
        let started = tokio::time::Instant::now();
        let key = sha256_hex(&format!("wechat:{}", message.dedupe_key()));
        let budget = self.engine.settings().wechat.reply_budget;
        let waited_until = tokio::time::Instant::now() + budget;
        loop {
            match self.wechat.claim_delivery(&key, CLAIM_LEASE).await? {
                DeliveryClaim::Claimed => break,
                DeliveryClaim::Answered(stored) => return Ok(ChatReply::decode(&stored)),
                DeliveryClaim::Pending if tokio::time::Instant::now() >= waited_until => {
                    // The first copy is still working; WeChat stops retrying on `success`.
                    return Ok(ChatReply::Success);
                }
                DeliveryClaim::Pending => tokio::time::sleep(ANSWER_POLL).await,
            }
        }
        match self.converse(message).await {
            Ok(reply) => {
                self.wechat.finish_delivery(&key, &reply.encode(), self.engine.settings().wechat.dedupe_ttl).await?;
                if let ChatReply::Text(text) = &reply
                    && started.elapsed() > self.engine.settings().wechat.passive_reply_deadline
                {
                    self.send_late_reply(&message.envelope.from, text.clone());
                }
                Ok(reply)
            }
            Err(e) => {
                if let Err(release) = self.wechat.release_delivery(&key).await {
                    tracing::warn!(error = %release, "could not release a wechat delivery claim");
                }
                Err(e)
            }
        }
    }

    /// WeChat stopped waiting for this reply (a report's tracking link, say): send it as a
    /// customer-service message instead, in the background, a few times at most.
    fn send_late_reply(&self, openid: &str, text: String) {
        if !self.engine.wechat_client().enabled() {
            tracing::info!(openid = %mask(openid), "a late wechat reply was not resent: wechat not configured");
            return;
        }
        let (engine, openid) = (self.engine.clone(), openid.to_owned());
        tokio::spawn(async move {
            let mut backoff = engine.settings().wechat.notify_backoff;
            for attempt in 1..=engine.settings().wechat.notify_attempts {
                match engine.wechat_client().send_custom_text(&openid, &text).await {
                    Ok(()) => {
                        tracing::info!(openid = %mask(&openid), attempt, "late wechat reply resent");
                        return;
                    }
                    Err(e) if e.is_transient() => {
                        tracing::warn!(openid = %mask(&openid), attempt, error = %e, "late wechat reply failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                    }
                    Err(e) => {
                        tracing::warn!(openid = %mask(&openid), attempt, error = %e, "late wechat reply failed");
                        return;
                    }
                }
            }
        });
    }

    async fn converse(&self, message: &Message) -> Result<ChatReply, DispatchError> {
        let openid = &message.envelope.from;
        let openid_hash = sha256_hex(&format!("openid:{openid}"));
        let w = &self.engine.settings().wechat;
        let base = self.engine.settings().http.public_base_url.trim_end_matches('/').to_owned();
        let now = self.engine.now();
        let session = self.wechat.resident_session(&openid_hash).await?;
        tracing::info!(openid = %mask(openid), kind = ?std::mem::discriminant(&message.inbound), "wechat delivery");
        let reply = match &message.inbound {
            Inbound::Scan { scene: None, .. } => ChatReply::Text(
                "您好，欢迎关注！遇到邻里、家庭、物业等矛盾纠纷，请扫描社区张贴的二维码，\
                 或发送您的位置（点“+”→“位置”），再用文字描述情况，我们会通知附近的人民调解员。"
                    .into(),
            ),
            Inbound::Scan { scene: Some(raw), .. } => {
                let scene = match SceneId::parse(raw) {
                    Ok(id) => self.directory.get_scene(&id).await?,
                    Err(_) => None,
                };
                match scene {
                    None => {
                        ChatReply::Text("抱歉，这个二维码已失效。请扫描社区最新张贴的二维码，或发送您的位置。".into())
                    }
                    Some(scene) => {
                        let bound = ResidentSession {
                            scene: Some(scene.id.clone()),
                            place: Some(scene.location),
                            bound_at: now,
                        };
                        self.wechat.put_resident_session(&openid_hash, &bound, w.session_ttl).await?;
                        ChatReply::Text(format!(
                            "您好！您正在【{}】反映问题。请直接回复文字，说明发生了什么（如时间、涉及人数、起因），\
                             我们会立即通知附近的人民调解员。也可以填写表单：{base}/r/{}",
                            scene.name, scene.id
                        ))
                    }
                }
            }
            Inbound::Location { lat, lng, label, .. } => match GeoPoint::from_system(*lat, *lng, CoordSystem::Gcj02) {
                Err(_) => ChatReply::Text("抱歉，没能识别这个位置，请重新发送。".into()),
                Ok(place) => {
                    let scene = session.and_then(|s| s.scene);
                    let bound = ResidentSession { scene, place: Some(place), bound_at: now };
                    self.wechat.put_resident_session(&openid_hash, &bound, w.session_ttl).await?;
                    let label = label.chars().take(40).collect::<String>();
                    let at = if label.is_empty() { String::new() } else { format!("（{label}）") };
                    ChatReply::Text(format!(
                        "已记录您的位置{at}。请回复文字，说明发生了什么，我们会通知附近的人民调解员。"
                    ))
                }
            },
            Inbound::LocationEvent { lat, lng } => {
                // Background position: only fills a place nobody set; never answered with a message.
                if session.as_ref().is_none_or(|s| s.place.is_none())
                    && let Ok(place) = GeoPoint::from_system(*lat, *lng, w.location_event_coord)
                {
                    let bound = ResidentSession { scene: None, place: Some(place), bound_at: now };
                    self.wechat.put_resident_session(&openid_hash, &bound, w.session_ttl).await?;
                }
                ChatReply::Success
            }
            Inbound::Unsubscribe => {
                let cleared = ResidentSession { scene: None, place: None, bound_at: now };
                self.wechat.put_resident_session(&openid_hash, &cleared, Duration::from_secs(1)).await?;
                ChatReply::Success
            }
            Inbound::Text { content, .. } => {
                let window = jiff::SignedDuration::try_from(w.text_window).unwrap_or(jiff::SignedDuration::MAX);
                let bound = session.filter(|s| s.place.is_some() && now.duration_since(s.bound_at) <= window);
                match bound {
                    None => ChatReply::Text(
                        "请先扫描社区张贴的二维码，或发送您的位置（点“+”→“位置”），再用文字描述情况。".into(),
                    ),
                    Some(_) if content.trim().is_empty() => ChatReply::Text("请用文字描述发生了什么。".into()),
                    Some(bound) => {
                        self.file_from_chat(message, openid, &openid_hash, bound, content.trim(), &base).await?
                    }
                }
            }
            Inbound::Other { kind, .. } if kind.starts_with("event:") => ChatReply::Success,
            Inbound::Other { .. } => {
                ChatReply::Text("目前只能接收文字和位置消息。请扫描社区二维码或发送位置后，用文字描述情况。".into())
            }
        };
        Ok(reply)
    }

    async fn file_from_chat(
        &self,
        message: &Message,
        openid: &str,
        openid_hash: &str,
        bound: ResidentSession,
        content: &str,
        base: &str,
    ) -> Result<ChatReply, DispatchError> {
        let description: String = content.chars().take(self.engine.settings().limits.description_max_chars).collect();
        let new = NewReport {
            scene: bound.scene.clone(),
            location: bound.place,
            category: infer_category(&description),
            description: description.clone(),
            phone: None,
            risk: None,
            address: None,
        };
        // The dedupe claim makes retries safe; the idempotency key covers an expired claim too.
        let idempotency = Some((format!("wechat:{}", message.dedupe_key()), sha256_hex(&description)));
        let receipt = match self.reports.file(RateScope::Openid(openid), new, idempotency).await? {
            Ok(receipt) => receipt,
            Err(limited) => return Ok(ChatReply::Text(limited.message())),
        };
        let incident = &receipt.incident;
        if let Err(e) = self.wechat.set_incident_openid(&incident.id, openid, INCIDENT_OPENID_TTL).await {
            tracing::warn!(incident_id = %incident.id, error = %e, "could not remember the reporter for notifications");
        }
        // One scan, one report: the next text asks for a scan (or location) again.
        let spent = ResidentSession { scene: None, place: None, bound_at: self.engine.now() };
        self.wechat.put_resident_session(openid_hash, &spent, self.engine.settings().wechat.session_ttl).await?;
        tracing::info!(incident_id = %incident.id, openid = %mask(openid), "report filed through wechat");
        let number = crate::dispatch::short(&incident.id);
        Ok(ChatReply::Text(format!(
            "已收到您的反映（编号 {number}，类别：{}），正在通知附近的人民调解员。查看进度：{base}/t/{}",
            incident.category.label_zh(),
            receipt.tracking_token
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_inferred_from_plain_words_or_fall_back_to_other() {
        assert_eq!(infer_category("楼上漏水，邻居不理"), Category::Neighbor);
        assert_eq!(infer_category("老板拖欠工资三个月"), Category::Wages);
        assert_eq!(infer_category("物业乱收费"), Category::Property);
        assert_eq!(infer_category("有人吵架"), Category::Neighbor);
        assert_eq!(infer_category("不知道怎么说"), Category::Other);
    }

    #[test]
    fn stored_replies_round_trip() {
        for r in [ChatReply::Success, ChatReply::Text("好的 t: s".into()), ChatReply::Text(String::new())] {
            assert_eq!(ChatReply::decode(&r.encode()), r);
        }
    }
}
