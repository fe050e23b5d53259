//! The Lua scripts, each run atomically on the one slot its keys share.

use redis::Script;

pub(crate) struct Scripts {
    pub apply_counts: Script,
    pub save_influencer: Script,
    pub create_link: Script,
    pub update_link: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            apply_counts: Script::new(include_str!("lua/apply_counts.lua")),
            save_influencer: Script::new(include_str!("lua/save_influencer.lua")),
            create_link: Script::new(include_str!("lua/create_link.lua")),
            update_link: Script::new(include_str!("lua/update_link.lua")),
        }
    }
}
