//! The [`WechatStore`](crate::store::WechatStore) part of the suite.

use super::{eventually_true, t};
use crate::domain::ids::{IncidentId, SceneId};
use crate::domain::location::GeoPoint;
use crate::store::WechatStore;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

checks!(
    wechat:
    resident_sessions_round_trip_and_expire,
    a_delivery_is_claimed_once_and_answered_the_same,
    the_wechat_token_is_cached_locked_and_dropped_only_if_stale,
    wechat_qr_codes_and_incident_openids_round_trip,
);

async fn resident_sessions_round_trip_and_expire(store: Arc<dyn WechatStore>) {
    use crate::store::wechat::ResidentSession;
    let session = ResidentSession {
        scene: Some(SceneId::generate()),
        place: Some(GeoPoint::new(36.6171, 101.7782).expect("valid")),
        bound_at: t(5),
    };
    assert_eq!(store.resident_session("aa").await.unwrap(), None);
    store.put_resident_session("aa", &session, Duration::from_secs(60)).await.unwrap();
    assert_eq!(store.resident_session("aa").await.unwrap(), Some(session.clone()));
    assert_eq!(store.resident_session("bb").await.unwrap(), None, "sessions are per openid");
    let moved = ResidentSession { scene: None, ..session.clone() };
    store.put_resident_session("aa", &moved, Duration::from_millis(100)).await.unwrap();
    assert_eq!(store.resident_session("aa").await.unwrap(), Some(moved), "a put replaces");
    eventually_true("the session to expire", || {
        let store = store.clone();
        async move { store.resident_session("aa").await.unwrap().is_none() }
    })
    .await;
}

async fn a_delivery_is_claimed_once_and_answered_the_same(store: Arc<dyn WechatStore>) {
    use crate::store::wechat::DeliveryClaim;
    let claims = futures_util::future::join_all((0..8).map(|_| {
        let store = store.clone();
        async move { store.claim_delivery("d1", Duration::from_secs(30)).await.unwrap() }
    }))
    .await;
    assert_eq!(claims.iter().filter(|c| **c == DeliveryClaim::Claimed).count(), 1, "{claims:?}");
    assert!(claims.iter().all(|c| matches!(c, DeliveryClaim::Claimed | DeliveryClaim::Pending)), "{claims:?}");
    store.finish_delivery("d1", "t:好的", Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        store.claim_delivery("d1", Duration::from_secs(30)).await.unwrap(),
        DeliveryClaim::Answered("t:好的".into())
    );
    store.release_delivery("d1").await.unwrap();
    assert_eq!(
        store.claim_delivery("d1", Duration::from_secs(30)).await.unwrap(),
        DeliveryClaim::Answered("t:好的".into()),
        "an answer is never released"
    );
    // A released claim can be claimed again; a lapsed lease too.
    assert_eq!(store.claim_delivery("d2", Duration::from_secs(30)).await.unwrap(), DeliveryClaim::Claimed);
    store.release_delivery("d2").await.unwrap();
    assert_eq!(store.claim_delivery("d2", Duration::from_millis(100)).await.unwrap(), DeliveryClaim::Claimed);
    eventually_true("the lease to lapse", || {
        let store = store.clone();
        async move { store.claim_delivery("d2", Duration::from_secs(30)).await.unwrap() == DeliveryClaim::Claimed }
    })
    .await;
}

async fn the_wechat_token_is_cached_locked_and_dropped_only_if_stale(store: Arc<dyn WechatStore>) {
    use crate::store::wechat::CachedToken;
    assert_eq!(store.wechat_token().await.unwrap(), None);
    let token = CachedToken {
        token: "tok-1".into(),
        expires_at: Timestamp::now().checked_add(jiff::SignedDuration::from_secs(7200)).expect("valid"),
    };
    store.put_wechat_token(&token).await.unwrap();
    let back = store.wechat_token().await.unwrap().expect("cached");
    assert_eq!(back.token, "tok-1");
    assert!((back.expires_at.as_millisecond() - token.expires_at.as_millisecond()).abs() < 1000);
    store.drop_wechat_token("someone-elses").await.unwrap();
    assert!(store.wechat_token().await.unwrap().is_some(), "a newer token is not dropped");
    store.drop_wechat_token("tok-1").await.unwrap();
    assert_eq!(store.wechat_token().await.unwrap(), None);
    let expired = CachedToken { token: "old".into(), expires_at: Timestamp::now() };
    store.put_wechat_token(&expired).await.unwrap();
    assert_eq!(store.wechat_token().await.unwrap(), None, "an expired token is never served");

    assert!(store.lock_wechat_token_refresh("a", Duration::from_secs(30)).await.unwrap());
    assert!(!store.lock_wechat_token_refresh("b", Duration::from_secs(30)).await.unwrap());
    store.unlock_wechat_token_refresh("b").await.unwrap();
    assert!(!store.lock_wechat_token_refresh("b", Duration::from_secs(30)).await.unwrap(), "only the holder unlocks");
    store.unlock_wechat_token_refresh("a").await.unwrap();
    assert!(store.lock_wechat_token_refresh("b", Duration::from_millis(100)).await.unwrap());
    eventually_true("the lock lease to lapse", || {
        let store = store.clone();
        async move { store.lock_wechat_token_refresh("c", Duration::from_secs(30)).await.unwrap() }
    })
    .await;
}

async fn wechat_qr_codes_and_incident_openids_round_trip(store: Arc<dyn WechatStore>) {
    let scene = SceneId::generate();
    assert_eq!(store.wechat_qr(&scene).await.unwrap(), None);
    store.put_wechat_qr(&scene, "http://weixin.qq.com/q/abc").await.unwrap();
    assert_eq!(store.wechat_qr(&scene).await.unwrap().as_deref(), Some("http://weixin.qq.com/q/abc"));
    assert_eq!(store.wechat_qr(&SceneId::generate()).await.unwrap(), None);
    let id = IncidentId::generate();
    assert_eq!(store.incident_openid(&id).await.unwrap(), None);
    store.set_incident_openid(&id, "oUser1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(store.incident_openid(&id).await.unwrap().as_deref(), Some("oUser1"));
}
