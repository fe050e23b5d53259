//! Load generator for `deploy/bench/run.sh`: posts signed Shopify `orders/create` deliveries,
//! each a new order, from `CONNECTIONS` concurrent connections for `SECONDS`, and prints
//! `deliveries_per_second p99_ms stored errors p50_ms`.
//!
//! Usage: `webhook_load <url> <secret> <seconds> <connections>` (the body is the Shopify order
//! fixture, re-signed for every order id).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const FIXTURE: &str = include_str!("../tests/fixtures/shopify_orders_create.json");
const FIXTURE_ID: &str = "\"id\":450789469";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, secret, seconds, connections] = args.as_slice() else {
        eprintln!("usage: webhook_load <url> <secret> <seconds> <connections>");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().expect("seconds");
    let connections: usize = connections.parse().expect("connections");
    // The fixture, compact, split around its order id so each delivery is a new order.
    let compact = serde_json::to_string(
        &serde_json::from_str::<serde_json::Value>(FIXTURE).expect("fixture JSON"),
    )
    .expect("serialises");
    let at = compact
        .find(FIXTURE_ID)
        .expect("the fixture has its order id");
    let prefix: Arc<str> = compact[..at].into();
    let suffix: Arc<str> = compact[at + FIXTURE_ID.len()..].into();
    let client = reqwest::Client::new();
    let next_id = Arc::new(AtomicU64::new(1));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url, secret) = (client.clone(), url.clone(), secret.clone());
            let (prefix, suffix, next_id) = (prefix.clone(), suffix.clone(), next_id.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0_u64;
                while Instant::now() < deadline {
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let body = format!("{prefix}\"id\":{id}{suffix}");
                    let mut mac =
                        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
                    mac.update(body.as_bytes());
                    let signature = base64::engine::general_purpose::STANDARD
                        .encode(mac.finalize().into_bytes());
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-shopify-topic", "orders/create")
                        .header("x-shopify-event-id", format!("bench-{id}"))
                        .header("x-shopify-hmac-sha256", signature)
                        .body(body)
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status().is_success() => {
                            latencies.push(sent.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("load task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies
            .get(latencies.len() * p / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (p50, p99) = (percentile(50), percentile(99));
    #[allow(clippy::cast_precision_loss, reason = "a rate for printing")]
    let rate = latencies.len() as f64 / elapsed;
    println!("{rate:.0} {p99:.3} {} {errors} {p50:.3}", latencies.len());
}
