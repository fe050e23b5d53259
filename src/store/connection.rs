//! The connection to Redis: one server, or a Redis Cluster.
//!
//! Both are multiplexed, reconnect by themselves and are cheap to clone, and both speak
//! through [`redis::aio::ConnectionLike`], so every read and write in the store is written
//! once. What differs is routing: a cluster client sends a command to the node owning its
//! key's slot, and a pipeline must stay within one slot. [`SlotPipeline`] is how the store
//! sends work that touches many slots.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{
    MultipleNodeRoutingInfo, Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr,
};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, TlsCertificates, Value};

use crate::config::RedisSettings;

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisTarget<'a> {
    /// One URL, or with `cluster`, one or more seed node URLs.
    pub urls: Vec<&'a str>,
    pub cluster: bool,
    /// Deadline of every call (including a cluster client's retries and redirections).
    pub timeout: Duration,
    /// Replicas that must hold a click batch or an order before it counts as written.
    pub wait_replicas: u32,
    /// A PEM file of the certificate authorities `rediss://` servers are checked against;
    /// empty: the system's.
    pub ca_file: &'a Path,
}

/// The URLs without their passwords.
impl std::fmt::Debug for RedisTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self
            .urls
            .iter()
            .map(|u| crate::telemetry::without_credentials(u))
            .collect();
        f.debug_struct("RedisTarget")
            .field("urls", &urls)
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .field("wait_replicas", &self.wait_replicas)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl<'a> RedisTarget<'a> {
    /// The target the settings name.
    pub fn of(settings: &'a RedisSettings) -> Self {
        Self {
            urls: settings.urls(),
            cluster: settings.cluster,
            timeout: settings.timeout(),
            wait_replicas: settings.wait_replicas,
            ca_file: &settings.ca_file,
        }
    }
}

impl RedisTarget<'_> {
    /// The certificate authorities of `ca_file`, if one is set.
    fn certificates(&self) -> RedisResult<Option<TlsCertificates>> {
        if self.ca_file.as_os_str().is_empty() {
            return Ok(None);
        }
        let pem = std::fs::read(self.ca_file).map_err(|e| {
            redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "cannot read redis.ca_file",
                format!("{}: {e}", self.ca_file.display()),
            ))
        })?;
        Ok(Some(TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        }))
    }
}

/// How many replicas must hold a write before it counts, and how long to wait for them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replication {
    pub replicas: u32,
    pub timeout: Duration,
}

impl Replication {
    /// The primary's acknowledgement is enough (and what reads use).
    pub const NONE: Self = Self {
        replicas: 0,
        timeout: Duration::ZERO,
    };
}

#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    pub async fn open(target: &RedisTarget<'_>) -> RedisResult<Self> {
        let timeout = target.timeout;
        let certificates = target.certificates()?;
        if target.cluster {
            let mut builder = ClusterClient::builder(target.urls.iter().copied())
                .connection_timeout(timeout)
                .response_timeout(timeout);
            if let Some(certificates) = certificates {
                builder = builder.certs(certificates);
            }
            Ok(Self::Cluster(
                builder.build()?.get_async_connection().await?,
            ))
        } else {
            let url = target.urls.first().copied().unwrap_or_default();
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_max_delay(Duration::from_secs(2));
            let client = match certificates {
                Some(certificates) if url.starts_with("rediss://") => {
                    redis::Client::build_with_tls(url, certificates)?
                }
                _ => redis::Client::open(url)?,
            };
            Ok(Self::Single(
                client.get_connection_manager_with_config(config).await?,
            ))
        }
    }

    /// Waits until the wanted replicas of the node holding `key` have every write this
    /// connection sent it (`WAIT`), failing if they do not in time.
    pub async fn wait_for_replicas(&mut self, key: &str, wanted: Replication) -> RedisResult<()> {
        let wait = wait_command(wanted);
        let acknowledged = match self {
            Self::Single(conn) => wait.query_async(conn).await?,
            Self::Cluster(conn) => {
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::with_key(key, SlotAddr::Master),
                ));
                conn.route_command(wait, route).await?
            }
        };
        check_acknowledged(&acknowledged, wanted.replicas)
    }
}

/// Where a `SCAN` goes: the one server, or one master of a cluster (each holds its own keys).
#[derive(Debug, Clone)]
pub(crate) enum ScanNode {
    Single,
    Master { host: String, port: u16 },
}

impl Connection {
    /// The nodes whose keys together are all keys: the server, or every cluster master.
    pub async fn scan_nodes(&mut self) -> RedisResult<Vec<ScanNode>> {
        let Self::Cluster(conn) = self else {
            return Ok(vec![ScanNode::Single]);
        };
        let every_master = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        // Without a response policy, the client answers with each node's reply by address.
        let replies = conn.route_command(redis::cmd("PING"), every_master).await?;
        let Value::Map(by_address) = replies else {
            return Err(unexpected("PING of every master", &replies));
        };
        by_address
            .iter()
            .map(|(address, _)| {
                let address: String = redis::from_redis_value_ref(address)
                    .map_err(|_| unexpected("a master's address", address))?;
                address
                    .rsplit_once(':')
                    .and_then(|(host, port)| {
                        Some(ScanNode::Master {
                            host: host.to_owned(),
                            port: port.parse().ok()?,
                        })
                    })
                    .ok_or_else(|| {
                        unexpected(
                            "a master's address",
                            &Value::BulkString(address.clone().into_bytes()),
                        )
                    })
            })
            .collect()
    }

    /// One `SCAN` step on `node`: the next cursor (0 at the end) and the keys found.
    pub async fn scan_step(
        &mut self,
        node: &ScanNode,
        cursor: u64,
        pattern: &str,
        count: usize,
    ) -> RedisResult<(u64, Vec<String>)> {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count);
        match (self, node) {
            (Self::Cluster(conn), ScanNode::Master { host, port }) => {
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                Ok(redis::from_redis_value(
                    conn.route_command(scan, route).await?,
                )?)
            }
            (conn, _) => scan.query_async(conn).await,
        }
    }
}

fn unexpected(what: &str, reply: &Value) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply",
        format!("{what}: {reply:?}"),
    ))
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Commands whose keys may lie in many slots, sent as few round trips as the connection
/// allows: one pipeline on a single server; on a cluster, one pipeline per slot, all sent at
/// once (the client multiplexes them over its one connection per node). Replies come back in
/// the order the commands were added.
#[derive(Default)]
pub(crate) struct SlotPipeline {
    commands: Vec<(Slot, Cmd)>,
}

impl SlotPipeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many commands have been added: the next one's reply is at this position.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Adds a command on `key` (every key of one command must share `key`'s slot).
    pub fn add(&mut self, key: &str, cmd: Cmd) -> &mut Self {
        self.commands.push((Slot::for_key(key), cmd));
        self
    }

    /// Sends everything and waits until the wanted replicas of each node written to hold the
    /// writes (`WAIT`), failing if they do not in time. The replies are in the order the
    /// commands were added.
    pub async fn query(
        &self,
        conn: &mut Connection,
        wanted: Replication,
    ) -> RedisResult<Vec<Value>> {
        match conn {
            Connection::Single(single) => {
                let mut pipe = redis::pipe();
                for (_, cmd) in &self.commands {
                    pipe.add_command(cmd.clone());
                }
                send(pipe, single, wanted).await
            }
            Connection::Cluster(cluster) => {
                let mut groups: HashMap<Slot, (Pipeline, Vec<usize>)> = HashMap::new();
                for (position, (slot, cmd)) in self.commands.iter().enumerate() {
                    let (pipe, positions) = groups.entry(*slot).or_default();
                    pipe.add_command(cmd.clone());
                    positions.push(position);
                }
                let sent = groups.into_values().map(|(pipe, positions)| {
                    let mut conn = cluster.clone();
                    async move {
                        let replies = send(pipe, &mut conn, wanted).await?;
                        Ok::<_, redis::RedisError>((positions, replies))
                    }
                });
                let mut out = vec![Value::Nil; self.commands.len()];
                for (positions, replies) in try_join_all(sent).await? {
                    for (position, reply) in positions.into_iter().zip(replies) {
                        out[position] = reply;
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Sends one pipeline (of one slot, on a cluster), followed by a `WAIT` when replicas are
/// wanted; returns the pipeline's replies.
async fn send(
    mut pipe: Pipeline,
    conn: &mut impl ConnectionLike,
    wanted: Replication,
) -> RedisResult<Vec<Value>> {
    if pipe.is_empty() {
        return Ok(Vec::new());
    }
    if wanted.replicas == 0 {
        return pipe.query_async(conn).await;
    }
    pipe.add_command(wait_command(wanted));
    let mut replies: Vec<Value> = pipe.query_async(conn).await?;
    check_acknowledged(&replies.pop().unwrap_or(Value::Nil), wanted.replicas)?;
    Ok(replies)
}

fn wait_command(wanted: Replication) -> Cmd {
    let mut wait = redis::cmd("WAIT");
    wait.arg(wanted.replicas)
        .arg(u64::try_from(wanted.timeout.as_millis()).unwrap_or(u64::MAX));
    wait
}

/// A `WAIT` reply: how many replicas acknowledged; fewer than wanted fails the write, so it
/// is retried (or spooled) rather than trusted to a node that may fail over without it.
fn check_acknowledged(reply: &Value, wanted: u32) -> RedisResult<()> {
    let acknowledged: u32 = redis::from_redis_value_ref(reply)?;
    if acknowledged < wanted {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "too few replicas acknowledged the write in time",
            format!("{acknowledged} of {wanted}"),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_target_prints_its_urls_without_their_passwords() {
        let target = RedisTarget {
            urls: vec!["redis://:REDIS-PASSWORD@redis.example:6379/0"],
            cluster: false,
            timeout: Duration::from_secs(1),
            wait_replicas: 0,
            ca_file: Path::new(""),
        };
        let printed = format!("{target:?}");
        assert!(!printed.contains("REDIS-PASSWORD"), "{printed}");
        assert!(printed.contains("redis.example:6379"), "{printed}");
    }
}
