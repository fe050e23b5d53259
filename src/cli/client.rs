//! The admin API client behind the command-line commands, and the errors people see.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::telemetry::without_credentials;

/// Most pages a command follows before stopping: a list of more than this many pages of a
/// thousand is not something to print in a terminal.
const MAX_PAGES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("'{0}' is not a server URL (set --url or REFTRACK_URL, e.g. http://127.0.0.1:8080)")]
    BadUrl(String),
    #[error(
        "no admin token: pass --token, or set REFTRACK_TOKEN or REFTRACK_ADMIN__TOKEN \
         (`reftrack serve` prints one and keeps it in <data dir>/admin_token)"
    )]
    NoToken,
    #[error("cannot reach reftrack at {url}: is the server running? (set --url or REFTRACK_URL)")]
    Unreachable { url: String },
    #[error("the server refused the admin token (check --token or REFTRACK_TOKEN)")]
    Unauthorized,
    #[error(
        "{url} answered {status} without a reftrack error: is --url (or REFTRACK_URL) the \
         address of a reftrack server? It should be the base, e.g. http://127.0.0.1:8080"
    )]
    NotReftrack { url: String, status: u16 },
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
    #[error("{0}")]
    Usage(String),
}

pub struct ApiClient {
    base: Url,
    token: String,
    http: reqwest::Client,
}

/// Without the token, and the URL without credentials.
impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.shown_base())
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, CliError> {
        let bad = || CliError::BadUrl(without_credentials(url));
        let mut base = Url::parse(url).map_err(|_| bad())?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad());
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(CliError::NoToken)?
            .to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| CliError::Unexpected(e.to_string()))?;
        Ok(Self { base, token, http })
    }

    /// The server's URL as messages show it: without a user or password it may carry.
    fn shown_base(&self) -> String {
        without_credentials(self.base.as_str())
    }

    fn url(&self, path: &str) -> Result<Url, CliError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| CliError::Usage(format!("bad request path {path}: {e}")))
    }

    /// Sends a request; a failure becomes the error a person can act on: the server's own
    /// message when it is reftrack's, else what the address seems to be.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, CliError> {
        let mut request = self.http.request(method, self.url(path)?);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                CliError::Unreachable {
                    url: self.shown_base(),
                }
            } else {
                CliError::Unexpected(e.without_url().to_string())
            }
        })?;
        match response.status() {
            status if status.is_success() => Ok(response),
            StatusCode::UNAUTHORIZED => Err(CliError::Unauthorized),
            status => {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let text = |field: &str| body["error"][field].as_str().map(str::to_owned);
                match (text("code"), text("message")) {
                    (Some(code), Some(message)) if !message.is_empty() => Err(CliError::Api {
                        status: status.as_u16(),
                        code,
                        message,
                    }),
                    _ => Err(CliError::NotReftrack {
                        url: self.shown_base(),
                        status: status.as_u16(),
                    }),
                }
            }
        }
    }

    async fn json(response: reqwest::Response) -> Result<Value, CliError> {
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        response
            .json()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        Self::json(self.send(Method::GET, path, None).await?).await
    }

    pub async fn get_text(&self, path: &str) -> Result<String, CliError> {
        let response = self.send(Method::GET, path, None).await?;
        response
            .text()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        Self::json(self.send(Method::PUT, path, Some(body)).await?).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        Self::json(self.send(Method::POST, path, Some(body)).await?).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        Self::json(self.send(Method::PATCH, path, Some(body)).await?).await
    }

    /// A `DELETE`; the answer's body, or `null` for 204 No Content.
    pub async fn delete(&self, path: &str) -> Result<Value, CliError> {
        Self::json(self.send(Method::DELETE, path, None).await?).await
    }

    /// Every item of a paged list (`path` may hold a query): follows `next_cursor` to the
    /// last page, a thousand at a time.
    pub async fn all(&self, path: &str, field: &str) -> Result<Vec<Value>, CliError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let after = cursor
                .as_deref()
                .map_or_else(String::new, |c| format!("&cursor={}", encode(c)));
            let page = self
                .get(&format!("{path}{separator}limit=1000{after}"))
                .await?;
            items.extend(page[field].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
        Err(CliError::Usage(format!(
            "more than {MAX_PAGES} pages of {field}: narrow the list (see --help)"
        )))
    }
}

/// Percent-encodes a path segment or query value.
pub fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::ApiClient;

    #[test]
    fn a_client_prints_neither_its_token_nor_its_urls_password() {
        let client = ApiClient::new(
            "http://operator:URL-PASSWORD@127.0.0.1:8080",
            Some("ADMIN-TOKEN-0123456789"),
        )
        .unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("URL-PASSWORD"), "{printed}");
        assert!(!printed.contains("ADMIN-TOKEN"), "{printed}");
        assert!(printed.contains("127.0.0.1:8080"), "{printed}");
    }
}
