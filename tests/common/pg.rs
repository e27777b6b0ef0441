//! A throwaway PostgreSQL 15 cluster for the tests: started once per test binary on a free
//! port, in a temporary directory, with a fresh database per test; stopped when the binary
//! exits. `database_url` picks the backend of the store and API tests from
//! `JIEYOU_TEST_DATABASE` (`sqlite`, the default, or `postgres`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// Where PostgreSQL 15's server binaries are looked for, unless `JIEYOU_PG_BIN` names them.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    pub port: u16,
    as_postgres: bool,
    /// The server's options, to start it again after a stop.
    options: String,
}

/// Whether this run's store and API tests use PostgreSQL.
pub fn use_postgres() -> bool {
    matches!(
        std::env::var("JIEYOU_TEST_DATABASE").as_deref(),
        Ok("postgres" | "postgresql" | "pg")
    )
}

/// A database URL for one test: a SQLite file `name` in `dir`, or a fresh PostgreSQL database
/// when `JIEYOU_TEST_DATABASE=postgres`.
pub async fn database_url(dir: &Path, name: &str) -> String {
    if use_postgres() {
        fresh_database().await
    } else {
        format!("sqlite:{}", dir.join(name).display())
    }
}

/// A new, empty database on the test cluster (started on first use).
pub async fn fresh_database() -> String {
    fresh_database_on(cluster()).await
}

/// A new, empty database on `cluster`.
pub async fn fresh_database_on(cluster: &Cluster) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "jieyou_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .expect("connect to the test cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    cluster.url(&name)
}

/// The cluster of this test binary, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

impl Cluster {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts a cluster of its own (for a test that restarts it); stopped like the shared one.
    pub fn start() -> Cluster {
        let bin = std::env::var_os("JIEYOU_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN));
        if !bin.join("pg_ctl").is_file() || !bin.join("initdb").is_file() {
            panic!(
                "PostgreSQL 15 not found at {}; install postgresql-15 or set JIEYOU_PG_BIN, \
                 or set JIEYOU_TEST_DATABASE=sqlite to run the SQLite pass only",
                bin.display()
            );
        }
        // PostgreSQL refuses to run as root: then it runs as the `postgres` user, in a
        // directory that user can write.
        let as_postgres = is_root();
        let root = tempfile::Builder::new()
            .prefix("jieyou-pg-")
            .tempdir()
            .expect("temp dir for the test cluster")
            .keep();
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(&root));
        }
        let data = root.join("data");
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c full_page_writes=off",
            root.display()
        );
        let cluster = Cluster {
            bin,
            data,
            log: root.join("log"),
            port,
            as_postgres,
            options,
        };
        run(cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .arg("-D")
            .arg(&cluster.data));
        cluster.pg_ctl(&["-o", &cluster.options, "start"]);
        cluster.stop_when_done(&root);
        cluster
    }

    /// A command running one of the cluster's binaries, as the `postgres` user when needed.
    pub fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// `pg_ctl` with the cluster's data directory and log, e.g. `["restart", "-m", "fast"]`
    /// (the log keeps a started server off this process's pipes).
    pub fn pg_ctl(&self, args: &[&str]) {
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w"])
            .args(args));
    }

    /// Starts the server again after `pg_ctl stop`, with the options it first had.
    pub fn start_again(&self) {
        self.pg_ctl(&["-o", &self.options, "start"]);
    }

    /// Statics are never dropped, so a watcher outside this process stops the cluster and
    /// removes its directory once the test binary has exited, however it ended.
    fn stop_when_done(&self, root: &Path) {
        let pg_ctl = self.command("pg_ctl");
        let mut stop = format!("{:?}", pg_ctl.get_program());
        for a in pg_ctl.get_args() {
            stop.push_str(&format!(" {a:?}"));
        }
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {stop} -D {data:?} -m immediate stop >/dev/null 2>&1; rm -rf {root:?}",
            pid = std::process::id(),
            data = self.data,
        );
        let mut watcher = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cluster's watcher");
        // Reaped here if it ends first; it outlives this process otherwise, as it must.
        std::thread::spawn(move || watcher.wait());
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn run(command: &mut Command) {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
