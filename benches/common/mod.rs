//! What the benches share: `jieyou serve` (the bench-built binary) as a child process.
// Each bench is its own crate and uses a part of this.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;

pub const BIN: &str = env!("CARGO_BIN_EXE_jieyou");

/// `jieyou serve` as a child process on a free loopback port, killed when stopped or dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Serves `db` with `extra` appended to its config file (TOML: keys, then tables).
    pub fn start(dir: &Path, db: &str, extra: &str) -> anyhow::Result<Server> {
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            format!("listen = \"127.0.0.1:0\"\ndatabase = \"{db}\"\n{extra}"),
        )?;
        let log = std::fs::File::create(dir.join("serve.log"))?;
        // Another build may be named, to compare two builds under the same bench.
        let bin = std::env::var_os("JIEYOU_BENCH_BIN").unwrap_or_else(|| BIN.into());
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting jieyou serve")?;
        let stdout = child.stdout.take().context("serve's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://"))
            .with_context(|| format!("serve said {line:?}"))?
            .to_string();
        Ok(Server { child, url })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        // Its database is a temporary file: no need to drain.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
