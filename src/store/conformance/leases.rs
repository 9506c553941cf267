//! The [`Leases`](crate::store::Leases) part of the suite.

use super::eventually_true;
use crate::store::Leases;
use std::sync::Arc;
use std::time::Duration;

checks!(
    leases:
    a_signed_url_remembers_its_first_body,
    rate_windows_count_refund_reset_and_clear,
);

async fn a_signed_url_remembers_its_first_body(store: Arc<dyn Leases>) {
    let ttl = Duration::from_secs(60);
    assert_eq!(store.remember_signed_url("u1", "b1", ttl).await.unwrap(), None);
    assert_eq!(store.remember_signed_url("u1", "b1", ttl).await.unwrap(), Some("b1".into()));
    assert_eq!(store.remember_signed_url("u1", "b2", ttl).await.unwrap(), Some("b1".into()), "the first body stays");
    assert_eq!(store.remember_signed_url("u2", "b2", ttl).await.unwrap(), None);
}

async fn rate_windows_count_refund_reset_and_clear(store: Arc<dyn Leases>) {
    let window = Duration::from_secs(60);
    for expected in 1..=3 {
        let hit = store.hit_rate_window("r1", window).await.unwrap();
        assert_eq!(hit.count, expected);
        assert!(hit.resets_in <= window && hit.resets_in > Duration::from_secs(50), "{hit:?}");
    }
    assert_eq!(store.hit_rate_window("r2", window).await.unwrap().count, 1, "windows are per key");
    store.refund_rate_window("r1").await.unwrap();
    assert_eq!(store.hit_rate_window("r1", window).await.unwrap().count, 3, "a refund takes back one hit");
    store.refund_rate_window("never-hit").await.unwrap();
    assert_eq!(store.hit_rate_window("never-hit", window).await.unwrap().count, 1, "nothing to take back");
    store.clear_rate_window("r1").await.unwrap();
    store.clear_rate_window("never-hit").await.unwrap();
    assert_eq!(store.hit_rate_window("r1", window).await.unwrap().count, 1, "a cleared window starts again");
    assert_eq!(store.hit_rate_window("r2", window).await.unwrap().count, 2, "clearing one leaves the others");
    assert_eq!(store.hit_rate_window("r3", Duration::from_millis(100)).await.unwrap().count, 1);
    eventually_true("the window to reset", || {
        let store = store.clone();
        async move { store.hit_rate_window("r3", Duration::from_secs(60)).await.unwrap().count == 1 }
    })
    .await;
}
