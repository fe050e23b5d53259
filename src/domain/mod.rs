//! Domain types that parse outside input once, at the edge, so the rest of the code only ever
//! handles values that are already known to be valid.

mod attribution;
mod campaign;
mod click_class;
mod commission;
mod cost;
mod coupon;
mod date_range;
mod destination;
mod handle;
mod hidden_char;
mod ids;
mod link_code;
mod money;
mod net;
mod order;
mod range_reads;
mod report;
mod review;
mod roi;

pub use attribution::{
    AttributedBy, Attribution, AttributionPolicy, AttributionPriority, AttributionReason, Evidence,
    SeenClick, Window,
};
pub use campaign::{Campaign, CampaignError, CampaignId};
pub use click_class::ClickClass;
pub use commission::{Commission, CommissionError, CommissionInput, DecimalText};
pub use cost::{Cost, CostId, CostKind};
pub use coupon::{CouponCode, CouponCodeError};
pub use date_range::{Bucket, DateRange, DateRangeError};
pub use destination::{Destination, DestinationError};
pub use handle::{Handle, HandleError};
pub use hidden_char::{code_point, hidden_char, is_hidden};
pub use ids::{ClickId, IdSpace, InfluencerId, random_string};
pub use link_code::{LinkCode, LinkCodeError};
pub use money::{Currency, MAX_AMOUNT_MINOR, MoneyError, plain_decimal};
pub use net::canonical_net;
pub use order::{
    Buyer, ChangeBy, Order, OrderError, OrderEvent, OrderFacts, OrderFigures, OrderKey, OrderOwner,
    OrderStatus, Platform, RefundAmount, ReviewError,
};
pub use range_reads::{Reads, Sign};
pub use report::{
    CurrencyTotals, DailyReport, DayRow, FIGURE_COLUMNS, Figures, InfluencerReport, InfluencerRow,
    LinkReport, LinkRow, Period, SortError, sort_rows, spreadsheet_text,
};
pub use review::{Actor, Change, ChangeKind, Decision, Flag, MAX_HISTORY, MAX_NOTE_CHARS, Review};
pub use roi::{Overflow, Totals, checked_sum, format_minor};
