//! The tests' own Redis: one `redis-server` on a Unix socket, or, when
//! `REFTRACK_TEST_REDIS=cluster`, a Redis Cluster of three masters on free TCP ports joined
//! with `redis-cli --cluster create`. Either is started per test in a temporary directory and
//! killed when dropped; nothing touches the machine's shared Redis.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use redis::{Cmd, ConnectionLike, RedisResult, Value};
use tempfile::TempDir;

use crate::helpers::wait_until;

/// Masters of a test cluster.
const MASTERS: usize = 3;
/// How long `redis-cli --cluster create` may take, and how often a cluster is formed anew when
/// it takes longer. On a loaded machine a node's handshake can outlast the cluster's node
/// timeout: the nodes then forget each other and `redis-cli` waits for them to join for ever.
const CLUSTER_FORMING: Duration = Duration::from_secs(60);
const CLUSTER_ATTEMPTS: usize = 3;

/// What the suite runs against, from `REFTRACK_TEST_REDIS` (`single`, the default, or
/// `cluster`).
fn suite_uses_cluster() -> bool {
    match std::env::var("REFTRACK_TEST_REDIS").as_deref() {
        Ok("cluster") => true,
        Ok("single" | "") | Err(_) => false,
        Ok(other) => panic!("REFTRACK_TEST_REDIS must be 'single' or 'cluster', not '{other}'"),
    }
}

#[derive(Debug, Clone, Copy)]
enum Layout {
    Single,
    Cluster { replicas_per_master: usize },
}

/// One `redis-server` process.
struct Node {
    child: Child,
    /// The TCP port of a cluster node; a single server listens on `dir/redis.sock` only.
    port: Option<u16>,
    dir: PathBuf,
}

pub struct TestRedis {
    nodes: Vec<Node>,
    layout: Layout,
    append_only: bool,
    dir: TempDir,
}

impl TestRedis {
    /// The suite's kind of Redis (see the module docs).
    pub fn start() -> Self {
        Self::start_with(Self::suite_layout(), false)
    }

    /// The suite's kind of Redis, keeping its data in an append-only file synced on every
    /// write, so it can be restarted without losing anything.
    pub fn start_durable() -> Self {
        Self::start_with(Self::suite_layout(), true)
    }

    /// A cluster of three masters with replicas, whatever the suite runs against.
    pub fn start_cluster_with_replicas(replicas_per_master: usize) -> Self {
        Self::start_with(
            Layout::Cluster {
                replicas_per_master,
            },
            false,
        )
    }

    fn suite_layout() -> Layout {
        if suite_uses_cluster() {
            Layout::Cluster {
                replicas_per_master: 0,
            }
        } else {
            Layout::Single
        }
    }

    fn start_with(layout: Layout, append_only: bool) -> Self {
        let Layout::Cluster {
            replicas_per_master,
        } = layout
        else {
            let dir = tempfile::tempdir().expect("temporary directory");
            let nodes = vec![Node::start(dir.path().join("single"), None, append_only)];
            return Self {
                nodes,
                layout,
                append_only,
                dir,
            };
        };
        for _ in 0..CLUSTER_ATTEMPTS {
            let dir = tempfile::tempdir().expect("temporary directory");
            let nodes = (0..MASTERS * (1 + replicas_per_master))
                .map(|i| {
                    Node::start_on_a_free_port(&dir.path().join(format!("node{i}")), append_only)
                })
                .collect();
            let redis = Self {
                nodes,
                layout,
                append_only,
                dir,
            };
            if redis.create_cluster(replicas_per_master) {
                redis.wait_cluster_ready();
                return redis;
            }
            // Dropping `redis` kills its nodes; the next attempt takes new ports.
        }
        panic!("no test cluster formed in {CLUSTER_ATTEMPTS} attempts of {CLUSTER_FORMING:?}")
    }

    /// Joins the nodes with `redis-cli --cluster create`; false when that has not finished
    /// within [`CLUSTER_FORMING`] (it is then killed).
    fn create_cluster(&self, replicas_per_master: usize) -> bool {
        let mut create = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(self.nodes.iter().map(Node::address))
            .args(["--cluster-replicas", &replicas_per_master.to_string()])
            .arg("--cluster-yes")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-cli must be installed to run the tests against a cluster");
        let deadline = Instant::now() + CLUSTER_FORMING;
        while matches!(create.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = create.kill();
                let output = create.wait_with_output().expect("redis-cli's output");
                eprintln!(
                    "redis-cli --cluster create did not finish in {CLUSTER_FORMING:?}; \
                     starting the cluster again on new ports: {}",
                    String::from_utf8_lossy(&output.stdout)
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = create.wait_with_output().expect("redis-cli's output");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        true
    }

    /// Every node sees every slot served, every master has its replicas attached, and every
    /// replica has its master's data (only then can it acknowledge writes or take over).
    fn wait_cluster_ready(&self) {
        let Layout::Cluster {
            replicas_per_master,
        } = self.layout
        else {
            return;
        };
        wait_until("the cluster is ready", Duration::from_secs(30), || {
            self.nodes.iter().all(|node| {
                let info = node.info("CLUSTER", "INFO");
                let replication = node.info("INFO", "replication");
                let in_sync = if replication.contains("role:slave") {
                    replication.contains("master_link_status:up")
                } else {
                    replication.contains(&format!("connected_slaves:{replicas_per_master}"))
                };
                info.contains("cluster_state:ok") && in_sync
            })
        });
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.layout, Layout::Cluster { .. })
    }

    /// The value of `REFTRACK_REDIS__URL` for this Redis.
    pub fn url(&self) -> String {
        match self.layout {
            Layout::Single => format!("redis+unix://{}", self.nodes[0].socket().display()),
            Layout::Cluster { .. } => self
                .nodes
                .iter()
                .map(|n| format!("redis://{}", n.address()))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The environment that points reftrack at this Redis.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("REFTRACK_REDIS__URL", self.url()),
            ("REFTRACK_REDIS__CLUSTER", self.is_cluster().to_string()),
        ]
    }

    /// A directory that lives as long as this Redis, for the test's other files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A connection to read what reftrack wrote (routed by key on a cluster).
    pub fn connection(&self) -> TestConnection {
        match self.layout {
            Layout::Single => TestConnection::Single(
                redis::Client::open(self.url())
                    .and_then(|c| c.get_connection())
                    .expect("connecting to the test redis-server"),
            ),
            Layout::Cluster { .. } => TestConnection::Cluster(Box::new(
                redis::cluster::ClusterClient::new(self.url().split(',').collect::<Vec<_>>())
                    .and_then(|c| c.get_connection())
                    .expect("connecting to the test cluster"),
            )),
        }
    }

    /// How Redis keeps `key` (`OBJECT ENCODING`: `listpack`, `hashtable`, ...).
    pub fn encoding(&self, key: &str) -> String {
        redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut self.connection())
            .expect("OBJECT ENCODING of a test key")
    }

    /// Every key reftrack holds (on every master of a cluster) matching `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut out = Vec::new();
        for node in &self.nodes {
            if node.info("INFO", "replication").contains("role:slave") {
                continue;
            }
            let keys: Vec<String> = node
                .query(redis::cmd("KEYS").arg(pattern))
                .expect("KEYS on a test node");
            out.extend(keys);
        }
        out
    }

    /// How many times Redis (every master of a cluster) has run `command` since it started,
    /// by `INFO commandstats`: what a request cost Redis, read before and after it.
    pub fn command_calls(&self, command: &str) -> u64 {
        let field = format!("cmdstat_{}:calls=", command.to_lowercase());
        self.nodes
            .iter()
            .map(|node| node.info("INFO", "commandstats"))
            .flat_map(|stats| {
                stats
                    .lines()
                    .filter_map(|line| line.strip_prefix(field.as_str()))
                    .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
                    .collect::<Vec<_>>()
            })
            .sum()
    }

    /// Stops every node the way an operator would (SIGTERM) and starts them again on the same
    /// addresses and data directories.
    pub fn restart(&mut self) {
        for node in &mut self.nodes {
            node.signal("-TERM");
            let _ = node.child.wait();
            *node = Node::start(node.dir.clone(), node.port, self.append_only);
        }
        self.wait_cluster_ready();
    }

    /// Freezes every node (SIGSTOP): connections stay open and nothing answers, as with a
    /// hung Redis.
    pub fn pause(&self) {
        for node in &self.nodes {
            node.signal("-STOP");
        }
    }

    pub fn resume(&self) {
        for node in &self.nodes {
            node.signal("-CONT");
        }
    }

    pub fn kill(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Kills (SIGKILL) the master serving `key`'s slot, as a crashed machine would stop; its
    /// replica takes over after the cluster's node timeout. Returns the killed node's address.
    pub fn kill_master_of(&mut self, key: &str) -> String {
        let port = self.master_of(key).expect("a master serves every slot");
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == Some(port))
            .expect("the master is one of the test's nodes");
        node.kill();
        node.address()
    }

    /// The port of the master serving `key`'s slot, as the first node that answers sees it.
    pub fn master_of(&self, key: &str) -> Option<u16> {
        let (slot, ranges) = self.nodes.iter().find_map(|node| {
            let slot: u16 = node
                .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
                .ok()?;
            let ranges: Vec<Value> = node.query(redis::cmd("CLUSTER").arg("SLOTS")).ok()?;
            Some((slot, ranges))
        })?;
        ranges.iter().find_map(|range| {
            // [start, end, [master ip, master port, ...], [replica ...], ...]
            let range: Vec<Value> = redis::from_redis_value_ref(range).ok()?;
            let start: u16 = redis::from_redis_value_ref(range.first()?).ok()?;
            let end: u16 = redis::from_redis_value_ref(range.get(1)?).ok()?;
            let master: Vec<Value> = redis::from_redis_value_ref(range.get(2)?).ok()?;
            let port: u16 = redis::from_redis_value_ref(master.get(1)?).ok()?;
            (start..=end).contains(&slot).then_some(port)
        })
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Node {
    /// A cluster node on a port no other process holds: a port found free can be taken by
    /// another process before the server binds it, so a node that exits is started again on
    /// the next free port.
    fn start_on_a_free_port(dir: &Path, append_only: bool) -> Self {
        for _ in 0..5 {
            let mut node = Self::spawn(dir.to_owned(), Some(free_cluster_port()), append_only);
            if node.wait_answers() {
                return node;
            }
            node.kill();
        }
        panic!(
            "no cluster node would start; see {}",
            dir.join("redis.log").display()
        );
    }

    fn start(dir: PathBuf, port: Option<u16>, append_only: bool) -> Self {
        let mut node = Self::spawn(dir, port, append_only);
        assert!(
            node.wait_answers(),
            "redis-server did not start; see {}",
            node.dir.join("redis.log").display()
        );
        node
    }

    /// Waits until the server answers PING; false if it exits or is silent for 10 s.
    fn wait_answers(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.query::<String>(&redis::cmd("PING")).is_ok() {
                return true;
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn spawn(dir: PathBuf, port: Option<u16>, append_only: bool) -> Self {
        std::fs::create_dir_all(&dir).expect("node directory");
        let mut command = Command::new("redis-server");
        command.args(["--save", "", "--bind", "127.0.0.1"]);
        command.args(if append_only {
            ["--appendonly", "yes", "--appendfsync", "always"].as_slice()
        } else {
            ["--appendonly", "no"].as_slice()
        });
        match port {
            Some(port) => {
                command
                    .args(["--port", &port.to_string(), "--cluster-enabled", "yes"])
                    .args(["--cluster-node-timeout", "1000"])
                    // Replicas sync at once rather than after the default 5 s wait for others.
                    .args(["--repl-diskless-sync-delay", "0"])
                    .arg("--cluster-config-file")
                    .arg(dir.join("nodes.conf"));
            }
            None => {
                command.args(["--port", "0"]);
            }
        }
        let child = command
            .arg("--unixsocket")
            .arg(dir.join("redis.sock"))
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdout(Stdio::null())
            .spawn()
            .expect(
                "redis-server must be installed to run the tests (apt-get install redis-server)",
            );
        Self { child, port, dir }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port.expect("a cluster node"))
    }

    /// A command sent to this node alone, over its Unix socket.
    fn query<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        let url = format!("redis+unix://{}", self.socket().display());
        let mut conn = redis::Client::open(url)?.get_connection()?;
        cmd.query(&mut conn)
    }

    /// `INFO <section>` or `CLUSTER INFO` as text ("" when the node does not answer).
    fn info(&self, command: &str, section: &str) -> String {
        self.query(redis::cmd(command).arg(section))
            .unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill {signal} failed");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port for a cluster node: free, and so is the port 10000 above it (its cluster bus).
/// Both stay below 32768, where Linux starts handing out ports to outgoing connections. Each
/// test process walks the range from a random start, so its tests never share a port.
fn free_cluster_port() -> u16 {
    const LOWEST: u16 = 12_000;
    const RANGE: u16 = 10_000;
    static START: OnceLock<u16> = OnceLock::new();
    static TAKEN: AtomicU16 = AtomicU16::new(0);
    let start = *START.get_or_init(|| rand::random_range(0..RANGE));
    loop {
        let n = TAKEN.fetch_add(1, Ordering::SeqCst);
        assert!(n < RANGE, "no free port pair left for a test cluster node");
        let port = LOWEST + (start + n) % RANGE;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10_000) {
            return port;
        }
    }
}

/// A synchronous connection to the test's Redis, for tests that read keys directly.
pub enum TestConnection {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl TestConnection {
    fn inner(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Self::Single(conn) => conn,
            Self::Cluster(conn) => conn.as_mut(),
        }
    }

    fn inner_ref(&self) -> &dyn ConnectionLike {
        match self {
            Self::Single(conn) => conn,
            Self::Cluster(conn) => conn.as_ref(),
        }
    }
}

impl ConnectionLike for TestConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.inner().req_packed_command(cmd)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.inner().req_packed_commands(cmd, offset, count)
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        self.inner().req_command(cmd)
    }

    fn get_db(&self) -> i64 {
        self.inner_ref().get_db()
    }

    fn supports_pipelining(&self) -> bool {
        self.inner_ref().supports_pipelining()
    }

    fn check_connection(&mut self) -> bool {
        self.inner().check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner_ref().is_open()
    }
}
