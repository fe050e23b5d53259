//! `rediss://`: reftrack talks TLS to a `redis-server --tls-port` whose certificate is signed
//! by a certificate authority made for the test (openssl), given as `redis.ca_file`; or, with
//! the `#insecure` form, without checking it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reftrack::config::Settings;
use reftrack::startup::Application;

use crate::helpers::{BROWSER, TestRedis, spawn_app_with, test_settings, wait_until};

/// A TLS-only redis-server (no plain port) with a certificate for 127.0.0.1 signed by a test
/// certificate authority. Killed when dropped.
struct TlsRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed to test TLS");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TlsRedis {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            d,
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=reftrack test CA",
                ],
            ]
            .concat(),
        );
        openssl(
            d,
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            d.join("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "san.ext",
            ],
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                "server.crt",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no", "--dir", "."])
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_until(
            "redis-server listens for TLS",
            Duration::from_secs(10),
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        Self { child, port, dir }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }
}

/// Points the settings at the TLS server: one server, whatever the suite runs against.
fn use_tls(settings: &mut Settings, url: String, ca_file: PathBuf) {
    settings.redis.url = url.into();
    settings.redis.cluster = false;
    settings.redis.ca_file = ca_file;
}

#[tokio::test]
async fn clicks_are_counted_over_tls_checked_against_the_configured_certificate_authority() {
    // Arrange
    let tls = TlsRedis::start();
    let url = format!("rediss://127.0.0.1:{}", tls.port);
    let app = spawn_app_with(|s| use_tls(s, url, tls.ca_file())).await;
    let influencer = app.influencer("alice").await;
    let code = app.link(&influencer, "https://shop.example/").await;

    // Act
    let response = app.click(&code, BROWSER).await;

    // Assert
    assert_eq!(response.status().as_u16(), 302);
    let row = app.wait_for_clicks(&influencer, 1).await;
    assert_eq!(row["clicks"], 1);
}

#[tokio::test]
async fn the_insecure_form_connects_to_a_self_signed_server_without_a_ca_file() {
    // Arrange
    let tls = TlsRedis::start();
    let url = format!("rediss://127.0.0.1:{}/#insecure", tls.port);

    // Act
    let app = spawn_app_with(|s| use_tls(s, url, PathBuf::new())).await;

    // Assert
    let influencer = app.influencer("alice").await;
    assert!(influencer.starts_with("inf_"));
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_authority_is_refused() {
    // Arrange
    let tls = TlsRedis::start();
    let redis = TestRedis::start();
    let mut settings = test_settings(&redis);
    use_tls(
        &mut settings,
        format!("rediss://127.0.0.1:{}", tls.port),
        PathBuf::new(),
    );

    // Act
    let built = Application::build(&settings).await;

    // Assert
    let error = format!("{:#}", built.expect_err("the certificate is not trusted"));
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}
