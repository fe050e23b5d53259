use super::*;
use crate::domain::{AttributionPriority, Evidence, Window};

const DAY_MS: i64 = 86_400_000;
const SKEW: i64 = 300_000;
const WINDOW: Window = Window {
    after_ms: 30 * DAY_MS,
    skew_ms: SKEW,
};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn facts(revenue: i64, gross: i64) -> OrderFacts {
    OrderFacts {
        order_id: "1001".into(),
        currency: usd(),
        revenue,
        gross,
        line_basis: 0,
        occurred_ms: 10 * DAY_MS,
        click_id: None,
        coupons: vec![],
        test: false,
        buyer: Buyer::default(),
    }
}

fn attributed(order: &mut Order, commission: i64) {
    order.attribution = Some(Attribution {
        commission,
        ..Evidence::default().attribute(0, &WINDOW, AttributionPriority::Click)
    });
}

fn order_with(events: &[OrderEvent]) -> Order {
    let mut order = Order::new(&OrderKey::new(Platform::Shopify, "1001"), Platform::Shopify);
    for (i, event) in events.iter().enumerate() {
        order.apply(&format!("d{i}"), std::slice::from_ref(event), 0);
    }
    order
}

fn refund(id: &str, amount: RefundAmount) -> OrderEvent {
    OrderEvent::Refunded {
        refund_id: id.into(),
        amount,
        currency: None,
    }
}

const CANCELLED: OrderEvent = OrderEvent::Cancelled { currency: None };

#[test]
fn a_placed_order_counts_its_revenue_and_commission() {
    let mut order = order_with(&[OrderEvent::Placed(facts(39_800, 40_994))]);
    attributed(&mut order, 3_980);
    assert_eq!(
        order.figures(),
        OrderFigures {
            orders: 1,
            revenue: 39_800,
            refunds: 0,
            commission: 3_980,
            ..OrderFigures::default()
        }
    );
}

#[test]
fn repeated_and_reordered_events_give_one_result() {
    let events = [
        OrderEvent::Placed(facts(10_000, 11_000)),
        refund("r1", RefundAmount::Revenue(2_500)),
        OrderEvent::Placed(facts(10_000, 11_000)),
        refund("r1", RefundAmount::Revenue(2_500)),
    ];
    let mut forward = order_with(&events);
    let mut reversed: Vec<OrderEvent> = events.to_vec();
    reversed.reverse();
    let mut backward = order_with(&reversed);
    attributed(&mut forward, 1_000);
    attributed(&mut backward, 1_000);
    assert_eq!(forward.figures(), backward.figures());
    assert_eq!(forward.figures().refunds, 2_500);
    assert_eq!(forward.figures().commission, 750);
}

#[test]
fn a_refund_before_its_order_is_applied_when_the_order_arrives() {
    let mut order = order_with(&[refund("r1", RefundAmount::Revenue(4_000))]);
    assert_eq!(order.status, OrderStatus::Unknown);
    assert_eq!(order.refunded(), 0);
    order.apply("late", &[OrderEvent::Placed(facts(10_000, 10_000))], 0);
    attributed(&mut order, 1_000);
    assert_eq!(order.figures().refunds, 4_000);
    assert_eq!(order.figures().commission, 600);
}

#[test]
fn refunds_of_the_payment_reduce_revenue_in_proportion_and_never_below_zero() {
    let mut order = order_with(&[
        OrderEvent::Placed(facts(4_500, 9_000)),
        refund("ch_1", RefundAmount::OfGross(3_000)),
        refund("ch_1", RefundAmount::OfGross(1_000)),
    ]);
    attributed(&mut order, 450);
    assert_eq!(
        order.refunded(),
        1_500,
        "cumulative reports keep the largest"
    );
    order.apply("more", &[refund("other", RefundAmount::Revenue(99_999))], 0);
    assert_eq!(order.figures().refunds, 4_500);
    assert_eq!(order.figures().commission, 0);
}

#[test]
fn a_cancellation_reverses_everything_and_a_late_placement_does_not_revive_it() {
    let mut order = order_with(&[OrderEvent::Placed(facts(10_000, 10_000))]);
    attributed(&mut order, 1_000);
    order.apply("cancel", &[CANCELLED], 0);
    order.apply("retry", &[OrderEvent::Placed(facts(10_000, 10_000))], 0);
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.figures(), OrderFigures::default());
}

#[test]
fn an_awaiting_order_counts_only_once_placed() {
    let mut order = order_with(&[OrderEvent::Awaiting(facts(5_000, 5_000))]);
    attributed(&mut order, 500);
    assert_eq!(order.figures().orders, 0);
    order.apply("paid", &[OrderEvent::Placed(facts(5_000, 5_000))], 0);
    assert_eq!(order.figures().orders, 1);
}

#[test]
fn test_orders_and_unqualified_orders_never_count() {
    let mut test_facts = facts(5_000, 5_000);
    test_facts.test = true;
    let mut order = order_with(&[OrderEvent::Placed(test_facts)]);
    attributed(&mut order, 500);
    assert_eq!(order.figures(), OrderFigures::default());

    let mut order = order_with(&[OrderEvent::Placed(facts(5_000, 5_000))]);
    order.attribution = Some(Attribution {
        qualified: false,
        ..Evidence::default().attribute(0, &WINDOW, AttributionPriority::Click)
    });
    assert_eq!(order.figures(), OrderFigures::default());
}

#[test]
fn pending_and_held_orders_count_apart_from_the_figures() {
    let mut order = order_with(&[OrderEvent::Placed(facts(5_000, 5_000))]);
    order.attribution = Some(Attribution::pending("c".into(), 1));
    assert_eq!(
        order.figures(),
        OrderFigures {
            pending: 1,
            ..OrderFigures::default()
        }
    );
    attributed(&mut order, 500);
    let attribution = order.attribution.as_mut().unwrap();
    attribution.by = AttributedBy::Coupon;
    attribution.review = Some(crate::domain::Review::Held);
    assert_eq!(
        order.figures(),
        OrderFigures {
            held_orders: 1,
            held_revenue: 5_000,
            ..OrderFigures::default()
        }
    );
    order.attribution.as_mut().unwrap().review = Some(crate::domain::Review::Approved);
    assert_eq!(
        order.figures(),
        OrderFigures {
            orders: 1,
            revenue: 5_000,
            commission: 500,
            coupon_orders: 1,
            ..OrderFigures::default()
        }
    );
}

#[test]
fn deliveries_are_remembered_but_not_forever() {
    let mut order = order_with(&[]);
    for i in 0..100 {
        order.apply(&format!("d{i}"), &[], 0);
    }
    assert!(order.has_seen("d99"));
    assert!(!order.has_seen("d0"));
}

fn with_rule(order: &mut Order, rule: &str) {
    order.attribution = Some(Attribution {
        commission_rule: Some(rule.into()),
        ..Evidence::default().attribute(0, &WINDOW, AttributionPriority::Click)
    });
    order.apply("rule", &[], 0);
}

#[test]
fn commission_follows_the_amount_that_counts_at_the_rule_fixed_at_attribution() {
    let mut order = order_with(&[OrderEvent::Awaiting(facts(50_000, 50_000))]);
    with_rule(&mut order, "pct:1000");
    assert_eq!(order.attribution.as_ref().unwrap().commission, 5_000);
    order.apply("placed", &[OrderEvent::Placed(facts(4_000, 4_000))], 0);
    assert_eq!(
        order.figures(),
        OrderFigures {
            orders: 1,
            revenue: 4_000,
            refunds: 0,
            commission: 400,
            ..OrderFigures::default()
        }
    );
    order.apply("late", &[OrderEvent::Placed(facts(90_000, 90_000))], 0);
    assert_eq!(
        order.figures().revenue,
        4_000,
        "the first placement fixes it"
    );
}

#[test]
fn a_cancellation_before_its_creation_keeps_the_amounts_for_the_audit_and_counts_nothing() {
    let mut order = order_with(&[CANCELLED, OrderEvent::Placed(facts(10_000, 10_000))]);
    attributed(&mut order, 1_000);
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.facts.as_ref().map(|f| f.revenue), Some(10_000));
    assert_eq!(order.figures(), OrderFigures::default());
}

#[test]
fn a_refund_in_another_currency_is_kept_apart_and_never_counted() {
    let jpy = Currency::parse("JPY").unwrap();
    let mut order = order_with(&[
        OrderEvent::Refunded {
            refund_id: "early".into(),
            amount: RefundAmount::Revenue(3_000),
            currency: Some(usd()),
        },
        OrderEvent::Placed(OrderFacts {
            currency: jpy,
            ..facts(10_000, 10_000)
        }),
    ]);
    attributed(&mut order, 1_000);
    let later_usd = [OrderEvent::Refunded {
        refund_id: "late".into(),
        amount: RefundAmount::Revenue(3_000),
        currency: Some(usd()),
    }];
    assert_eq!(order.currency_conflict(&later_usd), Some((jpy, usd())));
    order.apply("late", &later_usd, 0);
    assert_eq!(order.refunded(), 0);
    assert_eq!(order.foreign_refunds(), 2);
    let in_yen = [OrderEvent::Refunded {
        refund_id: "yen".into(),
        amount: RefundAmount::Revenue(2_000),
        currency: Some(jpy),
    }];
    assert_eq!(order.currency_conflict(&in_yen), None);
    order.apply("yen", &in_yen, 0);
    assert_eq!(order.figures().refunds, 2_000);
}

#[test]
fn a_damaged_record_is_not_sound_and_its_figures_never_panic() {
    let mut order = order_with(&[
        OrderEvent::Placed(facts(-5_000, -1)),
        refund("r", RefundAmount::OfGross(10)),
    ]);
    attributed(&mut order, i64::MAX);
    assert!(!order.is_sound());
    let figures = order.figures();
    assert_eq!((figures.revenue, figures.refunds), (0, 0));
    assert!(order_with(&[OrderEvent::Placed(facts(1, 1))]).is_sound());
}

#[test]
fn parsed_facts_outside_the_bounds_are_refused() {
    let facts = |revenue, gross| OrderFacts {
        occurred_ms: EARLIEST_ORDER_MS,
        ..facts(revenue, gross)
    };
    assert!(facts(0, 0).checked().is_ok());
    assert!(facts(-1, 0).checked().is_err());
    assert!(facts(0, MAX_AMOUNT_MINOR + 1).checked().is_err());
    let mut far = facts(1, 1);
    far.occurred_ms = i64::MAX;
    assert!(matches!(far.checked(), Err(OrderError::Time(_))));
    assert!(RefundAmount::checked(-1, true).is_err());
    assert_eq!(
        RefundAmount::checked(7, false),
        Ok(RefundAmount::Revenue(7))
    );
}

#[test]
fn test_orders_have_keys_of_their_own() {
    assert_eq!(
        OrderKey::of(Platform::Shopify, "1", true).as_str(),
        "test:shopify:1"
    );
    assert_eq!(
        OrderKey::of(Platform::Shopify, "1", false).as_str(),
        "shopify:1"
    );
}

#[test]
fn a_refund_of_lines_with_tax_in_them_takes_back_its_share_of_revenue() {
    let order = order_with(&[
        refund("r1", RefundAmount::Revenue(6_000)),
        OrderEvent::Placed(OrderFacts {
            line_basis: 12_000,
            ..facts(10_000, 12_000)
        }),
    ]);

    assert_eq!(order.refunded(), 5_000, "60 of 120 with tax is 50 of 100");
    let record = serde_json::to_string(&facts(10_000, 10_000)).unwrap();
    assert!(
        !record.contains("line_basis"),
        "facts without a basis read as before: {record}"
    );
}
