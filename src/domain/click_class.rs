//! What kind of visitor a click came from.

/// Whether a click came from a person, a link-preview fetcher or crawler, or something scripted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClickClass {
    Human,
    Bot,
    /// Scripted or repeated: a headless browser, a repeat within the repeat window, or a
    /// burst. Counted apart from people's clicks, and not as a unique visitor.
    Suspicious,
}
