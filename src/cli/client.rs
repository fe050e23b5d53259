//! The admin API client behind the command-line commands, and the errors people see.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("'{0}' is not a server URL (set --url or REFTRACK_URL, e.g. http://127.0.0.1:8080)")]
    BadUrl(String),
    #[error("no admin token: pass --token or set REFTRACK_TOKEN (`reftrack serve` prints one)")]
    NoToken,
    #[error("cannot reach reftrack at {url}: is the server running? (set --url or REFTRACK_URL)")]
    Unreachable { url: String },
    #[error("the server refused the admin token (check --token or REFTRACK_TOKEN)")]
    Unauthorized,
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

#[derive(Debug)]
pub struct ApiClient {
    base: Url,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, CliError> {
        let bad = || CliError::BadUrl(url.to_owned());
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

    fn url(&self, path: &str) -> Result<Url, CliError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| CliError::Usage(format!("bad request path {path}: {e}")))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                CliError::Unreachable {
                    url: self.base.to_string(),
                }
            } else {
                CliError::Unexpected(e.to_string())
            }
        })?;
        match response.status() {
            status if status.is_success() => Ok(response),
            StatusCode::UNAUTHORIZED => Err(CliError::Unauthorized),
            status => {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let text =
                    |field: &str| body["error"][field].as_str().unwrap_or_default().to_owned();
                Err(CliError::Api {
                    status: status.as_u16(),
                    code: text("code"),
                    message: text("message"),
                })
            }
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        let response = self.send(self.http.get(self.url(path)?)).await?;
        response
            .json()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))
    }

    pub async fn get_text(&self, path: &str) -> Result<String, CliError> {
        let response = self.send(self.http.get(self.url(path)?)).await?;
        response
            .text()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let response = self.send(self.http.put(self.url(path)?).json(body)).await?;
        response
            .json()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let response = self
            .send(self.http.post(self.url(path)?).json(body))
            .await?;
        response
            .json()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))
    }
}
