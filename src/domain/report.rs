//! What a report shows: a row's figures as the API and CSV present them, the report bodies,
//! the sort order of rows, and text cells made safe for spreadsheets.

use std::borrow::Cow;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::campaign::CampaignId;
use super::money::Currency;
use super::roi::{Totals, format_minor};

/// A row's figures, money as decimal strings of the report's currency and ratios as numbers
/// (`null` where the denominator is zero). Counts are exact integers however large (JSON
/// numbers have no size limit; sums beyond 64 bits are kept, never wrapped).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Figures {
    #[schema(value_type = u64)]
    clicks: i128,
    #[schema(value_type = u64)]
    unique_clicks: i128,
    #[schema(value_type = u64)]
    bot_clicks: i128,
    #[schema(value_type = u64)]
    suspicious_clicks: i128,
    /// Suspicious clicks over human and suspicious ones: who inflates their numbers.
    suspicious_share: Option<f64>,
    #[schema(value_type = i64)]
    orders: i128,
    conversion_rate: Option<f64>,
    revenue: String,
    refunds: String,
    net_revenue: String,
    aov: Option<String>,
    commission: String,
    costs: String,
    total_cost: String,
    profit: String,
    roi: Option<f64>,
    epc: Option<String>,
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    /// Orders (counted in `orders`) attributed by click, and by coupon.
    #[schema(value_type = i64)]
    click_orders: i128,
    #[schema(value_type = i64)]
    coupon_orders: i128,
    /// Orders held for review and their revenue: in none of the figures above until a
    /// marketer approves them.
    #[schema(value_type = i64)]
    held_orders: i128,
    held_revenue: String,
    /// Orders waiting for their click (only on the row of unattributed orders).
    #[schema(value_type = i64)]
    pending_orders: i128,
}

/// Column names of [`Figures`], in order, for CSV headers.
pub const FIGURE_COLUMNS: [&str; 23] = [
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "suspicious_clicks",
    "suspicious_share",
    "orders",
    "conversion_rate",
    "revenue",
    "refunds",
    "net_revenue",
    "aov",
    "commission",
    "costs",
    "total_cost",
    "profit",
    "roi",
    "epc",
    "currency",
    "click_orders",
    "coupon_orders",
    "held_orders",
    "held_revenue",
    "pending_orders",
];

impl Figures {
    pub fn new(t: &Totals, currency: Currency) -> Self {
        let money = |minor: i128| format_minor(currency, minor);
        Self {
            clicks: t.clicks,
            unique_clicks: t.unique_clicks,
            bot_clicks: t.bot_clicks,
            suspicious_clicks: t.suspicious_clicks,
            suspicious_share: t.suspicious_share(),
            orders: t.orders,
            conversion_rate: t.conversion_rate(),
            revenue: money(t.revenue),
            refunds: money(t.refunds),
            net_revenue: money(t.net_revenue()),
            aov: t.aov().map(money),
            commission: money(t.commission),
            costs: money(t.costs),
            total_cost: money(t.total_cost()),
            profit: money(t.profit()),
            roi: t.roi(),
            epc: t.epc(currency),
            currency,
            click_orders: t.click_orders,
            coupon_orders: t.coupon_orders,
            held_orders: t.held_orders,
            held_revenue: money(t.held_revenue),
            pending_orders: t.pending_orders,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InfluencerRow {
    /// `null` on the row of unattributed orders.
    pub influencer_id: Option<String>,
    pub handle: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
    #[serde(skip)]
    pub totals: Totals,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayRow {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkRow {
    pub code: String,
    pub influencer_id: String,
    pub disabled: bool,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The period of a report in the reporting time zone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
}

/// Totals of orders in a currency other than the report's: shown apart, never converted or
/// added in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotals {
    #[schema(value_type = String, example = "USD")]
    currency: Currency,
    #[schema(value_type = i64)]
    orders: i128,
    revenue: String,
    refunds: String,
    net_revenue: String,
    commission: String,
    costs: String,
}

impl CurrencyTotals {
    pub fn new(t: &Totals, currency: Currency) -> Self {
        let money = |minor: i128| format_minor(currency, minor);
        Self {
            currency,
            orders: t.orders,
            revenue: money(t.revenue),
            refunds: money(t.refunds),
            net_revenue: money(t.net_revenue()),
            commission: money(t.commission),
            costs: money(t.costs),
        }
    }
}

/// The influencer report: one row per influencer, then the row of unattributed orders.
/// Totals add the rows up (a follower who clicked two influencers' links is a unique click
/// of each).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InfluencerReport {
    #[serde(flatten)]
    pub period: Period,
    /// The campaign the report is limited to, if any.
    #[schema(value_type = Option<String>)]
    pub campaign_id: Option<CampaignId>,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub rows: Vec<InfluencerRow>,
    pub totals: Figures,
    pub other_currencies: Vec<CurrencyTotals>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DailyReport {
    #[serde(flatten)]
    pub period: Period,
    pub influencer_id: String,
    pub handle: String,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub days: Vec<DayRow>,
    pub totals: Figures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkReport {
    #[serde(flatten)]
    pub period: Period,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub rows: Vec<LinkRow>,
    pub totals: Figures,
}

/// Why rows cannot be sorted as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SortError {
    #[error("order '{0}' is not asc or desc")]
    Order(String),
    #[error(
        "sort '{0}' is not a column of the report; sort by handle, clicks, unique_clicks, bot_clicks, \
             suspicious_clicks, suspicious_share, orders, conversion_rate, revenue, net_revenue, \
             commission, costs, total_cost, profit, roi or epc"
    )]
    Column(String),
}

/// A figure as a sortable number (`None` for a `null` ratio).
fn exact(n: i128) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(n, 0).ok()
}

/// Sorts influencer rows by a column, descending by default (`order=asc` to reverse);
/// rows without a value (a `null` ratio) go last either way.
pub fn sort_rows(
    rows: &mut [InfluencerRow],
    sort: Option<&str>,
    order: Option<&str>,
) -> Result<(), SortError> {
    let ascending = match order {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => return Err(SortError::Order(other.to_owned())),
    };
    let key: fn(&Totals) -> Option<Decimal> = match sort.unwrap_or("clicks") {
        "handle" => {
            // Names read A to Z unless asked otherwise.
            rows.sort_by(|a, b| a.handle.cmp(&b.handle));
            if order == Some("desc") {
                rows.reverse();
            }
            return Ok(());
        }
        "clicks" => |t| exact(t.clicks),
        "unique_clicks" => |t| exact(t.unique_clicks),
        "bot_clicks" => |t| exact(t.bot_clicks),
        "suspicious_clicks" => |t| exact(t.suspicious_clicks),
        "suspicious_share" => |t| t.suspicious_share().and_then(|r| Decimal::try_from(r).ok()),
        "orders" => |t| exact(t.orders),
        "conversion_rate" => |t| t.conversion_rate().and_then(|r| Decimal::try_from(r).ok()),
        "revenue" => |t| exact(t.revenue),
        "net_revenue" => |t| exact(t.net_revenue()),
        "commission" => |t| exact(t.commission),
        "costs" => |t| exact(t.costs),
        "total_cost" => |t| exact(t.total_cost()),
        "profit" => |t| exact(t.profit()),
        "roi" => |t| t.roi().and_then(|r| Decimal::try_from(r).ok()),
        "epc" => |t| {
            (t.clicks > 0)
                .then(|| exact(t.net_revenue())?.checked_div(exact(t.clicks)?))
                .flatten()
        },
        other => return Err(SortError::Column(other.to_owned())),
    };
    rows.sort_by(|a, b| {
        let ordering = match (key(&a.totals), key(&b.totals)) {
            (Some(x), Some(y)) => {
                let o = x.cmp(&y);
                if ascending { o } else { o.reverse() }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        ordering.then_with(|| a.handle.cmp(&b.handle))
    });
    Ok(())
}

/// A text cell that a spreadsheet shows as text: one starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be read as a formula (a handle `-2-3` becomes -5, `=HYPERLINK(..)`
/// a link), so it gets a leading `'`, as OWASP advises for CSV injection. Only text columns
/// (ids, handles, codes, names, notes) go through this; money and counts stay numbers, so a
/// profit of `-12.50` is still a number.
pub fn spreadsheet_text(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cells_that_spreadsheets_would_evaluate_get_a_leading_quote() {
        for (raw, safe) in [
            ("-2-3", "'-2-3"),
            ("=1+1", "'=1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+1", "'+1"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
        ] {
            assert_eq!(spreadsheet_text(raw), safe, "{raw:?}");
        }
        for plain in ["alice.bakes", "inf_9kVQmw3D713n", "2-3", "", "a=b"] {
            assert!(matches!(spreadsheet_text(plain), Cow::Borrowed(p) if p == plain));
        }
    }

    #[test]
    fn an_unknown_sort_column_or_order_is_named() {
        let mut rows = Vec::new();
        assert_eq!(
            sort_rows(&mut rows, Some("mood"), None),
            Err(SortError::Column("mood".to_owned()))
        );
        assert_eq!(
            sort_rows(&mut rows, None, Some("up")),
            Err(SortError::Order("up".to_owned()))
        );
    }
}
