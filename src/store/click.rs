//! A click as a redirect hands it to the click buffer: what its record and its counts are
//! made of.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::domain::ClickClass;

/// One answered redirect, as the redirect hands it over. Its id is given when it is summed,
/// so ids and records come in the same order.
#[derive(Debug, Clone, Copy)]
pub struct Click<'a> {
    pub code: &'a Arc<str>,
    pub influencer_id: &'a Arc<str>,
    pub at_ms: i64,
    /// The calendar day of the click in the reporting time zone.
    pub day: NaiveDate,
    pub class: ClickClass,
    /// Salted hash of the visitor's address and user agent, for unique counting.
    pub visitor: u64,
}

#[cfg(test)]
impl<'a> Click<'a> {
    /// A click of `class` on link `code` of `influencer`, on 2026-11-23 (UTC), for tests.
    pub(crate) fn for_test(
        code: &'a Arc<str>,
        influencer: &'a Arc<str>,
        class: ClickClass,
    ) -> Self {
        Click {
            code,
            influencer_id: influencer,
            at_ms: 1_795_400_000_000,
            day: NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date"),
            class,
            visitor: 7,
        }
    }
}
