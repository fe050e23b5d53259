//! Telling link-preview fetchers and crawlers from people.
//!
//! When a creator posts a link, the platform's preview fetcher (facebookexternalhit,
//! Twitterbot, Slackbot, WhatsApp, ...) requests it before any follower does; those hits must
//! not count as clicks. In-app browsers (Instagram, Facebook's FBAN and MetaIAB, TikTok) are
//! people and must count. Matching is a case-insensitive substring search for tokens that
//! only automated clients use.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::domain::ClickClass;

/// Tokens that mark an automated client.
const BOT_TOKENS: &[&str] = &[
    // Generic crawler words; "bot" covers Twitterbot, Slackbot, Discordbot, LinkedInBot,
    // TelegramBot, Googlebot, bingbot, Pinterestbot, redditbot, ...
    "bot",
    "crawl",
    "spider",
    "slurp",
    // Preview fetchers whose names lack those words.
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "meta-webindexer",
    "whatsapp",
    "slack-imgproxy",
    "skypeuripreview",
    "snapurlpreview",
    "embedly",
    "iframely",
    "vkshare",
    "preview",
    // HTTP libraries and command-line tools.
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "apache-httpclient",
    "okhttp",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "scrapy",
    // Crawlers announce a contact page in their user agent; browsers never do.
    "+http",
    "http://",
    "https://",
];

/// Tokens of headless browsers and browser-automation tools: scripted traffic that poses as
/// a browser, as bought clicks do. Such clicks are suspicious rather than bots.
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

/// Phones whose model names contain a bot token.
const HUMAN_EXCEPTIONS: &[&str] = &["cubot"];

static BOT_MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(BOT_TOKENS));
static HUMAN_MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(HUMAN_EXCEPTIONS));
static AUTOMATION_MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(AUTOMATION_TOKENS));

fn matcher(tokens: &[&str]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(tokens)
        .expect("the token lists are valid patterns")
}

/// Classifies a request by its `User-Agent`.
///
/// An empty or missing user agent counts as a person: no preview fetcher or crawler sends one,
/// and the test fixture (after isbot and crawler-user-agents) classifies it so. Scripted
/// traffic without a user agent is the fraud detector's concern, not this one's.
pub fn classify_user_agent(user_agent: &str) -> ClickClass {
    if BOT_MATCHER.is_match(user_agent) && !HUMAN_MATCHER.is_match(user_agent) {
        ClickClass::Bot
    } else if AUTOMATION_MATCHER.is_match(user_agent) {
        ClickClass::Suspicious
    } else {
        ClickClass::Human
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_fetchers_are_bots() {
        for ua in [
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "WhatsApp/2.23.20.0 A",
            "TelegramBot (like TwitterBot)",
            "curl/8.5.0",
        ] {
            assert_eq!(classify_user_agent(ua), ClickClass::Bot, "{ua}");
        }
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
    fn phones_named_like_bots_are_people() {
        let ua = "Mozilla/5.0 (Linux; Android 12; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36";
        assert_eq!(classify_user_agent(ua), ClickClass::Human);
    }
}
