//! The private `redis-server` that `reftrack serve` starts when no Redis URL is configured,
//! so the server runs on a fresh machine with one command.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

const READY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedRedisError {
    #[error(
        "redis-server is not installed, and no Redis is configured.\n  Install it (Debian/Ubuntu: \
         sudo apt-get install redis-server; macOS: brew install redis),\n  or point reftrack at a \
         running Redis with REFTRACK_REDIS__URL=redis://host:6379"
    )]
    NotInstalled,
    #[error(
        "a Redis is already serving {socket} (left running by an earlier reftrack?).\n  Stop it \
         with: redis-cli -s {socket} shutdown"
    )]
    AlreadyRunning { socket: String },
    #[error("could not prepare the data directory {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error("could not start redis-server: {0}")]
    Spawn(std::io::Error),
    #[error("redis-server did not become ready; see {log}")]
    NotReady { log: String },
}

/// A running private `redis-server`, listening on a Unix socket in the data directory (so it
/// never competes for a TCP port), with append-only persistence.
#[derive(Debug)]
pub struct EmbeddedRedis {
    child: Child,
    socket: PathBuf,
}

impl EmbeddedRedis {
    pub async fn start(data_dir: &Path) -> Result<Self, EmbeddedRedisError> {
        std::fs::create_dir_all(data_dir).map_err(|source| EmbeddedRedisError::DataDir {
            dir: data_dir.display().to_string(),
            source,
        })?;
        let dir = data_dir
            .canonicalize()
            .map_err(|source| EmbeddedRedisError::DataDir {
                dir: data_dir.display().to_string(),
                source,
            })?;
        let socket = dir.join("redis.sock");
        if ping(&socket).await {
            return Err(EmbeddedRedisError::AlreadyRunning {
                socket: socket.display().to_string(),
            });
        }
        let log = dir.join("redis.log");
        let child = Command::new("redis-server")
            .arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(&dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ])
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => EmbeddedRedisError::NotInstalled,
                _ => EmbeddedRedisError::Spawn(e),
            })?;
        let mut redis = Self { child, socket };
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            if ping(&redis.socket).await {
                return Ok(redis);
            }
            if let Ok(Some(_)) = redis.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = redis.child.start_kill();
        Err(EmbeddedRedisError::NotReady {
            log: log.display().to_string(),
        })
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// Asks Redis to shut down (it fsyncs its append-only file first) and waits for it.
    pub async fn stop(mut self) {
        let asked = async {
            let client = redis::Client::open(self.url()).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query_async(&mut conn).await;
            Some(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), asked).await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!("redis-server did not stop; killing it");
            let _ = self.child.kill().await;
        }
    }
}

async fn ping(socket: &Path) -> bool {
    if !socket.exists() {
        return false;
    }
    let attempt = async {
        let client = redis::Client::open(format!("redis+unix://{}", socket.display())).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Some(_))
    )
}
