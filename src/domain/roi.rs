//! The return-on-investment arithmetic of a report row, in integers until the last step.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::money::{Currency, div_round};

/// Sums for one influencer (or day, or total) over a period, in one currency's minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub clicks: u64,
    pub unique_clicks: u64,
    pub bot_clicks: u64,
    /// Scripted, repeated or burst clicks, apart from `clicks`.
    pub suspicious_clicks: u64,
    pub orders: i64,
    pub revenue: i64,
    pub refunds: i64,
    /// Commission after refunds.
    pub commission: i64,
    /// Fees, gifted products, shipping and other costs.
    pub costs: i64,
}

impl Totals {
    pub fn add(&mut self, other: &Self) {
        self.clicks += other.clicks;
        self.unique_clicks += other.unique_clicks;
        self.bot_clicks += other.bot_clicks;
        self.suspicious_clicks += other.suspicious_clicks;
        self.orders += other.orders;
        self.revenue += other.revenue;
        self.refunds += other.refunds;
        self.commission += other.commission;
        self.costs += other.costs;
    }

    pub fn net_revenue(&self) -> i64 {
        self.revenue - self.refunds
    }

    /// Commission plus costs.
    pub fn total_cost(&self) -> i64 {
        self.commission + self.costs
    }

    /// Net revenue less total cost.
    pub fn profit(&self) -> i64 {
        self.net_revenue() - self.total_cost()
    }

    /// Suspicious clicks as a share of all clicks that looked like people's (human and
    /// suspicious); `None` without any.
    pub fn suspicious_share(&self) -> Option<f64> {
        ratio(
            self.suspicious_clicks.into(),
            (self.clicks + self.suspicious_clicks).into(),
        )
    }

    /// Orders per human click; `None` without clicks.
    pub fn conversion_rate(&self) -> Option<f64> {
        ratio(self.orders.into(), self.clicks.into())
    }

    /// Profit per unit of total cost (1.5 means 150 %); `None` when nothing was spent.
    pub fn roi(&self) -> Option<f64> {
        ratio(self.profit().into(), self.total_cost().into())
    }

    /// Average order value: revenue per order, in minor units; `None` without orders.
    pub fn aov(&self) -> Option<i64> {
        (self.orders > 0).then(|| {
            let avg = div_round(i128::from(self.revenue), i128::from(self.orders));
            i64::try_from(avg).unwrap_or(i64::MAX)
        })
    }

    /// Earnings per click: net revenue per human click, as a decimal of the currency with two
    /// more places than its minor unit (cents of cents); `None` without clicks.
    pub fn epc(&self, currency: Currency) -> Option<String> {
        (self.clicks > 0).then(|| {
            let places = currency.exponent() + 2;
            let net = Decimal::new(self.net_revenue(), currency.exponent());
            let mut epc = (net / Decimal::from(self.clicks)).round_dp(places);
            epc.rescale(places);
            epc.to_string()
        })
    }
}

/// `numerator / denominator` to four decimal places, as a number for JSON.
fn ratio(numerator: i128, denominator: i128) -> Option<f64> {
    if denominator == 0 {
        return None;
    }
    let n = Decimal::from_i128_with_scale(numerator, 0);
    let d = Decimal::from_i128_with_scale(denominator, 0);
    (n / d).round_dp(4).to_f64()
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
        let commission = 3 * Commission::PercentBasisPoints(1000).earned(10_000, usd());
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
            commission: 2 * Commission::FlatHundredths(500).earned(5_000, usd()),
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
}
