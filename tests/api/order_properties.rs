//! A property test of the whole order path, through real HTTP and a real Redis: random signed
//! deliveries in every format (any JSON number or string in every money field, any currency,
//! status and topic header, ids drawn from a small pool so deliveries collide, repeat and
//! arrive out of order) are posted to one server, and after each batch the figures must agree:
//! every answer is 200 or a 400 (never a 5xx), no counter is below zero, each month holds the
//! sum of its days and each year the sum of its months, and each owner's day counters hold
//! exactly what its order records add up to.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reftrack::domain::{Bucket, Order, OrderKey, Platform};
use reftrack::store::keys::field;
use reftrack::store::{Keys, Owner};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture_json, spawn_app};

/// Order ids per platform, few enough that deliveries meet the same orders.
const IDS: usize = 3;
const COUPONS: [&str; 3] = ["ALICE10", "BOB5", "NOBODY"];

#[derive(Debug, Clone)]
enum Kind {
    ShopifyOrder,
    ShopifyRefund,
    Woo,
    StripeSession,
    StripeRefund,
    GenericCreated,
    GenericRefunded,
    GenericCancelled,
}

/// One delivery to send: which format, and the values to put in it.
#[derive(Debug, Clone)]
struct Spec {
    kind: Kind,
    id: usize,
    event: usize,
    money: [Value; 3],
    currency: &'static str,
    topic: &'static str,
    status: &'static str,
    test: bool,
    coupon: usize,
    cancelled: bool,
}

/// Anything a money field might hold: mostly plausible decimals, then negative, oversized,
/// exponent and float forms, integers of any size, and text.
fn money() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec!["0.00", "1.00", "19.99", "398.00", "1000.50", "5", "40"])
            .prop_map(Value::from),
        1 => "-?[0-9]{1,20}(\\.[0-9]{0,4})?".prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => (0_i64..200_000).prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => prop::sample::select(vec!["1e3", "+5", ".5", "NaN", "", "10000000000.01"])
            .prop_map(Value::from),
        1 => ".{0,8}".prop_map(Value::from),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let kind = prop::sample::select(vec![
        Kind::ShopifyOrder,
        Kind::ShopifyRefund,
        Kind::Woo,
        Kind::StripeSession,
        Kind::StripeRefund,
        Kind::GenericCreated,
        Kind::GenericRefunded,
        Kind::GenericCancelled,
    ]);
    let topic = prop::sample::select(vec![
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
        "order.created",
        "order.updated",
        "order.deleted",
        "x",
    ]);
    let status = prop::sample::select(vec![
        "processing",
        "completed",
        "pending",
        "on-hold",
        "cancelled",
        "refunded",
        "failed",
        "paid",
        "voided",
        "partially_refunded",
        "unpaid",
    ]);
    let currency = prop::sample::select(vec!["USD", "usd", "JPY", "EUR", "XXX"]);
    (
        kind,
        0..IDS,
        0..6_usize,
        [money(), money(), money()],
        currency,
        topic,
        status,
        prop::bool::weighted(0.2),
        0..COUPONS.len(),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(kind, id, event, money, currency, topic, status, test, coupon, cancelled)| Spec {
                kind,
                id,
                event,
                money,
                currency,
                topic,
                status,
                test,
                coupon,
                cancelled,
            },
        )
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339()
}

/// Sends one delivery, signed as its platform signs it, and returns the status.
async fn send(app: &TestApp, spec: &Spec) -> u16 {
    let [a, b, c] = spec.money.clone();
    let coupon = COUPONS[spec.coupon];
    let response = match spec.kind {
        Kind::ShopifyOrder | Kind::ShopifyRefund => {
            let body = if matches!(spec.kind, Kind::ShopifyOrder) {
                let mut order = fixture_json("shopify_orders_create.json");
                order["id"] = (1001 + spec.id).into();
                order["created_at"] = now_rfc3339().into();
                order["subtotal_price"] = a;
                order["total_price"] = b;
                order["total_tax"] = c;
                order["currency"] = spec.currency.into();
                order["financial_status"] = spec.status.into();
                order["test"] = spec.test.into();
                order["discount_codes"] = json!([{ "code": coupon }]);
                if spec.cancelled {
                    order["cancelled_at"] = now_rfc3339().into();
                }
                order
            } else {
                let mut refund = fixture_json("shopify_refunds_create.json");
                refund["order_id"] = (1001 + spec.id).into();
                refund["id"] = (500 + spec.event).into();
                refund["refund_line_items"][0]["subtotal"] = a;
                refund["transactions"][0]["amount"] = b;
                refund["transactions"][0]["currency"] = spec.currency.into();
                refund
            };
            let bytes = serde_json::to_vec(&body).unwrap();
            app.shopify(spec.topic, &format!("e{}", spec.event), &bytes)
                .await
        }
        Kind::Woo => {
            let mut order = fixture_json("woocommerce_order_created.json");
            order["id"] = (700 + spec.id).into();
            order["status"] = spec.status.into();
            order["currency"] = spec.currency.into();
            order["date_created_gmt"] = Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string().into();
            order["line_items"] = json!([{ "id": 1, "total": a }]);
            order["total"] = b;
            order["refunds"] = json!([{ "id": spec.event, "total": c }]);
            order["coupon_lines"] = json!([{ "id": 1, "code": coupon }]);
            let bytes = serde_json::to_vec(&order).unwrap();
            let topic = if spec.topic.starts_with("order.") {
                spec.topic
            } else {
                "order.updated"
            };
            app.woocommerce(topic, &format!("w{}", spec.event), &bytes)
                .await
        }
        Kind::StripeSession | Kind::StripeRefund => {
            let intent = format!("pi_prop{}", spec.id);
            let body = if matches!(spec.kind, Kind::StripeSession) {
                let mut event = fixture_json("stripe_checkout_session_completed.json");
                let session = &mut event["data"]["object"];
                session["payment_intent"] = intent.into();
                session["amount_subtotal"] = a;
                session["amount_total"] = b;
                session["total_details"]["amount_discount"] = c;
                session["currency"] = spec.currency.into();
                session["created"] = Utc::now().timestamp().into();
                session["metadata"]["coupon"] = coupon.into();
                session["payment_status"] = spec.status.into();
                event
            } else {
                let mut event = fixture_json("stripe_charge_refunded.json");
                let charge = &mut event["data"]["object"];
                charge["payment_intent"] = intent.into();
                charge["id"] = format!("ch_prop{}", spec.event).into();
                charge["amount_refunded"] = a;
                charge["currency"] = spec.currency.into();
                event
            };
            let mut body = body;
            body["id"] = format!("evt_prop{}_{}", spec.id, spec.event).into();
            body["livemode"] = (!spec.test).into();
            app.stripe(&serde_json::to_vec(&body).unwrap()).await
        }
        Kind::GenericCreated | Kind::GenericRefunded | Kind::GenericCancelled => {
            let event = match spec.kind {
                Kind::GenericCreated => "order.created",
                Kind::GenericRefunded => "order.refunded",
                _ => "order.cancelled",
            };
            let body = json!({
                "event": event, "order_id": format!("G-{}", spec.id), "amount": a,
                "currency": spec.currency, "coupon": coupon, "test": spec.test,
                "event_id": format!("g{}-{}", spec.event, event), "occurred_at": now_rfc3339(),
            });
            app.generic(&body).await
        }
    };
    response.status().as_u16()
}

/// Every order key the specs can reach.
fn order_keys() -> Vec<OrderKey> {
    let mut keys = Vec::new();
    for id in 0..IDS {
        for test in [false, true] {
            keys.push(OrderKey::of(
                Platform::Shopify,
                &(1001 + id).to_string(),
                test,
            ));
            keys.push(OrderKey::of(
                Platform::WooCommerce,
                &(700 + id).to_string(),
                test,
            ));
            keys.push(OrderKey::of(
                Platform::Stripe,
                &format!("pi_prop{id}"),
                test,
            ));
            keys.push(OrderKey::of(Platform::Generic, &format!("G-{id}"), test));
        }
    }
    keys
}

/// `field -> value` of an owner's counters hash, less the field that keeps it a hash table.
fn counters(app: &TestApp, owner: Owner<'_>) -> BTreeMap<String, i64> {
    let mut redis = app.redis.connection();
    let mut all: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(Keys::new("rt").counts(owner))
        .query(&mut redis)
        .unwrap();
    if let Some(note) = all.remove(field::TABLE) {
        assert_eq!(note, field::TABLE_NOTE);
    }
    all.into_iter()
        .map(|(name, value)| {
            let value = value.parse().unwrap_or_else(|_| panic!("{name} = {value}"));
            (name, value)
        })
        .collect()
}

/// The figures in `counts` must be what the order records add up to, days must add up to
/// months and months to years, and nothing may be negative.
fn check(app: &TestApp, influencers: &[String]) -> Result<(), TestCaseError> {
    let keys = Keys::new("rt");
    let mut redis = app.redis.connection();
    let mut expected: BTreeMap<(Option<String>, String), i64> = BTreeMap::new();
    for key in order_keys() {
        let state: Option<String> = redis::cmd("HGET")
            .arg(keys.order(&key))
            .arg("state")
            .query(&mut redis)
            .unwrap();
        let Some(state) = state else { continue };
        let order: Order = serde_json::from_str(&state).unwrap();
        prop_assert!(order.is_sound(), "{order:?}");
        let (Some(facts), Some(attribution)) = (&order.facts, &order.attribution) else {
            continue;
        };
        let owner = attribution
            .influencer_id
            .as_ref()
            .map(|i| i.as_str().to_owned());
        let day = DateTime::<Utc>::from_timestamp_millis(facts.occurred_ms)
            .unwrap()
            .date_naive();
        let figures = order.figures();
        let c = facts.currency;
        let day = Bucket::Day(day);
        for (name, value) in [
            (field::orders(c, day), figures.orders),
            (field::revenue(c, day), figures.revenue),
            (field::refunds(c, day), figures.refunds),
            (field::commission(c, day), figures.commission),
        ] {
            *expected.entry((owner.clone(), name)).or_default() += value;
        }
    }
    let owners: Vec<Option<String>> = influencers
        .iter()
        .cloned()
        .map(Some)
        .chain([None])
        .collect();
    for owner in &owners {
        let counts = counters(
            app,
            owner
                .as_deref()
                .map_or(Owner::Unattributed, Owner::Influencer),
        );
        let mut months: BTreeMap<String, i64> = BTreeMap::new();
        let mut years: BTreeMap<String, i64> = BTreeMap::new();
        for (name, value) in &counts {
            prop_assert!(*value >= 0, "{owner:?} {name} = {value}");
            // kind:currency:bucket:yyyymmdd
            let parts: Vec<&str> = name.split(':').collect();
            if parts.len() == 4 && ["o", "r", "f", "c"].contains(&parts[0]) {
                let (head, date) = (format!("{}:{}", parts[0], parts[1]), parts[3]);
                match parts[2] {
                    "d" => {
                        *months
                            .entry(format!("{head}:m:{}", &date[..6]))
                            .or_default() += value;
                        let wanted = expected
                            .get(&(owner.clone(), name.clone()))
                            .copied()
                            .unwrap_or(0);
                        prop_assert_eq!(*value, wanted, "{:?} {}", owner, name);
                    }
                    "m" => *years.entry(format!("{head}:y:{}", &date[..4])).or_default() += value,
                    _ => {}
                }
            }
        }
        for (sums, level) in [(&months, "month"), (&years, "year")] {
            for (name, sum) in sums {
                prop_assert_eq!(
                    counts.get(name).copied().unwrap_or(0),
                    *sum,
                    "{:?} {} {}",
                    owner,
                    level,
                    name
                );
            }
        }
        for ((o, name), value) in &expected {
            if o == owner && *value != 0 {
                prop_assert_eq!(counts.get(name).copied().unwrap_or(0), *value, "{}", name);
            }
        }
    }
    Ok(())
}

#[test]
fn random_signed_deliveries_in_every_format_keep_every_figure_consistent() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app());
    let influencers: Vec<String> = runtime.block_on(async {
        let mut ids = Vec::new();
        for (handle, coupon, rule) in [
            ("alice", COUPONS[0], json!({"percent": "10"})),
            ("bob", COUPONS[1], json!({"flat": "5.00"})),
        ] {
            let id = app.influencer_with(handle, rule).await;
            let added = app
                .post_json(
                    &format!("/api/v1/influencers/{id}/coupons"),
                    &json!({ "code": coupon }),
                )
                .await;
            assert!(added.status().is_success());
            ids.push(id);
        }
        ids
    });
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(spec(), 1..12), |specs| {
        for spec in &specs {
            let status = runtime.block_on(send(&app, spec));
            prop_assert!(status == 200 || status == 400, "{status} for {spec:?}");
        }
        check(&app, &influencers)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
