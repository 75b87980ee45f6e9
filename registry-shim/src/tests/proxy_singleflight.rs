//! Unit tests of `proxy::singleflight`.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_for_concurrent_callers() {
    let sf: Arc<SingleFlight<u32, String>> = Arc::new(SingleFlight::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (sf, runs) = (sf.clone(), runs.clone());
        tasks.push(tokio::spawn(async move {
            sf.run(
                "k",
                || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    Ok::<u32, String>(7)
                },
                |e| e,
            )
            .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 7);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
