//! reftrack: an affiliate tracking server for influencer campaigns.
//!
//! It issues per-influencer referral links, redirects followers to the shop while stamping a
//! click id (`rtclid`) on the destination, counts clicks in Redis (human, unique and bot
//! traffic apart), and reports the figures per influencer.
//!
//! # Layout
//!
//! - [`cli`]: the `reftrack` command line; [`startup`] builds the [`startup::Application`]
//!   that `serve` and the tests run, with shutdown passed in as a future; `head_deadline`
//!   times every request's headers on its sockets.
//! - [`config`]: layered settings (compiled-in `config/default.toml`, a file, `REFTRACK_*`
//!   environment variables).
//! - [`domain`]: values parsed once at the edge: link codes, destinations, handles, ids,
//!   money and its bounds, commissions, date ranges, orders and the rules of attribution.
//! - [`routes`]: HTTP handlers: the redirect hot path (look up, track, answer), the admin API
//!   under `/api/v1`, the webhooks, the `/` page, health probes and `/metrics` (on its own
//!   listener with `http.metrics_bind`; the API, webhooks and dashboard on theirs, with
//!   worker threads of their own, with `http.api_bind`); a body deadline on every
//!   request, and request spans with ids on `/api` and `/webhooks`. [`error`] maps failures
//!   to JSON error bodies.
//! - [`orders`]: order intake: the table of webhook formats, signatures, one parser per
//!   platform, and [`orders::OrderIntake`], which attributes and stores each delivery once.
//! - [`link_cache`]: links kept in process, refreshed from a Redis stream of changes.
//! - [`clicks`]: the [`clicks::Tracker`] a redirect hands its click to: bot classification,
//!   client address, visitor hashing, fraud rules, the batching writer that
//!   group-commits clicks to Redis, and the task that merges settled days' unique-visitor
//!   sketches into their months'.
//! - [`pagination`]: the lists' `limit` and `cursor`, shared by every list that pages.
//! - [`private_files`]: the data and spool directories and files, created owner only.
//! - [`reports`]: the reports without HTTP: scope, figures, rows, totals and their order.
//! - [`store`]: all Redis code; [`store::keys`] documents every key.
//! - [`metrics`]: the Prometheus registry; [`telemetry`]: logging; [`cpu_priority`]: the
//!   redirect workers and the click flusher yield a busy core to the API.
//! - [`embedded_redis`]: the private `redis-server` started when no Redis is configured, one
//!   reftrack per data directory (a lock file), an orphan of a killed reftrack stopped.

pub mod cli;
pub mod clicks;
pub mod config;
pub mod cpu_priority;
pub mod domain;
pub mod embedded_redis;
pub mod error;
mod head_deadline;
pub mod link_cache;
pub mod metrics;
pub mod orders;
pub mod pagination;
pub mod private_files;
pub mod reports;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
