//! The metrics recorder's upkeep runs with the app (issue #16, point 12): a histogram keeps
//! every raw sample until something drains it, so without upkeep a server that is scraped
//! rarely (or never) grows by every request it serves. Measured with a counting allocator, in
//! its own test binary so no other test's allocations blur the figure.

use grid_dispatch::app::App;
use grid_dispatch::config::Settings;
use secrecy::SecretString;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

/// Bytes allocated and not yet freed, process-wide.
static LIVE: AtomicIsize = AtomicIsize::new(0);

fn bytes(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(bytes(layout.size()), Ordering::Relaxed);
        // SAFETY: same layout, as the caller promised.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(bytes(layout.size()), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(bytes(new_size) - bytes(layout.size()), Ordering::Relaxed);
        // SAFETY: as for `GlobalAlloc::realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 200,000 request durations recorded between two scrapes take about 1.6 MB as raw samples;
/// with the app running, the upkeep drains them into the bounded summary within a few of its
/// periods (`metrics.upkeep_interval`, 5 s), while requests keep coming, and no scrape happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_samples_do_not_pile_up_between_scrapes() {
    let mut settings = Settings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.auth.jwt_secret = Some(SecretString::from("upkeep-test-secret-upkeep-test-secret"));
    let app = App::start(settings).await.expect("the app starts");
    let requests = metrics::histogram!("gd_http_request_seconds", "route" => "/upkeep-test");
    requests.record(0.001);
    let baseline = LIVE.load(Ordering::Relaxed);
    for _ in 0..200_000 {
        requests.record(0.001);
    }
    let grown = LIVE.load(Ordering::Relaxed) - baseline;
    assert!(grown > 1_000_000, "the raw samples are held until drained ({grown} B)");

    // Requests keep coming (a trickle), nobody scrapes: memory must come back down.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let over = LIVE.load(Ordering::Relaxed) - baseline;
        if over < 400_000 {
            break;
        }
        assert!(Instant::now() < deadline, "still {over} B above the baseline 20 s later: samples pile up");
        for _ in 0..50 {
            requests.record(0.002);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.stop().await;
}
