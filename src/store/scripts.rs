//! The Lua scripts, each run atomically on the one slot its keys share.

use redis::Script;

use super::keys::field;

/// The checks every script that changes counters or indexes runs before its first write
/// (argument bounds, counters' bounds, the types of keys it writes without reading).
const CHECKS: &str = include_str!("lua/checks.lua");

/// A script with the shared checks in front of it, and the field that keeps a counters hash a
/// hash table ([`field::TABLE`]) named for them.
fn checked(body: &str) -> Script {
    Script::new(&checked_source(body))
}

/// The source of a counter-changing script as reftrack loads it: `body` (a script of
/// `store/lua/`) behind the shared checks and the names they use, for a test that runs a
/// script on its own.
pub fn checked_source(body: &str) -> String {
    format!(
        "local TABLE_FIELD, TABLE_NOTE = '{}', '{}'\n{CHECKS}{body}",
        field::TABLE,
        field::TABLE_NOTE
    )
}

pub(crate) struct Scripts {
    pub apply_counts: Script,
    pub save_influencer: Script,
    pub create_link: Script,
    pub update_link: Script,
    pub save_order: Script,
    pub apply_order: Script,
    pub add_coupon: Script,
    pub remove_coupon: Script,
    pub add_cost: Script,
    pub delete_cost: Script,
    pub stage_clicks: Script,
    pub apply_staged_clicks: Script,
    pub merge_sketch: Script,
    pub merge_days: Script,
    pub drop_sketch: Script,
    pub clear_if: Script,
    pub lease: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            apply_counts: checked(include_str!("lua/apply_counts.lua")),
            save_influencer: checked(include_str!("lua/save_influencer.lua")),
            create_link: checked(include_str!("lua/create_link.lua")),
            update_link: checked(include_str!("lua/update_link.lua")),
            save_order: Script::new(include_str!("lua/save_order.lua")),
            apply_order: checked(include_str!("lua/apply_order.lua")),
            add_coupon: checked(include_str!("lua/add_coupon.lua")),
            remove_coupon: checked(include_str!("lua/remove_coupon.lua")),
            add_cost: checked(include_str!("lua/add_cost.lua")),
            delete_cost: checked(include_str!("lua/delete_cost.lua")),
            stage_clicks: checked(include_str!("lua/stage_clicks.lua")),
            apply_staged_clicks: checked(include_str!("lua/apply_staged_clicks.lua")),
            merge_sketch: Script::new(include_str!("lua/merge_sketch.lua")),
            merge_days: Script::new(include_str!("lua/merge_days.lua")),
            drop_sketch: Script::new(include_str!("lua/drop_sketch.lua")),
            clear_if: Script::new(include_str!("lua/clear_if.lua")),
            lease: checked(include_str!("lua/lease.lua")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn the_table_field_fits_in_a_lua_string_and_is_too_long_for_a_redis_list() {
        for text in [field::TABLE, field::TABLE_NOTE] {
            assert!(!text.contains(['\'', '\\', '\n']), "{text}");
        }
        assert!(field::TABLE_NOTE.len() > 64, "{}", field::TABLE_NOTE.len());
    }
}
