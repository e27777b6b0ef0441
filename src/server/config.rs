//! The server's configuration: built-in defaults, then a TOML file, then `JIEYOU_*`
//! environment variables, then command-line flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::wire::Policy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// `sqlite:PATH`; empty means a file in the platform data dir.
    pub database: String,
    /// Shown in consoles' top bar.
    pub desk_name: String,
    /// Case references are `PREFIX-YYYYMMDD-NNNN`.
    pub ref_prefix: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How often the escalation ladder looks for due rungs; 0 turns it off.
    pub escalation_interval_seconds: u64,
    /// Deadline minutes per tier, and the desk's time zone.
    pub policy: Policy,
    /// The categories and towns a case may name (`[catalog]`); Kaihua's by default.
    pub catalog: Catalog,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            database: String::new(),
            desk_name: "开化县求助平台".into(),
            ref_prefix: "KH".into(),
            max_body_bytes: 64 * 1024,
            escalation_interval_seconds: 15,
            policy: Policy::default(),
            catalog: Catalog::default(),
        }
    }
}

/// Where the database lives when none is named: `jieyou.db` in the platform data dir.
pub fn default_database_url() -> anyhow::Result<String> {
    let dirs = directories::ProjectDirs::from("org", "jieyou", "jieyou")
        .ok_or_else(|| anyhow::anyhow!("no home directory: pass --database sqlite:PATH"))?;
    let dir = dirs.data_dir();
    std::fs::create_dir_all(dir)?;
    Ok(format!("sqlite:{}", dir.join("jieyou.db").display()))
}

impl ServerConfig {
    /// Defaults, then `file` (if any), then `JIEYOU_LISTEN`, `JIEYOU_DATABASE_URL`, … .
    pub fn load(file: Option<&Path>) -> anyhow::Result<ServerConfig> {
        let mut fig = Figment::from(Serialized::defaults(ServerConfig::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig
            .merge(Env::raw().only(&["JIEYOU_LISTEN"]).map(|_| "listen".into()))
            .merge(
                Env::raw()
                    .only(&["JIEYOU_DATABASE_URL"])
                    .map(|_| "database".into()),
            );
        let cfg: ServerConfig = fig.extract()?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.catalog.validate().map_err(|e| anyhow::anyhow!(e))?;
        self.policy
            .time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|e| anyhow::anyhow!("policy.time_zone: {e}"))?;
        for (name, t) in [
            ("blue", &self.policy.blue),
            ("orange", &self.policy.orange),
            ("red", &self.policy.red),
        ] {
            let all = [
                Some(t.triage_minutes),
                t.dispatch_minutes,
                Some(t.sign_for_minutes),
                Some(t.feedback_minutes),
                t.follow_up_minutes,
            ];
            if all.iter().flatten().any(|m| *m <= 0) {
                anyhow::bail!("policy.{name}: every deadline must be a positive number of minutes");
            }
        }
        Ok(())
    }

    pub fn database_path(&self) -> Option<PathBuf> {
        self.database.strip_prefix("sqlite:").map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_the_default_policy() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/server.example.toml");
        let cfg = ServerConfig::load(Some(Path::new(path))).unwrap();
        assert_eq!(cfg.policy, Policy::default());
        assert_eq!(cfg.catalog, Catalog::kaihua());
        assert_eq!(cfg.listen, "0.0.0.0:8080");
        assert_eq!(
            cfg.database_path(),
            Some(PathBuf::from("/var/lib/jieyou/desk.db"))
        );
    }

    #[test]
    fn a_partial_policy_keeps_the_other_defaults_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(&f, "[policy.red]\nfeedback_minutes = 180\n").unwrap();
        let cfg = ServerConfig::load(Some(&f)).unwrap();
        assert_eq!(cfg.policy.red.feedback_minutes, 180);
        assert_eq!(cfg.policy.red.dispatch_minutes, Some(60));
        assert_eq!(cfg.policy.orange, Policy::default().orange);
        std::fs::write(&f, "[policy.red]\nfeedback_minutes = 0\n").unwrap();
        assert!(ServerConfig::load(Some(&f)).is_err());
        std::fs::write(
            &f,
            "[[catalog.towns]]\ncode = \"城关镇\"\nlabel = \"城关镇\"\n",
        )
        .unwrap();
        let cfg = ServerConfig::load(Some(&f)).unwrap();
        assert_eq!(
            cfg.catalog.towns.len(),
            1,
            "a desk's own towns replace Kaihua's"
        );
        assert_eq!(cfg.catalog.categories, Catalog::kaihua().categories);
        std::fs::write(&f, "[catalog]\ntowns = []\n").unwrap();
        assert!(ServerConfig::load(Some(&f)).is_err());
        std::fs::write(&f, "colour = 1\n").unwrap();
        assert!(ServerConfig::load(Some(&f)).is_err());
    }
}
