//! The servers under load: one or more release instances over one database (a SQLite file, or a
//! fresh database in the PostgreSQL of `KIRO_SOAK_POSTGRES_URL`), each started, killed with
//! SIGKILL and restarted on its own port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const KEY: &str = "sk_test_soak_0123456789abcdef";

/// Where the instances keep their data.
pub enum Database {
    Sqlite(PathBuf),
    /// A database of its own (`name`) in the PostgreSQL at `admin_url`, dropped at the end.
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Database {
    pub fn sqlite(run: usize) -> Database {
        Database::Sqlite(std::env::temp_dir().join(format!("kiro-soak-{}-{run}.sqlite3", std::process::id())))
    }

    /// A new, empty database in the PostgreSQL at `admin_url`, so runs never see each other's rows.
    pub async fn postgres(admin_url: &str, run: usize) -> Database {
        let name = format!("soak_{}_{run}", std::process::id());
        admin(admin_url, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(admin_url).unwrap_or_else(|e| panic!("soak: KIRO_SOAK_POSTGRES_URL: {e}"));
        url.set_path(&name);
        Database::Postgres { admin_url: admin_url.to_string(), name, url: url.to_string() }
    }

    pub fn server_args(&self) -> Vec<String> {
        match self {
            Database::Sqlite(path) => vec!["--db".into(), path.display().to_string()],
            Database::Postgres { url, .. } => vec!["--database-url".into(), url.clone()],
        }
    }

    /// Deletes the file or drops the database (the instances stopped first).
    pub async fn remove(self) {
        match self {
            Database::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Database::Postgres { admin_url, name, .. } => {
                admin(&admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            }
        }
    }
}

async fn admin(url: &str, statement: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("soak: can't connect to KIRO_SOAK_POSTGRES_URL: {e}"));
    let connection = tokio::spawn(connection);
    client.batch_execute(statement).await.unwrap_or_else(|e| panic!("soak: `{statement}`: {e}"));
    drop(client);
    let _ = connection.await;
}

/// One server process and how to start it again.
struct Instance {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    database: Vec<String>,
}

pub struct Cluster {
    binary: PathBuf,
    args: Vec<String>,
    instances: Vec<Instance>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

/// Where the instances find the app's pages (a stand-in: the soak only calls the APIs).
fn stand_in_dist() -> PathBuf {
    let dist = std::env::temp_dir().join("kiro-soak-dist");
    std::fs::create_dir_all(&dist).unwrap();
    for entry in checkout_server::http::static_files::ENTRY_NAMES {
        std::fs::write(dist.join(format!("{entry}.html")), "<!doctype html><title>soak</title>").unwrap();
    }
    dist
}

impl Cluster {
    /// One instance per entry of `databases` (the arguments that open its database: the same one,
    /// perhaps reached another way), delivering events to `webhook_url`; returns once every one
    /// answers `/healthz`. A short attempt lease (`lease_secs`) lets the others settle what a
    /// killed instance left within the run.
    pub async fn start(binary: &Path, databases: Vec<Vec<String>>, webhook_url: &str, lease_secs: u64) -> Cluster {
        let mut args = vec!["--secret-key".to_string(), KEY.into(), "--webhook-url".into(), webhook_url.into()];
        args.extend(["--attempt-lease-secs".into(), lease_secs.to_string()]);
        args.extend(["--dist".into(), stand_in_dist().display().to_string()]);
        let count = databases.len();
        let mut cluster = Cluster { binary: binary.to_path_buf(), args, instances: Vec::new() };
        for (n, database) in databases.into_iter().enumerate() {
            let log = std::env::temp_dir().join(format!("kiro-soak-{}-instance-{n}.log", std::process::id()));
            cluster.instances.push(Instance { child: None, port: free_port(), log, database });
        }
        for n in 0..count {
            cluster.spawn(n);
        }
        for n in 0..count {
            cluster.wait_until_up(n).await;
        }
        cluster
    }

    pub fn bases(&self) -> Vec<String> {
        self.instances.iter().map(|i| format!("http://127.0.0.1:{}", i.port)).collect()
    }

    /// The instances' logs (stderr, `warn` and up), kept for a look after a failure.
    pub fn logs(&self) -> Vec<PathBuf> {
        self.instances.iter().map(|i| i.log.clone()).collect()
    }

    fn spawn(&mut self, n: usize) {
        let instance = &mut self.instances[n];
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&instance.log).unwrap();
        let child = Command::new(&self.binary)
            .args(["--port", &instance.port.to_string()])
            .args(&self.args)
            .args(&instance.database)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("soak: can't start {}: {e}", self.binary.display()));
        instance.child = Some(child);
    }

    async fn wait_until_up(&self, n: usize) {
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", self.bases()[n]);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("soak: instance {n} did not come up (its log: {})", self.instances[n].log.display());
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self, n: usize) {
        if let Some(mut child) = self.instances[n].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts instance `n` again on its port; returns once it answers.
    pub async fn restart(&mut self, n: usize) {
        self.spawn(n);
        self.wait_until_up(n).await;
    }

    pub fn stop(&mut self) {
        for n in 0..self.instances.len() {
            self.kill(n);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
