//! Prometheus metrics. Every label comes from a small fixed set: never an influencer, a link
//! code or an order, which would grow without bound. The registry also carries the standard
//! `process_*` metrics (on Linux).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::domain::Platform;

mod labels;

pub use labels::{
    ApiMethod, AttributionLabel, CorruptKind, RedirectOutcome, RedisOperation, StatusClass,
    WebhookOutcome,
};

/// All of reftrack's metrics, registered in one registry. Cheap to clone.
///
/// Labelled children used on the redirect path are resolved once here, so a request pays for
/// an atomic add, not a label lookup.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    pub redirect_duration: Histogram,
    pub redirected: IntCounter,
    pub not_found: IntCounter,
    pub unavailable: IntCounter,
    pub human_clicks: IntCounter,
    pub bot_clicks: IntCounter,
    pub suspicious_clicks: IntCounter,
    pub clicks_dropped: IntCounter,
    pub click_buffer_depth: IntGauge,
    pub click_tallies_held: IntGauge,
    pub flush_batch_size: Histogram,
    pub flush_duration: Histogram,
    pub flushes_ok: IntCounter,
    pub flushes_failed: IntCounter,
    pub durable_commit_timeouts: IntCounter,
    pub link_cache_entries: IntGauge,
    pub link_cache_loads: IntCounter,
    pub click_spool_bytes: IntGauge,
    pub click_spool_dropped: IntCounter,
    pub click_spool_counts_dropped: IntCounter,
    pub pending_orders: IntGauge,
    pub sketch_merge_lag_seconds: IntGauge,
    pub clicks_spilled: IntCounter,
    redis_errors: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    webhook_duration: HistogramVec,
    api_duration: HistogramVec,
    orders_attributed: IntCounterVec,
    refunds_other_currency: IntCounterVec,
    corrupt_records: IntCounterVec,
    pub report_overflows: IntCounter,
    pub reports_busy: IntCounter,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique and valid");
    metric
}

impl Metrics {
    #[allow(
        clippy::too_many_lines,
        reason = "one registration per metric, nothing to factor"
    )]
    pub fn new() -> Self {
        let r = Registry::new();
        // The standard process_* metrics: CPU seconds, resident memory, open descriptors
        // and their limit, start time.
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("the process collector registers once per registry");
        let redirects = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "reftrack_redirects_total",
                    "Requests for referral links, by outcome.",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
        );
        let clicks = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "reftrack_clicks_total",
                    "Clicks recorded, by class (human, bot or suspicious).",
                ),
                &["class"],
            )
            .expect("valid metric"),
        );
        let flushes = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "reftrack_click_flushes_total",
                    "Click batch writes to Redis, by result.",
                ),
                &["result"],
            )
            .expect("valid metric"),
        );
        let build_info = register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "reftrack_build_info",
                    "Always 1; labels carry the build's version.",
                ),
                &["version"],
            )
            .expect("valid metric"),
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let metrics = Self {
            redirect_duration: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "reftrack_redirect_duration_seconds",
                        "Time to answer a referral link request, in seconds.",
                    )
                    .buckets(vec![
                        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
                        0.1, 0.5, 2.5,
                    ]),
                )
                .expect("valid metric"),
            ),
            redirected: redirects.with_label_values(&["redirected"]),
            not_found: redirects.with_label_values(&["not_found"]),
            unavailable: redirects.with_label_values(&["unavailable"]),
            human_clicks: clicks.with_label_values(&["human"]),
            bot_clicks: clicks.with_label_values(&["bot"]),
            suspicious_clicks: clicks.with_label_values(&["suspicious"]),
            clicks_dropped: register(
                &r,
                IntCounter::new(
                    "reftrack_clicks_dropped_total",
                    "Clicks lost because the click buffer was full.",
                )
                .expect("valid metric"),
            ),
            click_buffer_depth: register(
                &r,
                IntGauge::new(
                    "reftrack_click_buffer_depth",
                    "Clicks answered but not yet written to Redis.",
                )
                .expect("valid metric"),
            ),
            click_tallies_held: register(
                &r,
                IntGauge::new(
                    "reftrack_click_tallies_held",
                    "Clicks whose counts are summed in memory, to be written together once per \
                     clicks.count_interval_ms, or up to clicks.max_count_interval_ms while clicks \
                     spread thin (their records may be buffered too, or in Redis)",
                )
                .expect("valid metric"),
            ),
            flush_batch_size: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "reftrack_click_flush_batch_size",
                        "Clicks written per flush to Redis.",
                    )
                    .buckets(prometheus::exponential_buckets(1.0, 4.0, 8).expect("valid buckets")),
                )
                .expect("valid metric"),
            ),
            flush_duration: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "reftrack_click_flush_duration_seconds",
                        "Time to write one batch of clicks to Redis, in seconds.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.000_25, 4.0, 8).expect("valid buckets"),
                    ),
                )
                .expect("valid metric"),
            ),
            flushes_ok: flushes.with_label_values(&["ok"]),
            flushes_failed: flushes.with_label_values(&["error"]),
            durable_commit_timeouts: register(
                &r,
                IntCounter::new(
                    "reftrack_durable_commit_timeouts_total",
                    "Durable-mode redirects answered before their click was committed.",
                )
                .expect("valid metric"),
            ),
            link_cache_entries: register(
                &r,
                IntGauge::new(
                    "reftrack_link_cache_entries",
                    "Links held in the in-process cache.",
                )
                .expect("valid metric"),
            ),
            link_cache_loads: register(
                &r,
                IntCounter::new(
                    "reftrack_link_cache_loads_total",
                    "Links read from Redis into the in-process cache: first uses, and reloads after a change.",
                )
                .expect("valid metric"),
            ),
            click_spool_bytes: register(
                &r,
                IntGauge::new(
                    "reftrack_click_spool_bytes",
                    "Bytes of clicks held in the on-disk spool, waiting for Redis.",
                )
                .expect("valid metric"),
            ),
            pending_orders: register(
                &r,
                IntGauge::new(
                    "reftrack_pending_orders",
                    "Orders waiting for their click's record, as the last sweep found them.",
                )
                .expect("valid metric"),
            ),
            sketch_merge_lag_seconds: register(
                &r,
                IntGauge::new(
                    "reftrack_sketch_merge_lag_seconds",
                    "How far the merges of unique-visitor day sketches into their months' are \
                     behind: settled days not yet merged, in seconds (86400 a day; 0 when caught \
                     up), as this process last looked.",
                )
                .expect("valid metric"),
            ),
            click_spool_dropped: register(
                &r,
                IntCounter::new(
                    "reftrack_click_spool_dropped_total",
                    "Spooled clicks dropped, oldest first, because the spool was full.",
                )
                .expect("valid metric"),
            ),
            click_spool_counts_dropped: register(
                &r,
                IntCounter::new(
                    "reftrack_click_spool_counts_dropped_total",
                    "Clicks whose spooled counts (counters and visitors) were dropped, oldest \
                     first, because the spool was full.",
                )
                .expect("valid metric"),
            ),
            clicks_spilled: register(
                &r,
                IntCounter::new(
                    "reftrack_clicks_spilled_total",
                    "Clicks sent to the spool because the click buffer passed half its capacity (Redis slower than the clicks coming); replayed from there.",
                )
                .expect("valid metric"),
            ),
            redis_errors: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "reftrack_redis_errors_total",
                        "Failed Redis operations, by operation.",
                    ),
                    &["operation"],
                )
                .expect("valid metric"),
            ),
            webhook_deliveries: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "reftrack_webhook_deliveries_total",
                        "Order webhook deliveries, by platform and outcome.",
                    ),
                    &["platform", "outcome"],
                )
                .expect("valid metric"),
            ),
            webhook_duration: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "reftrack_webhook_duration_seconds",
                        "Time to verify and store an order webhook delivery, in seconds.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.000_25, 4.0, 8).expect("valid buckets"),
                    ),
                    &["platform"],
                )
                .expect("valid metric"),
            ),
            api_duration: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "reftrack_api_request_duration_seconds",
                        "Time to answer an /api request until its head is ready (a streamed \
                         report's body is not included), in seconds, by documented route \
                         (its pattern; \"unmatched\" for any other path), method and status class.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.000_25, 4.0, 8).expect("valid buckets"),
                    ),
                    &["route", "method", "status"],
                )
                .expect("valid metric"),
            ),
            orders_attributed: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "reftrack_orders_attributed_total",
                        "Orders attributed, by how (click, coupon, unattributed, unqualified, test).",
                    ),
                    &["by"],
                )
                .expect("valid metric"),
            ),
            refunds_other_currency: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "reftrack_refunds_other_currency_total",
                        "Refunds stated in another currency than their order's: kept for audit, never counted.",
                    ),
                    &["platform"],
                )
                .expect("valid metric"),
            ),
            corrupt_records: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "reftrack_corrupt_records_total",
                        "Stored records or counters that could not be read and were skipped, by kind.",
                    ),
                    &["kind"],
                )
                .expect("valid metric"),
            ),
            report_overflows: register(
                &r,
                IntCounter::new(
                    "reftrack_report_overflows_total",
                    "Reports refused because a total was too large to add up exactly.",
                )
                .expect("valid metric"),
            ),
            reports_busy: register(
                &r,
                IntCounter::new(
                    "reftrack_reports_busy_total",
                    "Reports answered 503 busy: every report slot stayed taken.",
                )
                .expect("valid metric"),
            ),
            registry: r,
        };
        for kind in CorruptKind::ALL {
            metrics.corrupt_records.with_label_values(&[kind.label()]);
        }
        for operation in RedisOperation::ALL {
            metrics.redis_errors.with_label_values(&[operation.label()]);
        }
        for platform in Platform::ALL {
            metrics
                .webhook_duration
                .with_label_values(&[platform.label()]);
            metrics
                .refunds_other_currency
                .with_label_values(&[platform.label()]);
            for outcome in WebhookOutcome::ALL {
                metrics
                    .webhook_deliveries
                    .with_label_values(&[platform.label(), outcome.label()]);
            }
        }
        for by in AttributionLabel::ALL {
            metrics.orders_attributed.with_label_values(&[by.label()]);
        }
        metrics
    }

    pub fn redirect(&self, outcome: RedirectOutcome) {
        match outcome {
            RedirectOutcome::Redirected => self.redirected.inc(),
            RedirectOutcome::NotFound => self.not_found.inc(),
            RedirectOutcome::Unavailable => self.unavailable.inc(),
        }
    }

    pub fn redis_error(&self, operation: RedisOperation) {
        self.redis_errors
            .with_label_values(&[operation.label()])
            .inc();
    }

    pub fn webhook(&self, platform: Platform, outcome: WebhookOutcome, seconds: f64) {
        self.webhook_deliveries
            .with_label_values(&[platform.label(), outcome.label()])
            .inc();
        self.webhook_duration
            .with_label_values(&[platform.label()])
            .observe(seconds);
    }

    /// An `/api` request answered. `route` is a documented path pattern or `"unmatched"`
    /// (the caller's to keep to that fixed set), never a path as sent.
    pub fn api_request(
        &self,
        route: &'static str,
        method: ApiMethod,
        status: StatusClass,
        seconds: f64,
    ) {
        self.api_duration
            .with_label_values(&[route, method.label(), status.label()])
            .observe(seconds);
    }

    pub fn order_attributed(&self, by: AttributionLabel) {
        self.orders_attributed
            .with_label_values(&[by.label()])
            .inc();
    }

    pub fn refunds_in_other_currency(&self, platform: Platform, refunds: usize) {
        self.refunds_other_currency
            .with_label_values(&[platform.label()])
            .inc_by(u64::try_from(refunds).unwrap_or(u64::MAX));
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Counts a stored record or counter that was skipped because it could not be read.
    pub fn corrupt_record(&self, kind: CorruptKind) {
        self.corrupt_records
            .with_label_values(&[kind.label()])
            .inc();
    }
}
