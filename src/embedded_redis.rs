//! The private `redis-server` that `reftrack serve` starts when no Redis URL is configured,
//! so the server runs on a fresh machine with one command.
//!
//! One reftrack owns a data directory at a time: it holds a lock on `reftrack.lock` there
//! (with its pid in it) for as long as it runs, and the kernel releases the lock when the
//! process ends, however it ends. A redis-server found answering in a directory whose lock is
//! free was left by a reftrack that was killed (`kill -9`): it is shut down (its data saved)
//! and a fresh one started.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read as _, Seek as _, Write as _};
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
        "another reftrack{pid} is running with its data in {dir}.\n  Use that server, stop it \
         (Ctrl-C in its terminal, or kill{kill_pid}), or give this one a data directory and port \
         of its own:\n    REFTRACK_REDIS__DATA_DIR=./data2 REFTRACK_CLICKS__SPOOL_DIR=./data2/spool \
         REFTRACK_HTTP__BIND=127.0.0.1:8081 reftrack serve"
    )]
    Owned {
        dir: String,
        pid: String,
        kill_pid: String,
    },
    #[error(
        "a redis-server left running by an earlier reftrack in {dir} did not stop when asked; \
         see {log}"
    )]
    OrphanStillRunning { dir: String, log: String },
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
    /// Held while this process runs; the kernel releases it when the process ends.
    _lock: File,
}

impl EmbeddedRedis {
    pub async fn start(data_dir: &Path) -> Result<Self, EmbeddedRedisError> {
        crate::private_files::create_dir(data_dir).map_err(|source| {
            EmbeddedRedisError::DataDir {
                dir: data_dir.display().to_string(),
                source,
            }
        })?;
        let dir = data_dir
            .canonicalize()
            .map_err(|source| EmbeddedRedisError::DataDir {
                dir: data_dir.display().to_string(),
                source,
            })?;
        let lock = lock(&dir)?;
        let socket = dir.join("redis.sock");
        let log = dir.join("redis.log");
        if ping(&socket).await {
            tracing::warn!(
                dir = %dir.display(),
                "a redis-server left running by an earlier reftrack (killed?) is answering; \
                 shutting it down (its data is saved) to start a fresh one"
            );
            if !shut_down(&socket).await {
                return Err(EmbeddedRedisError::OrphanStillRunning {
                    dir: dir.display().to_string(),
                    log: log.display().to_string(),
                });
            }
        }
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
        let mut redis = Self {
            child,
            socket,
            _lock: lock,
        };
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
        ask_to_shut_down(&self.socket).await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!("redis-server did not stop; killing it");
            let _ = self.child.kill().await;
        }
    }
}

/// Takes the data directory's lock, or says who holds it.
fn lock(dir: &Path) -> Result<File, EmbeddedRedisError> {
    let path = dir.join("reftrack.lock");
    let data_dir = |source| EmbeddedRedisError::DataDir {
        dir: dir.display().to_string(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(data_dir)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let valid = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
            return Err(EmbeddedRedisError::Owned {
                dir: dir.display().to_string(),
                pid: if valid {
                    format!(" (pid {pid})")
                } else {
                    String::new()
                },
                kill_pid: if valid {
                    format!(" {pid}")
                } else {
                    String::new()
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(data_dir(e)),
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(data_dir)?;
    Ok(file)
}

/// Sends `SHUTDOWN` (Redis saves its data first) to the server on `socket`.
async fn ask_to_shut_down(socket: &Path) {
    let asked = async {
        let client = redis::Client::open(format!("redis+unix://{}", socket.display())).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query_async(&mut conn).await;
        Some(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), asked).await;
}

/// Shuts down a redis-server this process did not start, and waits until it stopped
/// answering.
async fn shut_down(socket: &Path) -> bool {
    ask_to_shut_down(socket).await;
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if !ping(socket).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
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
