//! Telling link-preview fetchers and crawlers from people.
//!
//! When a creator posts a link, the platform's preview fetcher (facebookexternalhit,
//! Twitterbot, Slackbot, WhatsApp, Viber, Bluesky, ...) requests it before any follower does;
//! those hits must not count as clicks. The patterns come from
//! [crawler-user-agents](https://github.com/monperrus/crawler-user-agents) (MIT), vendored in
//! `vendor/crawler-user-agents/` and compiled into the binary; the README says how to update
//! it. reftrack's own rules sit on top only where that list is wrong for counting clicks:
//!
//! - in-app browsers (Instagram, Facebook's `FBAN`/`FBAV`/`MetaIAB`, TikTok's) are people, even
//!   when the list flags them (it flags one Android build id that many phones share);
//! - headless browsers and automation tools are suspicious (scripted traffic posing as a
//!   browser, as bought clicks are), not bots;
//! - patterns in [`NOT_CRAWLERS`] name ordinary phones, not crawlers, and are left out.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::domain::ClickClass;

/// crawler-user-agents' list, as vendored.
pub const CRAWLER_USER_AGENTS: &str =
    include_str!("../../vendor/crawler-user-agents/crawler-user-agents.json");

/// Patterns of the list that match ordinary phones' browsers: Android build ids shared by
/// many devices.
const NOT_CRAWLERS: &[&str] = &[r"AP3A\.240617\.008"];

/// Tokens of in-app browsers: a follower who taps a link inside the app.
const IN_APP_TOKENS: &[&str] = &[
    "instagram",
    "fban/",
    "fbav/",
    "fb_iab",
    "metaiab",
    // TikTok's in-app browser; its crawler, TikTokSpider, stays a bot.
    "bytedancewebview",
    "musical_ly",
    "trill_",
];

/// Tokens of headless browsers and browser-automation tools.
const AUTOMATION_TOKENS: &[&str] = &[
    "headlesschrome",
    "headless",
    "phantomjs",
    "slimerjs",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "cypress",
    "htmlunit",
    "nightmare",
];

#[derive(Deserialize)]
struct Entry {
    pattern: String,
}

/// The list's patterns but [`NOT_CRAWLERS`], in two parts: the plain strings (most of them)
/// searched for at once, and the few true expressions as one expression, so matching a user
/// agent costs about a microsecond.
struct Crawlers {
    literals: AhoCorasick,
    expressions: Regex,
}

impl Crawlers {
    fn load() -> Self {
        let entries: Vec<Entry> =
            serde_json::from_str(CRAWLER_USER_AGENTS).expect("the vendored list is JSON");
        let mut literals = Vec::new();
        let mut expressions = Vec::new();
        for entry in entries
            .iter()
            .filter(|e| !NOT_CRAWLERS.contains(&e.pattern.as_str()))
        {
            match literal(&entry.pattern) {
                Some(text) => literals.push(text),
                None => expressions.push(format!("(?:{})", entry.pattern)),
            }
        }
        Self {
            literals: AhoCorasickBuilder::new()
                .kind(Some(AhoCorasickKind::DFA))
                .build(&literals)
                .expect("the list's strings are valid patterns"),
            expressions: RegexBuilder::new(&expressions.join("|"))
                .unicode(false)
                .build()
                .expect("the vendored patterns compile"),
        }
    }

    fn is_match(&self, user_agent: &[u8]) -> bool {
        self.literals.is_match(user_agent) || self.expressions.is_match(user_agent)
    }
}

/// The text a pattern matches when it is a plain string (escaped punctuation allowed).
fn literal(pattern: &str) -> Option<String> {
    let mut text = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if escaped.is_ascii_punctuation() => text.push(escaped),
                _ => return None,
            },
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => {
                return None;
            }
            other => text.push(other),
        }
    }
    (!text.is_empty()).then_some(text)
}

static CRAWLERS: LazyLock<Crawlers> = LazyLock::new(Crawlers::load);
static IN_APP: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(IN_APP_TOKENS));
static AUTOMATION: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(AUTOMATION_TOKENS));

fn matcher(tokens: &[&str]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(tokens)
        .expect("the token lists are valid patterns")
}

/// Compiles the patterns now, so the first redirect does not pay for it.
pub fn prepare() {
    LazyLock::force(&CRAWLERS);
    LazyLock::force(&IN_APP);
    LazyLock::force(&AUTOMATION);
}

/// User agents whose class each worker thread remembers; it forgets them all when full.
const REMEMBERED: usize = 2048;

/// Longest user agent remembered (real ones are under 300 bytes).
const REMEMBERED_LEN: usize = 512;

thread_local! {
    /// Followers' user agents repeat (a few browser builds make most traffic), so each is
    /// matched against the list once per thread, not on every redirect.
    static SEEN: RefCell<HashMap<Box<str>, ClickClass>> = RefCell::new(HashMap::new());
}

/// Classifies a request by its `User-Agent`.
///
/// An empty or missing user agent counts as a person: no preview fetcher or crawler sends one,
/// and neither list flags it. Scripted traffic without a user agent is the fraud detector's
/// concern, not this one's.
pub fn classify_user_agent(user_agent: &str) -> ClickClass {
    if user_agent.len() > REMEMBERED_LEN {
        return classify(user_agent);
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(class) = seen.get(user_agent) {
            return *class;
        }
        let class = classify(user_agent);
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        seen.insert(user_agent.into(), class);
        class
    })
}

fn classify(user_agent: &str) -> ClickClass {
    let ua = user_agent.as_bytes();
    if AUTOMATION.is_match(ua) {
        ClickClass::Suspicious
    } else if IN_APP.is_match(ua) || !CRAWLERS.is_match(ua) {
        ClickClass::Human
    } else {
        ClickClass::Bot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Listed {
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        instances: Vec<String>,
    }

    #[test]
    fn at_least_97_percent_of_the_lists_social_preview_fetchers_are_bots() {
        let listed: Vec<Listed> = serde_json::from_str(CRAWLER_USER_AGENTS).unwrap();
        let instances: Vec<&String> = listed
            .iter()
            .filter(|e| e.tags.iter().any(|t| t == "social-preview"))
            .flat_map(|e| &e.instances)
            .collect();
        let humans: Vec<&&String> = instances
            .iter()
            .filter(|ua| classify_user_agent(ua) != ClickClass::Bot)
            .collect();
        let bots = instances.len() - humans.len();
        assert!(instances.len() >= 100, "{} instances", instances.len());
        assert!(
            bots * 100 >= instances.len() * 97,
            "{bots} of {} are bots; counted otherwise: {humans:#?}",
            instances.len()
        );
    }

    #[test]
    fn preview_fetchers_the_hand_kept_list_missed_are_bots() {
        for ua in [
            "Viber",
            "BlueskyPreviewBot/1.0",
            "meta-externalfetcher/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            "Tumblr/14.0.835.186",
            "Hatena Antenna/0.3",
            "Valve/Steam HTTP Client 1.0 (SteamChatURLLookup)",
            "Discourse Forum Onebox v3.3.0.beta1-dev",
            "github-camo (c006e452)",
            "FastmailUA/1.0",
            "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; TikTokSpider; ttspider-feedback@tiktok.com)",
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "TwilioProxy/1.1",
            "curl/8.5.0",
        ] {
            assert_eq!(classify_user_agent(ua), ClickClass::Bot, "{ua}");
        }
    }

    #[test]
    fn a_remembered_user_agent_keeps_its_class_and_the_memory_stays_bounded() {
        for ua in [
            "Twitterbot/1.0",
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0",
            "",
        ] {
            assert_eq!(classify_user_agent(ua), classify(ua), "{ua}");
            assert_eq!(classify_user_agent(ua), classify(ua), "{ua}, remembered");
        }
        for i in 0..REMEMBERED + 10 {
            classify_user_agent(&format!("Mozilla/5.0 build {i}"));
        }
        assert!(SEEN.with_borrow(HashMap::len) <= REMEMBERED);
    }

    #[test]
    fn headless_browsers_and_automation_tools_are_suspicious() {
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36 Playwright/1.40",
        ] {
            assert_eq!(classify_user_agent(ua), ClickClass::Suspicious, "{ua}");
        }
    }

    #[test]
    fn in_app_browsers_and_phones_named_like_bots_are_people() {
        for ua in [
            "Mozilla/5.0 (Linux; Android 12; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 15; CPH2557 Build/AP3A.240617.008; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/142.0.7444.142 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL Build/CP1A.260305.018; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/146.0.7680.174 Mobile Safari/537.36 MetaIAB Facebook",
            "",
        ] {
            assert_eq!(classify_user_agent(ua), ClickClass::Human, "{ua}");
        }
    }
}
