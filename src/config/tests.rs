use secrecy::ExposeSecret;

use super::*;
use crate::domain::AttributionPriority;

mod ranges;

fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load_from(
        None,
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

#[test]
fn defaults_load_without_any_file_or_variable() {
    let s = load(&[]).unwrap();
    assert_eq!(s.http.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(s.http.redirect_status.code(), 302);
    assert!(s.redis.url.expose_secret().is_empty());
    assert!(!s.clicks.durable_redirects);
    assert_eq!(s.clicks.attribution_window_days, 30);
}

#[test]
fn environment_variables_override_defaults() {
    let s = load(&[
        ("REFTRACK_HTTP__BIND", "0.0.0.0:9000"),
        ("REFTRACK_CLICKS__DURABLE_REDIRECTS", "true"),
        (
            "REFTRACK_HTTP__TRUSTED_PROXIES",
            "10.0.0.0/8,192.168.1.1/32",
        ),
        ("REFTRACK_TOKEN", "not configuration"),
    ])
    .unwrap();
    assert_eq!(s.http.bind.port(), 9000);
    assert!(s.clicks.durable_redirects);
    assert_eq!(s.http.trusted_proxies.len(), 2);
}

#[test]
fn mapped_blocks_are_read_as_their_ipv4_blocks() {
    let s = load(&[
        ("REFTRACK_HTTP__TRUSTED_PROXIES", "::ffff:10.0.0.0/104"),
        ("REFTRACK_FRAUD__ADDRESS_BURST_EXEMPT", "::ffff:100.64.0.1"),
    ])
    .unwrap();
    assert_eq!(s.http.trusted_proxies[0].to_string(), "10.0.0.0/8");
    assert_eq!(s.fraud.address_burst_exempt[0].to_string(), "100.64.0.1/32");
}

#[test]
fn webhook_secrets_are_never_printed() {
    let s = load(&[
        ("REFTRACK_WEBHOOKS__SHOPIFY_SECRET", "shpss_topsecret"),
        ("REFTRACK_ATTRIBUTION__EMAIL_KEY", "email-key-topsecret"),
    ])
    .unwrap();
    assert_eq!(s.webhooks.shopify_secret.expose_secret(), "shpss_topsecret");
    assert_eq!(
        s.attribution.email_key.expose_secret(),
        "email-key-topsecret"
    );
    assert!(!format!("{s:?}").contains("topsecret"));
    let short = load(&[("REFTRACK_ATTRIBUTION__EMAIL_KEY", "short")])
        .unwrap_err()
        .to_string();
    assert!(
        short.contains("attribution.email_key") && short.contains("at least 16"),
        "{short}"
    );
}

#[test]
fn an_admin_token_of_digits_stays_a_string() {
    let s = load(&[("REFTRACK_ADMIN__TOKEN", "0012345678901234567")]).unwrap();
    assert_eq!(s.admin.token.expose_secret(), "0012345678901234567");
}

#[test]
fn a_cluster_url_names_its_seed_nodes() {
    let s = load(&[
        ("REFTRACK_REDIS__CLUSTER", "true"),
        (
            "REFTRACK_REDIS__URL",
            "redis://10.0.0.1:6379, redis://10.0.0.2:6379,",
        ),
    ])
    .unwrap();
    assert_eq!(
        s.redis.urls(),
        ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]
    );
}

#[test]
fn cluster_settings_that_cannot_work_name_the_url() {
    let cases: [&[(&str, &str)]; 3] = [
        &[("REFTRACK_REDIS__CLUSTER", "true")],
        &[
            ("REFTRACK_REDIS__CLUSTER", "true"),
            ("REFTRACK_REDIS__URL", "redis+unix:///tmp/redis.sock"),
        ],
        &[(
            "REFTRACK_REDIS__URL",
            "redis://10.0.0.1:6379,redis://10.0.0.2:6379",
        )],
    ];
    for vars in cases {
        let err = load(vars).unwrap_err().to_string();
        assert!(err.contains("redis.url"), "{vars:?}: {err}");
    }
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("REFTRACK_HTTP__BIND", "not-an-address", "http.bind"),
        ("REFTRACK_HTTP__WORKERS", "many", "http.workers"),
        (
            "REFTRACK_HTTP__REDIRECT_STATUS",
            "301",
            "http.redirect_status",
        ),
        ("REFTRACK_REDIS__URL", "mysql://x", "redis.url"),
        (
            "REFTRACK_REPORTS__TIME_ZONE",
            "Mars/Olympus",
            "reports.time_zone",
        ),
        (
            "REFTRACK_CLICKS__DURABLE_REDIRECTS",
            "perhaps",
            "clicks.durable_redirects",
        ),
        ("REFTRACK_ADMIN__TOKEN", "short", "admin.token"),
        ("REFTRACK_REPORTS__CURRENCY", "dollars", "reports.currency"),
        ("REFTRACK_CLICKS__MAX_BATCH", "0", "clicks.max_batch"),
        (
            "REFTRACK_FRAUD__TRACKED_CLIENTS",
            "0",
            "fraud.tracked_clients",
        ),
        (
            "REFTRACK_FRAUD__BURST_WINDOW_SECS",
            "0",
            "fraud.burst_window_secs",
        ),
        (
            "REFTRACK_REPORTS__MAX_CONCURRENT",
            "0",
            "reports.max_concurrent",
        ),
        (
            "REFTRACK_REPORTS__QUEUE_WAIT_MS",
            "600000",
            "reports.queue_wait_ms",
        ),
        (
            "REFTRACK_ATTRIBUTION__PRIORITY",
            "loudest",
            "attribution.priority",
        ),
        (
            "REFTRACK_WEBHOOKS__TOLERANCE_SECS",
            "0",
            "webhooks.tolerance_secs",
        ),
        ("REFTRACK_HTTP__NO_SUCH_KEY", "1", "no_such_key"),
        (
            "REFTRACK_HTTP__BODY_TIMEOUT_SECS",
            "0",
            "http.body_timeout_secs",
        ),
        (
            "REFTRACK_HTTP__HEADER_TIMEOUT_SECS",
            "0",
            "http.header_timeout_secs",
        ),
        (
            "REFTRACK_HTTP__MAX_CONNECTIONS_PER_WORKER",
            "0",
            "http.max_connections_per_worker",
        ),
        (
            "REFTRACK_FRAUD__ADDRESS_BURST_WINDOW_SECS",
            "0",
            "fraud.address_burst_window_secs",
        ),
        (
            "REFTRACK_FRAUD__ADDRESS_BURST_EXEMPT",
            "carrier",
            "fraud.address_burst_exempt",
        ),
    ];
    for (var, value, key) in cases {
        let err = load(&[(var, value)]).unwrap_err().to_string();
        assert!(err.contains(key), "{var}={value}: {err}");
    }
}

#[test]
fn settings_that_must_be_at_least_one_say_so_without_naming_a_rust_type() {
    for (variable, key) in [
        ("REFTRACK_CLICKS__MAX_BATCH", "clicks.max_batch"),
        ("REFTRACK_REDIS__TIMEOUT_MS", "redis.timeout_ms"),
        ("REFTRACK_FRAUD__TRACKED_CLIENTS", "fraud.tracked_clients"),
    ] {
        let message = load(&[(variable, "0")]).unwrap_err().to_string();
        assert!(
            message.contains("must be 1 to") && message.contains(key),
            "{message}"
        );
        assert!(
            !message.contains("usize") && !message.contains("u64"),
            "{message}"
        );
    }
}

#[test]
fn bad_values_are_refused_with_the_key_the_value_and_what_is_allowed() {
    for (var, value, key, allowed) in [
        ("REFTRACK_LOG__LEVEL", "verbose", "log.level", "debug"),
        ("REFTRACK_LOG__LEVEL", "reftrack=loud", "log.level", "trace"),
        ("REFTRACK_LOG__FORMAT", "yaml", "log.format", "json"),
        (
            "REFTRACK_ATTRIBUTION__PRIORITY",
            "both",
            "attribution.priority",
            "coupon",
        ),
        (
            "REFTRACK_HTTP__BIND",
            "localhost",
            "http.bind",
            "localhost:8080",
        ),
        (
            "REFTRACK_HTTP__FORWARD_QUERY",
            "maybe",
            "http.forward_query",
            "true or false",
        ),
        (
            "REFTRACK_HTTP__HOME_URL",
            "ftp://x",
            "http.home_url",
            "http(s)",
        ),
    ] {
        let message = load(&[(var, value)]).unwrap_err().to_string();

        assert!(
            message.starts_with(&format!("configuration key {key}: ")),
            "{message}"
        );
        assert!(message.contains(value), "{message}");
        assert!(message.contains(allowed), "{message}");
        assert!(!message.contains("variant"), "{message}");
    }
}

#[test]
fn host_names_levels_and_directives_are_accepted() {
    let s = load(&[
        ("REFTRACK_HTTP__BIND", "localhost:8080"),
        ("REFTRACK_HTTP__METRICS_BIND", "127.0.0.1:9100"),
        ("REFTRACK_LOG__LEVEL", "reftrack=debug,actix_web=info"),
        ("REFTRACK_ATTRIBUTION__PRIORITY", "coupon"),
    ])
    .unwrap();

    assert!(s.http.bind.ip().is_loopback());
    assert_eq!(s.http.bind.port(), 8080);
    assert_eq!(s.http.metrics_bind.map(|a| a.port()), Some(9100));
    assert_eq!(s.attribution.priority, AttributionPriority::Coupon);
    assert!(s.http.forward_query, "forwarding is on by default");
    assert_eq!(load(&[]).unwrap().http.metrics_bind, None);
}

#[test]
fn api_bind_and_api_workers_are_read_from_the_environment() {
    let s = load(&[
        ("REFTRACK_HTTP__API_BIND", "127.0.0.1:8081"),
        ("REFTRACK_HTTP__API_WORKERS", "2"),
    ])
    .unwrap();

    assert_eq!(s.http.api_bind.map(|a| a.port()), Some(8081));
    assert_eq!(s.http.api_workers, 2);
    let defaults = load(&[]).unwrap();
    assert_eq!(
        (defaults.http.api_bind, defaults.http.api_workers),
        (None, 1)
    );
}

#[test]
fn listener_numbers_out_of_range_are_refused_with_the_key_the_range_and_the_value() {
    for (key, range, refused, highest) in [
        ("api_workers", "1 to 64", &["0", "65"][..], "64"),
        ("redirect_nice", "0 to 19", &["20", "256"][..], "19"),
    ] {
        let var = format!("REFTRACK_HTTP__{}", key.to_uppercase());
        for value in refused {
            let message = load(&[(var.as_str(), value)]).unwrap_err().to_string();

            assert_eq!(
                message,
                format!("configuration key http.{key}: must be {range}; got {value}")
            );
        }
        assert!(
            load(&[(var.as_str(), highest)]).is_ok(),
            "{key} = {highest}"
        );
    }
}

#[test]
fn an_api_bind_on_the_address_of_another_listener_is_refused() {
    for (other, key) in [
        ("REFTRACK_HTTP__BIND", "http.bind"),
        ("REFTRACK_HTTP__METRICS_BIND", "http.metrics_bind"),
    ] {
        let message = load(&[
            (other, "127.0.0.1:9000"),
            ("REFTRACK_HTTP__API_BIND", "127.0.0.1:9000"),
        ])
        .unwrap_err()
        .to_string();

        assert!(
            message.starts_with("configuration key http.api_bind: ") && message.contains(key),
            "{message}"
        );
    }
    let any_free_ports = load(&[
        ("REFTRACK_HTTP__BIND", "127.0.0.1:0"),
        ("REFTRACK_HTTP__API_BIND", "127.0.0.1:0"),
    ]);
    assert!(any_free_ports.is_ok(), "{any_free_ports:?}");
}

#[test]
fn redirect_nice_is_five_by_default_and_read_from_the_environment() {
    assert_eq!(load(&[]).unwrap().http.redirect_nice, 5);
    let zero = load(&[("REFTRACK_HTTP__REDIRECT_NICE", "0")]).unwrap();
    assert_eq!(zero.http.redirect_nice, 0);
}

#[test]
fn a_longer_count_interval_below_the_count_interval_is_raised_to_it() {
    let s = load(&[
        ("REFTRACK_CLICKS__COUNT_INTERVAL_MS", "3000"),
        ("REFTRACK_CLICKS__MAX_COUNT_INTERVAL_MS", "2000"),
    ])
    .unwrap();
    assert_eq!(s.clicks.max_count_interval(), Duration::from_secs(3));
    let s = load(&[("REFTRACK_CLICKS__MAX_COUNT_INTERVAL_MS", "7000")]).unwrap();
    assert_eq!(s.clicks.max_count_interval(), Duration::from_secs(7));
}

#[test]
fn a_file_that_is_not_toml_is_refused_with_its_line_and_reason_but_not_the_line_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reftrack.toml");
    std::fs::write(
        &path,
        "[admin]\ntoken = \"SECRET-TOKEN-0123456789\n[http]\nworkers = 2\n",
    )
    .unwrap();

    let message = Settings::load_from(Some(&path), std::iter::empty())
        .unwrap_err()
        .to_string();

    assert!(!message.contains("SECRET"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("reftrack.toml"), "{message}");
}
