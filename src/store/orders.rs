//! Order records, the click records attribution reads, and what orders add to counters.

use std::sync::LazyLock;

use redis::{AsyncCommands, Cmd, Script};

use super::click_records::{self, ClickRecord, RecordedLink};
use super::keys::Owner;
use super::{SlotPipeline, Store, StoreError, StoreResult};
use crate::domain::{ClickId, Currency, LinkCode, Order, OrderKey, SeenClick};
use crate::metrics::{CorruptKind, Metrics};
use crate::pagination::{Cursor, Page};

/// Reads one page of an order index (see the script), kept beside `orders_of` rather than
/// among the shared scripts because only the order list uses it.
static ORDER_PAGE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/order_page.lua")));

/// An order's record and the revision it was read at.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    pub rev: u64,
    pub order: Order,
}

impl Store {
    pub async fn order(&self, key: &OrderKey) -> StoreResult<Option<StoredOrder>> {
        let redis_key = self.keys().order(key);
        let (rev, state): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(&redis_key)
            .arg("rev")
            .arg("state")
            .query_async(&mut self.conn())
            .await?;
        match (rev, state) {
            (Some(rev), Some(state)) => Ok(Some(StoredOrder {
                rev,
                order: decode(&redis_key, &state)?,
            })),
            _ => Ok(None),
        }
    }

    /// Saves `order` if its record is still at revision `read` (0: there was none). `false`
    /// means another delivery wrote first and the caller must read again.
    pub async fn save_order(&self, key: &OrderKey, read: u64, order: &Order) -> StoreResult<bool> {
        let state = serde_json::to_string(order).expect("an order serialises");
        let record = self.keys().order(key);
        let saved: i64 = self
            .write_script(
                self.scripts.save_order.key(&record).arg(read).arg(state),
                &record,
            )
            .await?;
        Ok(saved == 1)
    }

    /// Makes `owner`'s counters hold `amounts` for the order at revision `rev`, replacing what
    /// an earlier revision added (see `apply_order.lua`), and lists the order in the owner's
    /// index at `at_ms`; with `at_ms` `None` the order has left the owner: what it added is
    /// taken back and it leaves the index.
    pub async fn apply_order_figures(
        &self,
        owner: Owner<'_>,
        key: &OrderKey,
        rev: u64,
        at_ms: Option<i64>,
        amounts: &[(String, i64)],
    ) -> StoreResult<()> {
        let keys = self.keys();
        let mut invocation = self.scripts.apply_order.prepare_invoke();
        invocation
            .key(keys.order_contributions(owner))
            .key(keys.counts(owner))
            .key(keys.order_index(owner))
            .arg(key.as_str())
            .arg(rev);
        match at_ms {
            Some(at_ms) => invocation.arg(at_ms),
            None => invocation.arg("gone"),
        };
        for (field, amount) in amounts.iter().filter(|(_, amount)| *amount != 0) {
            invocation.arg(field).arg(*amount);
        }
        let _: i64 = self.write_script(&invocation, &keys.counts(owner)).await?;
        Ok(())
    }

    /// One page of the orders in the indexes of `owners` placed between the two times
    /// (inclusive), oldest first (orders of the same millisecond by key), starting after
    /// `after`: each owner's index gives its next page, and the pages merge in that order.
    /// A record that does not decode is skipped, logged (its key only) and counted, so one
    /// bad record never hides the rest of the list.
    pub async fn orders_of(
        &self,
        owners: &[Owner<'_>],
        from_ms: i64,
        to_ms: i64,
        after: Option<&Cursor>,
        limit: usize,
        metrics: &Metrics,
    ) -> StoreResult<Page<Order>> {
        let indexes: Vec<String> = owners.iter().map(|o| self.keys().order_index(*o)).collect();
        self.orders_in(&indexes, (from_ms, to_ms), after, limit, metrics)
            .await
    }

    /// One page of the orders held for review, as [`Self::orders_of`] pages owners' orders.
    pub async fn held_orders(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<&Cursor>,
        limit: usize,
        metrics: &Metrics,
    ) -> StoreResult<Page<Order>> {
        let index = [self.keys().held_orders()];
        self.orders_in(&index, (from_ms, to_ms), after, limit, metrics)
            .await
    }

    /// Lists `key` among the orders held for review (at its order time), or takes it out.
    pub async fn mark_held(&self, key: &OrderKey, at_ms: Option<i64>) -> StoreResult<()> {
        let index = self.keys().held_orders();
        let _: i64 = match at_ms {
            Some(at_ms) => self.conn().zadd(index, key.as_str(), at_ms).await?,
            None => self.conn().zrem(index, key.as_str()).await?,
        };
        Ok(())
    }

    async fn orders_in(
        &self,
        indexes: &[String],
        (from_ms, to_ms): (i64, i64),
        after: Option<&Cursor>,
        limit: usize,
        metrics: &Metrics,
    ) -> StoreResult<Page<Order>> {
        let pages = futures_util::future::try_join_all(
            indexes
                .iter()
                .map(|index| self.order_page(index, from_ms, to_ms, after, limit)),
        )
        .await?;
        let mut more = pages.iter().any(|(_, more)| *more);
        let mut entries: Vec<(String, i64)> =
            pages.into_iter().flat_map(|(entries, _)| entries).collect();
        entries.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        entries.dedup();
        more |= entries.len() > limit;
        entries.truncate(limit);
        let next = if more {
            entries.last().map(|(member, score)| Cursor {
                score: *score,
                member: member.clone(),
            })
        } else {
            None
        };
        if entries.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next,
            });
        }
        let keys: Vec<String> = entries
            .iter()
            .map(|(member, _)| self.keys().order(&OrderKey::from_stored(member)))
            .collect();
        let mut pipe = SlotPipeline::new();
        for key in &keys {
            pipe.add(key, Cmd::hget(key, "state"));
        }
        let states = self.query_slots(&pipe).await?;
        let mut orders = Vec::with_capacity(keys.len());
        for (key, state) in keys.iter().zip(&states) {
            let decoded = match state {
                redis::Value::Nil => continue,
                redis::Value::BulkString(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| decode(key, text).ok()),
                _ => None,
            };
            if let Some(order) = decoded {
                orders.push(order);
            } else {
                metrics.corrupt_record(CorruptKind::Order);
                tracing::warn!(
                    key = key.as_str(),
                    "skipped an order record that does not decode"
                );
            }
        }
        Ok(Page {
            items: orders,
            next,
        })
    }

    /// Up to `limit` (member, score) entries of an order index after the cursor and within
    /// the times, and whether more follow.
    async fn order_page(
        &self,
        index: &str,
        from_ms: i64,
        to_ms: i64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> StoreResult<(Vec<(String, i64)>, bool)> {
        let mut invocation = ORDER_PAGE.key(index);
        invocation.arg(from_ms).arg(limit.saturating_add(1));
        match after {
            Some(cursor) => invocation.arg(cursor.score).arg(&cursor.member),
            None => invocation.arg("").arg(""),
        };
        let flat: Vec<(String, f64)> = invocation.invoke_async(&mut self.conn()).await?;
        let mut entries: Vec<(String, i64)> = Vec::with_capacity(flat.len());
        for (member, score) in flat {
            // Scores are whole milliseconds, far below 2^53, so the cast is exact.
            #[allow(
                clippy::cast_possible_truncation,
                reason = "scores are whole milliseconds"
            )]
            let score = score as i64;
            if score > to_ms {
                break;
            }
            entries.push((member, score));
        }
        let more = entries.len() > limit;
        entries.truncate(limit);
        Ok((entries, more))
    }

    /// The click a click id names, while its record is kept (its attribution window), with
    /// the influencer of the link that was clicked.
    pub async fn click(&self, id: &ClickId) -> StoreResult<Option<SeenClick>> {
        let Some((key, record)) = self.click_record(id).await? else {
            return Ok(None);
        };
        let code = match record.link {
            RecordedLink::Code(code) => code,
            RecordedLink::Number(number) => {
                let code: Option<String> =
                    self.conn().hget(self.keys().link_numbers(), number).await?;
                // A flush registers a link's number beside the records, on another node of a
                // cluster and not atomically with them: a number not registered yet is a
                // click not written yet, which an order waits for.
                let Some(code) = code else {
                    return Ok(None);
                };
                code
            }
        };
        let link = LinkCode::parse(&code)
            .map_err(|_| StoreError::corrupt(&key, "click record with a malformed link code"))?;
        let Some(link) = self.link(&link).await? else {
            return Err(StoreError::corrupt(&key, "click record of an unknown link"));
        };
        Ok(Some(SeenClick {
            campaign_id: link.campaign_id,
            influencer_id: link.influencer_id,
            code,
            at_ms: record.at_ms,
        }))
    }

    /// A click's record and its block's key: in the compact layout, or else in the older one.
    async fn click_record(&self, id: &ClickId) -> StoreResult<Option<(String, ClickRecord)>> {
        let layouts = [
            (
                click_records::slot_of(id),
                click_records::RECORD_LEN,
                click_records::decode as fn(&ClickId, &[u8]) -> Option<ClickRecord>,
            ),
            (
                click_records::legacy_slot_of(id),
                click_records::LEGACY_RECORD_LEN,
                click_records::decode_legacy,
            ),
        ];
        for ((block, offset), len, decode) in layouts {
            let key = self.keys().click_block(id.space(), block);
            let from = isize::try_from(offset).unwrap_or(isize::MAX);
            let to = isize::try_from(offset + len - 1).unwrap_or(isize::MAX);
            let slot: Vec<u8> = self.conn().getrange(&key, from, to).await?;
            if let Some(record) = decode(id, &slot) {
                return Ok(Some((key, record)));
            }
        }
        Ok(None)
    }

    /// Records that orders have counted in `currency`.
    pub async fn note_currency(&self, currency: Currency) -> StoreResult<()> {
        let _: i64 = self
            .conn()
            .sadd(self.keys().currencies(), currency.code())
            .await?;
        Ok(())
    }

    /// Every currency orders have counted in.
    pub async fn currencies(&self) -> StoreResult<Vec<Currency>> {
        let codes: Vec<String> = self.conn().smembers(self.keys().currencies()).await?;
        let mut out: Vec<Currency> = codes
            .iter()
            .filter_map(|c| Currency::parse(c).ok())
            .collect();
        out.sort();
        Ok(out)
    }
}

/// An order record as stored, refused as corrupt when it does not decode or does not keep the
/// bounds every order is taken in with (see `Order::is_sound`): a record damaged outside
/// reftrack is never counted or folded into.
fn decode(key: &str, state: &str) -> StoreResult<Order> {
    let order: Order =
        serde_json::from_str(state).map_err(|e| StoreError::corrupt(key, e.to_string()))?;
    if !order.is_sound() {
        return Err(StoreError::corrupt(
            key,
            "an amount beyond the bounds of any order",
        ));
    }
    Ok(order)
}
