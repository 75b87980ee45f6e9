//! One in-flight task per key; every caller for that key awaits the same result. The task
//! runs to completion even if all callers go away.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

type Flight<T, E> = Shared<BoxFuture<'static, Result<T, Arc<E>>>>;

pub struct SingleFlight<T: Clone, E> {
    map: Arc<Mutex<HashMap<String, Flight<T, E>>>>,
}

impl<T: Clone, E> Default for SingleFlight<T, E> {
    fn default() -> Self {
        Self {
            map: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<T, E> SingleFlight<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// Join the flight for `key`, or start one with `make`.
    pub async fn run<F>(
        &self,
        key: &str,
        make: impl FnOnce() -> F,
        internal: impl Fn(String) -> E + Send + 'static,
    ) -> Result<T, Arc<E>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let flight = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            match map.get(key) {
                Some(f) => f.clone(),
                None => {
                    let fut = make();
                    let map2 = self.map.clone();
                    let k = key.to_string();
                    let handle = tokio::spawn(async move {
                        let r = fut.await;
                        map2.lock().unwrap_or_else(|p| p.into_inner()).remove(&k);
                        r
                    });
                    let err = internal;
                    let shared = async move {
                        match handle.await {
                            Ok(r) => r.map_err(Arc::new),
                            Err(e) => Err(Arc::new(err(format!("fetch task failed: {e}")))),
                        }
                    }
                    .boxed()
                    .shared();
                    map.insert(key.to_string(), shared.clone());
                    shared
                }
            }
        };
        flight.await
    }
}

#[cfg(test)]
#[path = "../tests/proxy_singleflight.rs"]
mod tests;
