//! Structured logs through `tracing`. Nothing logged carries a secret or a client address.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

tokio::task_local! {
    /// The id of the API or webhook request being served (see `routes::request_span`), so an
    /// error body can name the request its log lines belong to.
    pub static REQUEST_ID: String;
}

/// The id of the request being served, outside the redirect path.
pub fn request_id() -> Option<String> {
    REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .filter(|id| !id.is_empty())
}

pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `url` as it may be shown or logged: the user and password of `scheme://user:pass@host`
/// replaced by `***` (a URL that does not parse is cut the same way, by its text).
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn credentials_in_a_url_are_hidden_and_the_rest_kept() {
        for (given, shown) in [
            (
                "redis://:s3cret@redis.example:6379/0",
                "redis://***@redis.example:6379/0",
            ),
            ("http://u:pw@host:8080/x?y", "http://***@host:8080/x?y"),
            ("http://u:p@w@host/", "http://***@host/"),
            ("http://host/a@b", "http://host/a@b"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(without_credentials(given), shown, "{given}");
        }
    }
}
