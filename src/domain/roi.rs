//! The return-on-investment arithmetic of a report row, in integers until the last step.
//!
//! Figures are kept as `i128` and every sum is checked against [`Totals::LIMIT`]: counters in
//! Redis are 64-bit, so adding a report's worth of them in 64 bits could wrap (defect 4 of
//! issue 12 showed totals turning negative), while 2^90 is far beyond any honest total and
//! still leaves room for the few steps after a sum (net revenue, total cost, profit) and for
//! `Decimal`'s 96-bit mantissa in the ratios.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::money::Currency;

/// Sums for one influencer (or day, or total) over a period, in one currency's minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub clicks: i128,
    pub unique_clicks: i128,
    pub bot_clicks: i128,
    /// Scripted, repeated or burst clicks, apart from `clicks`.
    pub suspicious_clicks: i128,
    pub orders: i128,
    pub revenue: i128,
    pub refunds: i128,
    /// Commission after refunds.
    pub commission: i128,
    /// Fees, gifted products, shipping and other costs.
    pub costs: i128,
    /// Counted orders attributed by click, and by coupon.
    pub click_orders: i128,
    pub coupon_orders: i128,
    /// Orders held for review, and their revenue: in none of the figures above.
    pub held_orders: i128,
    pub held_revenue: i128,
    /// Orders waiting for their click (on the unattributed row).
    pub pending_orders: i128,
}

/// A sum of report figures beyond [`Totals::LIMIT`]: an error to report, never a wrapped
/// number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a report total is beyond ±2^90 and cannot be added up exactly")]
pub struct Overflow;

/// `a + b`, refused beyond the limit.
pub fn checked_sum(a: i128, b: i128) -> Result<i128, Overflow> {
    a.checked_add(b)
        .filter(|sum| sum.unsigned_abs() <= Totals::LIMIT.unsigned_abs())
        .ok_or(Overflow)
}

impl Totals {
    /// The largest magnitude a figure may reach.
    pub const LIMIT: i128 = 1 << 90;

    /// Adds `other` field by field; on overflow `self` is left unchanged.
    pub fn add(&mut self, other: &Self) -> Result<(), Overflow> {
        *self = Self {
            clicks: checked_sum(self.clicks, other.clicks)?,
            unique_clicks: checked_sum(self.unique_clicks, other.unique_clicks)?,
            bot_clicks: checked_sum(self.bot_clicks, other.bot_clicks)?,
            suspicious_clicks: checked_sum(self.suspicious_clicks, other.suspicious_clicks)?,
            orders: checked_sum(self.orders, other.orders)?,
            revenue: checked_sum(self.revenue, other.revenue)?,
            refunds: checked_sum(self.refunds, other.refunds)?,
            commission: checked_sum(self.commission, other.commission)?,
            costs: checked_sum(self.costs, other.costs)?,
            click_orders: checked_sum(self.click_orders, other.click_orders)?,
            coupon_orders: checked_sum(self.coupon_orders, other.coupon_orders)?,
            held_orders: checked_sum(self.held_orders, other.held_orders)?,
            held_revenue: checked_sum(self.held_revenue, other.held_revenue)?,
            pending_orders: checked_sum(self.pending_orders, other.pending_orders)?,
        };
        Ok(())
    }

    /// Revenue less refunds. Cannot overflow: every field is within [`Self::LIMIT`].
    pub fn net_revenue(&self) -> i128 {
        self.revenue - self.refunds
    }

    /// Commission plus costs.
    pub fn total_cost(&self) -> i128 {
        self.commission + self.costs
    }

    /// Net revenue less total cost.
    pub fn profit(&self) -> i128 {
        self.net_revenue() - self.total_cost()
    }

    /// Suspicious clicks as a share of all clicks that looked like people's (human and
    /// suspicious); `None` without any.
    pub fn suspicious_share(&self) -> Option<f64> {
        ratio(self.suspicious_clicks, self.clicks + self.suspicious_clicks)
    }

    /// Orders per human click; `None` without clicks.
    pub fn conversion_rate(&self) -> Option<f64> {
        ratio(self.orders, self.clicks)
    }

    /// Profit per unit of total cost (1.5 means 150 %); `None` when nothing was spent.
    pub fn roi(&self) -> Option<f64> {
        ratio(self.profit(), self.total_cost())
    }

    /// Average order value: revenue per order, in minor units; `None` without orders.
    pub fn aov(&self) -> Option<i128> {
        (self.orders > 0).then(|| div_round(self.revenue, self.orders))
    }

    /// Earnings per click: net revenue per human click, as a decimal of the currency with two
    /// more places than its minor unit (cents of cents); `None` without clicks.
    pub fn epc(&self, currency: Currency) -> Option<String> {
        let places = currency.exponent() + 2;
        let net = Decimal::try_from_i128_with_scale(self.net_revenue(), currency.exponent());
        let clicks = Decimal::try_from_i128_with_scale(self.clicks, 0);
        match (net, clicks) {
            (Ok(net), Ok(clicks)) if self.clicks > 0 => {
                let mut epc = net.checked_div(clicks)?.round_dp(places);
                epc.rescale(places);
                Some(epc.to_string())
            }
            _ => None,
        }
    }
}

/// The decimal string of an amount in minor units (`-1250` USD is `-12.50`), for amounts of
/// any size: integer arithmetic only, so it cannot fail.
pub fn format_minor(currency: Currency, minor: i128) -> String {
    let exponent = currency.exponent();
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{magnitude}");
    }
    let scale = 10_u128.pow(exponent);
    let places = usize::try_from(exponent).unwrap_or(0);
    format!("{sign}{}.{:0places$}", magnitude / scale, magnitude % scale)
}

/// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
fn div_round(numerator: i128, denominator: i128) -> i128 {
    let half = denominator / 2;
    if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    }
}

/// `numerator / denominator` to four decimal places, as a number for JSON; `None` when the
/// denominator is zero.
fn ratio(numerator: i128, denominator: i128) -> Option<f64> {
    if denominator == 0 {
        return None;
    }
    let n = Decimal::try_from_i128_with_scale(numerator, 0).ok()?;
    let d = Decimal::try_from_i128_with_scale(denominator, 0).ok()?;
    n.checked_div(d)?.round_dp(4).to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Commission;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn percent_commission_and_gifted_product_costs_give_profit_and_roi() {
        // 3 orders of 100.00 at 10 % commission, a 50.00 fee and a 30.00 gifted product.
        let commission = 3 * i128::from(Commission::PercentBasisPoints(1000).earned(10_000, usd()));
        let t = Totals {
            clicks: 200,
            orders: 3,
            revenue: 30_000,
            commission,
            costs: 5_000 + 3_000,
            ..Totals::default()
        };
        assert_eq!(t.total_cost(), 11_000);
        assert_eq!(t.profit(), 19_000);
        assert_eq!(t.roi(), Some(1.7273));
        assert_eq!(t.conversion_rate(), Some(0.015));
        assert_eq!(t.aov(), Some(10_000));
        assert_eq!(t.epc(usd()).as_deref(), Some("1.5000"));
    }

    #[test]
    fn flat_commission_and_refunds_reduce_profit() {
        let t = Totals {
            clicks: 3,
            orders: 2,
            revenue: 10_000,
            refunds: 2_500,
            commission: 2 * i128::from(Commission::FlatHundredths(500).earned(5_000, usd())),
            costs: 0,
            ..Totals::default()
        };
        assert_eq!(t.net_revenue(), 7_500);
        assert_eq!(t.profit(), 6_500);
        assert_eq!(t.roi(), Some(6.5));
        assert_eq!(t.epc(usd()).as_deref(), Some("25.0000"));
    }

    #[test]
    fn ratios_without_a_denominator_are_none_not_infinite() {
        let t = Totals {
            revenue: 5_000,
            ..Totals::default()
        };
        assert_eq!(t.roi(), None, "zero cost");
        assert_eq!(t.conversion_rate(), None);
        assert_eq!(t.suspicious_share(), None);
        assert_eq!(t.aov(), None);
        assert_eq!(t.epc(usd()), None);
    }

    #[test]
    fn a_loss_is_a_negative_roi() {
        let t = Totals {
            costs: 10_000,
            revenue: 2_500,
            ..Totals::default()
        };
        assert_eq!(t.roi(), Some(-0.75));
    }

    #[test]
    fn sums_of_the_largest_counters_stay_exact_instead_of_wrapping() {
        let huge = Totals {
            clicks: i64::MAX.into(),
            orders: i64::MAX.into(),
            revenue: i64::MAX.into(),
            commission: i64::MAX.into(),
            ..Totals::default()
        };
        let mut sum = Totals::default();
        sum.add(&huge).unwrap();
        sum.add(&huge).unwrap();
        assert_eq!(sum.revenue, 2 * i128::from(i64::MAX));
        assert_eq!(
            format_minor(usd(), sum.revenue),
            "184467440737095516.14",
            "twice i64::MAX cents, not a negative wrap"
        );
        assert_eq!(sum.profit(), 0);
        assert_eq!(sum.roi(), Some(0.0));
        assert_eq!(sum.conversion_rate(), Some(1.0));
        assert_eq!(sum.aov(), Some(1));
        assert_eq!(sum.epc(usd()).as_deref(), Some("0.0100"));
    }

    #[test]
    fn a_sum_beyond_the_limit_is_an_error_and_leaves_the_totals_unchanged() {
        let mut t = Totals {
            revenue: Totals::LIMIT,
            ..Totals::default()
        };
        let before = t;
        let one = Totals {
            revenue: 1,
            ..Totals::default()
        };
        assert_eq!(t.add(&one), Err(Overflow));
        assert_eq!(t, before);
        assert_eq!(checked_sum(i128::MAX, 1), Err(Overflow));
        assert_eq!(checked_sum(-Totals::LIMIT, -1), Err(Overflow));
    }

    #[test]
    fn amounts_format_with_the_currencys_places_and_sign() {
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(format_minor(usd(), -1250), "-12.50");
        assert_eq!(format_minor(usd(), -5), "-0.05");
        assert_eq!(format_minor(usd(), 0), "0.00");
        assert_eq!(format_minor(jpy, 3000), "3000");
        assert_eq!(format_minor(kwd, 1), "0.001");
        for minor in [-123_456_i64, -1, 0, 7, 99_999_999] {
            assert_eq!(format_minor(usd(), minor.into()), usd().format(minor));
        }
    }
}
