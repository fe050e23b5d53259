//! Applying an order's figures to its owners' counters as of a revision: its influencer (or
//! the unattributed orders) and the clicked link get what it adds now, and every owner it has
//! left gets nothing, so a move between owners counts once, whichever retry lands it.

use chrono::Utc;

use super::OrderIntake;
use super::ingest::order_day;
use crate::domain::{Bucket, Order, OrderKey, OrderOwner};
use crate::store::StoreError;
use crate::store::keys::{Owner, field};

fn owner(owner: &OrderOwner) -> Owner<'_> {
    match owner {
        OrderOwner::Influencer(id) => Owner::Influencer(id.as_str()),
        OrderOwner::Link(code) => Owner::Link(code),
        OrderOwner::Unattributed => Owner::Unattributed,
    }
}

impl OrderIntake {
    /// Applies the order's figures at revision `rev` to its owners' counters, and lists a
    /// pending order for the sweep.
    pub(super) async fn publish(
        &self,
        key: &OrderKey,
        rev: u64,
        order: &Order,
    ) -> Result<(), StoreError> {
        let (Some(facts), Some(attribution)) = (&order.facts, &order.attribution) else {
            return Ok(());
        };
        let figures = order.figures();
        let day = order_day(facts.occurred_ms, self.time_zone);
        let currency = facts.currency;
        let amounts: Vec<(String, i64)> = Bucket::containing(day)
            .into_iter()
            .flat_map(|bucket| {
                [
                    (field::orders(currency, bucket), figures.orders),
                    (field::revenue(currency, bucket), figures.revenue),
                    (field::refunds(currency, bucket), figures.refunds),
                    (field::commission(currency, bucket), figures.commission),
                    (field::click_orders(currency, bucket), figures.click_orders),
                    (
                        field::coupon_orders(currency, bucket),
                        figures.coupon_orders,
                    ),
                    (field::held_orders(currency, bucket), figures.held_orders),
                    (field::held_revenue(currency, bucket), figures.held_revenue),
                    (field::pending_orders(currency, bucket), figures.pending),
                ]
            })
            .collect();
        for current in order.owners() {
            self.store
                .apply_order_figures(owner(&current), key, rev, Some(facts.occurred_ms), &amounts)
                .await?;
        }
        for former in &order.former_owners {
            self.store
                .apply_order_figures(owner(former), key, rev, None, &[])
                .await?;
        }
        if figures.orders > 0 {
            self.store.note_currency(currency).await?;
        }
        let held = attribution.is_held().then_some(facts.occurred_ms);
        self.store.mark_held(key, held).await?;
        if attribution.is_pending() {
            self.store
                .add_pending(key, Utc::now().timestamp_millis())
                .await?;
        }
        Ok(())
    }
}
