//! The server's configuration: built-in defaults, then a TOML file, then `JIEYOU_*`
//! environment variables, then command-line flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use super::limits::Limits;
pub use super::metrics::MetricsConfig;
use crate::catalog::Catalog;
use crate::wire::Policy;

/// The longest deadline or escalation delay a policy may set: a year, in minutes. Far longer
/// than any desk needs, and far from where time arithmetic overflows.
pub const MAX_POLICY_MINUTES: i64 = 366 * 24 * 60;
/// The slowest escalation pass: once a day.
pub const MAX_ESCALATION_INTERVAL_SECONDS: u64 = 24 * 60 * 60;

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
    /// Most entries (cases and tombstones) in one delta page of the change feed.
    pub feed_page: i64,
    /// How long a used `Idempotency-Key` replays its first answer; after that it is
    /// forgotten (purged) and the same key acts anew.
    pub idempotency_hours: u32,
    /// Deadline minutes per tier, and the desk's time zone.
    pub policy: Policy,
    /// Timeouts and caps against slow and hostile clients, and the database's.
    pub limits: Limits,
    /// The categories and towns a case may name (`[catalog]`); Kaihua's by default.
    pub catalog: Catalog,
    /// Apply the database's missing migrations at start; off (`--no-migrate`), a server whose
    /// database is behind refuses to start, for deployments that run `jieyou migrate` first.
    pub migrate_on_start: bool,
    /// `GET /metrics` for Prometheus (`[metrics]`).
    pub metrics: MetricsConfig,
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
            feed_page: 1000,
            idempotency_hours: 24,
            policy: Policy::default(),
            limits: Limits::default(),
            catalog: Catalog::default(),
            migrate_on_start: true,
            metrics: MetricsConfig::default(),
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
    /// Defaults, then `file` (if any), then `JIEYOU_LISTEN`, `JIEYOU_DATABASE_URL`,
    /// `JIEYOU_METRICS_TOKEN`.
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
            )
            .merge(
                Env::raw()
                    .only(&["JIEYOU_METRICS_TOKEN"])
                    .map(|_| "metrics.token".into()),
            );
        let cfg: ServerConfig = fig.extract()?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.feed_page < 1 {
            anyhow::bail!("feed_page: must be at least 1");
        }
        if self.idempotency_hours == 0 {
            anyhow::bail!("idempotency_hours must be at least 1");
        }
        self.limits.validate()?;
        if let Some(t) = &self.metrics.token
            && (t.len() < 16 || !t.chars().all(|c| c.is_ascii_graphic()))
        {
            anyhow::bail!(
                "metrics.token: must be at least 16 printable ASCII characters without spaces"
            );
        }
        self.catalog.validate().map_err(|e| anyhow::anyhow!(e))?;
        self.policy
            .time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|e| anyhow::anyhow!("policy.time_zone: {e}"))?;
        crate::text_rules::check(&self.desk_name, crate::text_rules::TextRule::name(100))
            .map_err(|e| anyhow::anyhow!("desk_name: {e}"))?;
        // The prefix is matched with LIKE when references are numbered: no wildcards in it.
        if !(1..=16).contains(&self.ref_prefix.len())
            || !self.ref_prefix.chars().all(|c| c.is_ascii_alphanumeric())
        {
            anyhow::bail!(
                "ref_prefix: must be 1 to 16 ASCII letters and digits, got {:?}",
                self.ref_prefix
            );
        }
        if self.escalation_interval_seconds > MAX_ESCALATION_INTERVAL_SECONDS {
            anyhow::bail!(
                "escalation_interval_seconds: must be at most {MAX_ESCALATION_INTERVAL_SECONDS} (a day), got {}",
                self.escalation_interval_seconds
            );
        }
        if self.policy.max_returns < 0 {
            anyhow::bail!(
                "policy.max_returns: must be 0 or more (got {})",
                self.policy.max_returns
            );
        }
        for (name, t) in [
            ("blue", &self.policy.blue),
            ("orange", &self.policy.orange),
            ("red", &self.policy.red),
        ] {
            let clocks = [
                ("triage_minutes", Some(t.triage_minutes)),
                ("dispatch_minutes", t.dispatch_minutes),
                ("sign_for_minutes", Some(t.sign_for_minutes)),
                ("feedback_minutes", Some(t.feedback_minutes)),
                ("follow_up_minutes", t.follow_up_minutes),
            ];
            for (key, minutes) in clocks {
                if let Some(m) = minutes
                    && !(1..=MAX_POLICY_MINUTES).contains(&m)
                {
                    anyhow::bail!(
                        "policy.{name}.{key}: must be from 1 to {MAX_POLICY_MINUTES} minutes (a year), got {m}"
                    );
                }
            }
            let ladder = t.escalation_minutes;
            if let Some(m) = ladder
                .iter()
                .find(|m| !(0..=MAX_POLICY_MINUTES).contains(*m))
            {
                anyhow::bail!(
                    "policy.{name}.escalation_minutes: each rung must be from 0 to {MAX_POLICY_MINUTES} minutes after the breach, got {m}"
                );
            }
            if ladder.windows(2).any(|w| w[1] < w[0]) {
                anyhow::bail!(
                    "policy.{name}.escalation_minutes: the rungs (reminder, urging notice, supervision office) must not come earlier than the one before, got {ladder:?}"
                );
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
        assert_eq!(cfg.limits, Limits::default());
        assert_eq!(cfg.catalog, Catalog::kaihua());
        assert_eq!(cfg.metrics, MetricsConfig::default());
        assert!(cfg.migrate_on_start);
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

    fn refusal(toml: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(&f, toml).unwrap();
        match ServerConfig::load(Some(&f)) {
            Ok(cfg) => panic!("accepted {toml:?}: {cfg:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn minutes_that_overflow_time_arithmetic_are_refused_by_key() {
        let e = refusal(&format!("[policy.red]\nfeedback_minutes = {}\n", i64::MAX));
        assert!(e.contains("policy.red.feedback_minutes"), "{e}");
        let e = refusal("[policy.orange]\nfollow_up_minutes = 600000\n");
        assert!(e.contains("policy.orange.follow_up_minutes"), "{e}");
        let e = refusal(&format!(
            "[policy.blue]\nescalation_minutes = [0, 60, {}]\n",
            i64::MAX
        ));
        assert!(e.contains("policy.blue.escalation_minutes"), "{e}");
        let e = refusal("[policy.blue]\nescalation_minutes = [-5, 60, 120]\n");
        assert!(e.contains("policy.blue.escalation_minutes"), "{e}");
        let e = refusal("[policy]\nmax_returns = -1\n");
        assert!(e.contains("policy.max_returns"), "{e}");
        let e = refusal(&format!("escalation_interval_seconds = {}\n", i64::MAX));
        assert!(e.contains("escalation_interval_seconds"), "{e}");
    }

    #[test]
    fn desk_name_and_reference_prefix_are_checked() {
        let e = refusal("ref_prefix = \"K%\"\n");
        assert!(e.contains("ref_prefix"), "{e}");
        let e = refusal("ref_prefix = \"\"\n");
        assert!(e.contains("ref_prefix"), "{e}");
        let e = refusal("desk_name = \"desk\\u202E\"\n");
        assert!(e.contains("desk_name"), "{e}");
    }

    #[test]
    fn metrics_keys_are_read_and_a_weak_token_is_refused() {
        let e = refusal("[metrics]\ntoken = \"short\"\n");
        assert!(e.contains("metrics.token"), "{e}");
        let e = refusal("[metrics]\ntoken = \"has spaces in it, sixteen+\"\n");
        assert!(e.contains("metrics.token"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(
            &f,
            "migrate_on_start = false\n[metrics]\nenabled = false\ntoken = \"0123456789abcdef\"\n",
        )
        .unwrap();
        let cfg = ServerConfig::load(Some(&f)).unwrap();
        assert!(!cfg.migrate_on_start);
        assert!(!cfg.metrics.enabled);
        assert_eq!(cfg.metrics.token.as_deref(), Some("0123456789abcdef"));
    }

    #[test]
    fn a_decreasing_escalation_ladder_is_refused() {
        let e = refusal("[policy.red]\nescalation_minutes = [30, 15, 0]\n");
        assert!(e.contains("policy.red.escalation_minutes"), "{e}");
        assert!(e.contains("must not come earlier"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        // Rungs at the same minute are fine: they fire together.
        std::fs::write(&f, "[policy.red]\nescalation_minutes = [0, 0, 30]\n").unwrap();
        assert!(ServerConfig::load(Some(&f)).is_ok());
    }
}
