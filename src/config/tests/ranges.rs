//! Numbers out of their range: every one refused with its key, its range and what was given.

use super::load;
use crate::config::DEFAULTS;

#[test]
fn times_and_sizes_far_past_any_sensible_value_are_refused_with_their_key_and_range() {
    let huge = "18446744073709551615";
    let cases = [
        (
            "REFTRACK_HTTP__SHUTDOWN_TIMEOUT_SECS",
            huge,
            "http.shutdown_timeout_secs",
        ),
        ("REFTRACK_REDIS__TIMEOUT_MS", huge, "redis.timeout_ms"),
        (
            "REFTRACK_CLICKS__FLUSH_INTERVAL_MS",
            huge,
            "clicks.flush_interval_ms",
        ),
        (
            "REFTRACK_CLICKS__DURABLE_TIMEOUT_MS",
            "60001",
            "clicks.durable_timeout_ms",
        ),
        (
            "REFTRACK_CLICKS__COUNT_INTERVAL_MS",
            "60001",
            "clicks.count_interval_ms",
        ),
        (
            "REFTRACK_CLICKS__MAX_COUNT_INTERVAL_MS",
            "60001",
            "clicks.max_count_interval_ms",
        ),
        (
            "REFTRACK_CLICKS__BUFFER_CAPACITY",
            huge,
            "clicks.buffer_capacity",
        ),
        (
            "REFTRACK_FRAUD__REPEAT_WINDOW_SECS",
            "4294967295",
            "fraud.repeat_window_secs",
        ),
        (
            "REFTRACK_FRAUD__BURST_WINDOW_SECS",
            "86401",
            "fraud.burst_window_secs",
        ),
        (
            "REFTRACK_FRAUD__TRACKED_CLIENTS",
            huge,
            "fraud.tracked_clients",
        ),
    ];
    for (var, value, key) in cases {
        let err = load(&[(var, value)]).unwrap_err().to_string();
        assert!(
            err.contains(key) && err.contains("must be") && err.contains(value),
            "{var}={value}: {err}"
        );
    }
    let edge = load(&[
        ("REFTRACK_CLICKS__FLUSH_INTERVAL_MS", "3600000"),
        ("REFTRACK_REDIS__TIMEOUT_MS", "60000"),
        ("REFTRACK_CLICKS__BUFFER_CAPACITY", "100000000"),
    ]);
    assert!(edge.is_ok(), "the largest allowed values load: {edge:?}");
}

/// A setting's variable, a value out of its range, its key, and words of the range it must be in.
const OUT_OF_RANGE: [(&str, &str, &str, &str); 19] = [
    (
        "REFTRACK_HTTP__WORKERS",
        "1025",
        "http.workers",
        "0 to 1024",
    ),
    (
        "REFTRACK_REDIS__WAIT_REPLICAS",
        "101",
        "redis.wait_replicas",
        "0 to 100",
    ),
    (
        "REFTRACK_HTTP__HEADER_TIMEOUT_SECS",
        "301",
        "http.header_timeout_secs",
        "1 to 300",
    ),
    (
        "REFTRACK_HTTP__BODY_TIMEOUT_SECS",
        "3601",
        "http.body_timeout_secs",
        "1 to 3600",
    ),
    (
        "REFTRACK_HTTP__MAX_CONNECTIONS_PER_WORKER",
        "1000001",
        "http.max_connections_per_worker",
        "1 to 1000000",
    ),
    (
        "REFTRACK_CLICKS__ATTRIBUTION_WINDOW_DAYS",
        "366",
        "clicks.attribution_window_days",
        "1 to 365",
    ),
    (
        "REFTRACK_CLICKS__SPOOL_MAX_BYTES",
        "1048575",
        "clicks.spool_max_bytes",
        "at least 1048576",
    ),
    (
        "REFTRACK_CLICKS__COUNT_INTERVAL_MS",
        "60001",
        "clicks.count_interval_ms",
        "1 to 60000",
    ),
    (
        "REFTRACK_CLICKS__MAX_COUNT_INTERVAL_MS",
        "60001",
        "clicks.max_count_interval_ms",
        "1 to 60000",
    ),
    (
        "REFTRACK_FRAUD__ADDRESS_BURST_WINDOW_SECS",
        "86401",
        "fraud.address_burst_window_secs",
        "1 to 86400",
    ),
    (
        "REFTRACK_WEBHOOKS__TOLERANCE_SECS",
        "-5",
        "webhooks.tolerance_secs",
        "1 to 86400",
    ),
    (
        "REFTRACK_ATTRIBUTION__CLOCK_SKEW_SECS",
        "86401",
        "attribution.clock_skew_secs",
        "0 to 86400",
    ),
    (
        "REFTRACK_ATTRIBUTION__PENDING_CLICK_HOURS",
        "721",
        "attribution.pending_click_hours",
        "1 to 720",
    ),
    (
        "REFTRACK_ATTRIBUTION__PENDING_SWEEP_MS",
        "49",
        "attribution.pending_sweep_ms",
        "50 to 60000",
    ),
    (
        "REFTRACK_ATTRIBUTION__COUPON_SPIKE_ORDERS",
        "1000001",
        "attribution.coupon_spike_orders",
        "1 to 1000000",
    ),
    (
        "REFTRACK_REPORTS__MAX_CONCURRENT",
        "1025",
        "reports.max_concurrent",
        "1 to 1024",
    ),
    (
        "REFTRACK_REPORTS__QUEUE_WAIT_MS",
        "60001",
        "reports.queue_wait_ms",
        "0 to 60000",
    ),
    (
        "REFTRACK_CLICKS__BUFFER_CAPACITY",
        "10",
        "clicks.buffer_capacity",
        "at least",
    ),
    (
        "REFTRACK_REDIS__KEY_PREFIX",
        "rt:x",
        "redis.key_prefix",
        "letters, digits",
    ),
];

#[test]
fn every_setting_out_of_its_range_is_refused_with_its_key_its_range_and_what_was_given() {
    for (var, value, key, allowed) in OUT_OF_RANGE {
        let err = load(&[(var, value)]).unwrap_err().to_string();
        let given =
            err.contains(&format!("got {value}")) || err.contains(&format!("got '{value}'"));
        assert!(
            err.contains(key) && err.contains(allowed) && given,
            "{var}={value}: {err}"
        );
    }
}

/// Every whole-number setting of the defaults file: its key (`section.name`) and variable.
fn whole_number_settings() -> Vec<(String, String)> {
    let mut section = "";
    let mut settings = Vec::new();
    for line in DEFAULTS.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if let Some((name, value)) = line.split_once(" = ")
            && value.parse::<i64>().is_ok()
        {
            settings.push((
                format!("{section}.{name}"),
                format!("REFTRACK_{section}__{name}").to_uppercase(),
            ));
        }
    }
    settings
}

#[test]
fn every_whole_number_setting_refuses_negatives_fractions_and_numbers_too_large_for_its_type_in_words()
 {
    let settings = whole_number_settings();
    assert!(settings.len() >= 30, "{settings:?}");
    let too_large = [
        "4294967296",
        "18446744073709551616",
        "99999999999999999999999999999999999999999",
    ];
    for (key, var) in &settings {
        for value in too_large.iter().chain(&["-1", "1.5", "ten", ""]) {
            let Err(err) = load(&[(var.as_str(), value)]) else {
                assert_eq!(
                    (key.as_str(), *value),
                    ("clicks.spool_max_bytes", "4294967296"),
                    "only a size in bytes allows 2^32"
                );
                continue;
            };
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("configuration key {key}: ")),
                "{var}={value}: {message}"
            );
            assert!(message.contains(value), "{var}={value}: {message}");
            if too_large.contains(value) || *value == "-1" {
                assert!(
                    message.contains("must be") || message.contains("use 302 or 307"),
                    "{var}={value}: {message}"
                );
            }
            for rust in [
                "u16", "u32", "u64", "usize", "i64", "i128", "NonZero", "integer",
            ] {
                assert!(!message.contains(rust), "{var}={value}: {message}");
            }
        }
    }
}

#[test]
fn a_whole_number_written_as_a_float_in_a_file_is_that_number_and_a_fraction_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reftrack.toml");
    std::fs::write(&path, "[clicks]\nspool_max_bytes = 2e9\n").unwrap();
    let settings = crate::config::Settings::load_from(Some(&path), std::iter::empty()).unwrap();
    assert_eq!(settings.clicks.spool_max_bytes, 2_000_000_000);

    std::fs::write(&path, "[clicks]\nspool_max_bytes = 2.5\n").unwrap();
    let message = crate::config::Settings::load_from(Some(&path), std::iter::empty())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("clicks.spool_max_bytes") && message.contains("2.5"),
        "{message}"
    );
}
