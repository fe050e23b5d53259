//! One load per key at a time: lookups of a key already being loaded wait for that load and
//! share its outcome, so a rush of first clicks on a new link costs Redis one read, not one
//! per click.
//!
//! The load runs as a task of its own, not inside the lookup that began it: a lookup dropped
//! part-way (its client disconnected) neither cancels the load the others wait for nor leaves
//! them waiting on a future nobody polls. The key leaves the map when the task ends however
//! it ends (done, or dropped by a panic or the runtime's shutdown), so the map holds only
//! loads in flight, each bounded by the Redis deadline.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::runtime::Handle;

/// A load in flight: `None` when its task ended without an outcome (a panic, or shutdown).
type Flight<V> = Shared<BoxFuture<'static, Option<V>>>;

type InFlight<V> = Arc<Mutex<HashMap<Box<str>, Flight<V>>>>;

pub(super) struct SingleFlight<V> {
    in_flight: InFlight<V>,
    /// Where loads run: the main runtime, not the HTTP worker that asked first. A load on a
    /// worker's runtime would end with that worker, and a Redis connection it reopened would
    /// be driven there for good, by a thread that may run below the API's priority (see
    /// [`crate::cpu_priority`]).
    runtime: Handle,
}

impl<V> Clone for SingleFlight<V> {
    fn clone(&self) -> Self {
        Self {
            in_flight: Arc::clone(&self.in_flight),
            runtime: self.runtime.clone(),
        }
    }
}

impl<V> SingleFlight<V> {
    /// Loads run as tasks of `runtime`.
    pub(super) fn new(runtime: Handle) -> Self {
        Self {
            in_flight: Arc::default(),
            runtime,
        }
    }

    /// Loads in flight.
    pub(super) fn len(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<V> std::fmt::Debug for SingleFlight<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleFlight")
            .field("in_flight", &self.len())
            .finish()
    }
}

/// Takes its key out of the map when the load's task ends, however it ends.
struct Landing<V> {
    in_flight: InFlight<V>,
    key: Box<str>,
}

impl<V> Drop for Landing<V> {
    fn drop(&mut self) {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl<V: Clone + Send + Sync + 'static> SingleFlight<V> {
    /// The outcome of the load of `key` in flight, or of `load()`, started now as a task, when
    /// none is. `None` when the load's task ended without an outcome.
    pub(super) async fn run<F>(&self, key: &str, load: impl FnOnce() -> F) -> Option<V>
    where
        F: Future<Output = V> + Send + 'static,
    {
        let flight = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(flight) = in_flight.get(key) {
                flight.clone()
            } else {
                let landing = Landing {
                    in_flight: Arc::clone(&self.in_flight),
                    key: key.into(),
                };
                let load = load();
                // Spawned under the lock: the task's landing cannot remove the key before it
                // is inserted below.
                let task = self.runtime.spawn(async move {
                    let value = load.await;
                    drop(landing);
                    value
                });
                let flight = task.map(Result::ok).boxed().shared();
                in_flight.insert(key.into(), flight.clone());
                flight
            }
        };
        flight.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures_util::future::join_all;
    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_load_runs_on_the_cache_runtime_whichever_thread_asks() {
        let flights = SingleFlight::<Option<String>>::new(Handle::current());
        let asking = flights.clone();

        // An HTTP worker's thread, with a runtime of its own, asks
        let outcome = std::thread::Builder::new()
            .name("asking-worker".into())
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(asking.run("summer", || async {
                        std::thread::current().name().map(str::to_owned)
                    }))
            })
            .unwrap()
            .join()
            .unwrap();

        let ran_on = outcome.flatten().expect("a named thread");
        assert_ne!(ran_on, "asking-worker");
        assert!(ran_on.starts_with("tokio-"), "{ran_on}");
    }

    #[tokio::test]
    async fn concurrent_lookups_of_one_key_share_one_load() {
        let flights = SingleFlight::<u32>::new(Handle::current());
        let loads = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);

        let lookups = (0..100).map(|_| {
            let loads = Arc::clone(&loads);
            let mut released = released.clone();
            flights.run("summer", move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                let _ = released.wait_for(|r| *r).await;
                7
            })
        });
        let (outcomes, ()) = tokio::join!(join_all(lookups), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            release.send(true).unwrap();
        });

        assert!(outcomes.iter().all(|o| *o == Some(7)), "{outcomes:?}");
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_first_lookup_neither_stops_the_load_nor_strands_the_others() {
        let flights = SingleFlight::<u32>::new(Handle::current());
        let loads = Arc::new(AtomicUsize::new(0));
        let (release, released) = oneshot::channel::<()>();
        let counted = Arc::clone(&loads);
        let first = flights.run("summer", move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = released.await;
            7
        });

        // The first lookup starts the load, then is dropped as a disconnected client's is.
        let cancelled = tokio::time::timeout(Duration::from_millis(10), first).await;
        let second = tokio::spawn({
            let flights = flights.clone();
            let loads = Arc::clone(&loads);
            async move {
                flights
                    .run("summer", move || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        0
                    })
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiting = flights.len();
        release.send(()).unwrap();
        let shared = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the waiting lookup is answered")
            .unwrap();

        assert!(cancelled.is_err(), "the first lookup was cut off");
        assert_eq!(waiting, 1);
        assert_eq!(shared, Some(7));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_finished_load_is_not_reused_by_the_next_lookup() {
        let flights = SingleFlight::<usize>::new(Handle::current());
        let loads = Arc::new(AtomicUsize::new(0));
        let load = || {
            let loads = Arc::clone(&loads);
            move || async move { loads.fetch_add(1, Ordering::SeqCst) + 1 }
        };

        let first = flights.run("summer", load()).await;
        let second = flights.run("summer", load()).await;

        assert_eq!((first, second), (Some(1), Some(2)));
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_load_that_dies_answers_none_and_leaves_nothing_in_flight() {
        let flights = SingleFlight::<u32>::new(Handle::current());

        let outcome = flights
            .run("summer", || async { panic!("the load died") })
            .await;

        assert_eq!(outcome, None);
        assert_eq!(flights.len(), 0);
    }
}
