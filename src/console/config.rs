//! Layered configuration: embedded defaults → user `config.toml` → `--config` file →
//! `JIEYOU_*` environment → flags. `config.example.toml` is both the defaults and their
//! documentation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use super::command::{Command, Keymap};
use super::i18n::Lang;

pub const DEFAULT_CONFIG: &str = include_str!("../../config.example.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub server: String,
    pub token: String,
    pub language: String,
    pub poll: PollConfig,
    pub alarms: Alarms,
    pub log: LogConfig,
    pub keys: HashMap<Command, Vec<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PollConfig {
    pub wait_seconds: u64,
    pub max_backoff_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Alarms {
    pub amber_minutes: i64,
    pub stale_after_seconds: i64,
    /// Ring when a red case arrives or a case is re-tiered red.
    #[serde(default = "yes")]
    pub new_red: bool,
    /// Ring when a case is about to breach a deadline.
    #[serde(default = "yes")]
    pub about_to_breach: bool,
    #[serde(default = "five")]
    pub about_to_breach_minutes: i64,
    /// After an about-to-breach alarm rings, the next ones within this many minutes only
    /// flash their rows; 0 rings every one.
    #[serde(default = "five")]
    pub due_soon_repeat_minutes: i64,
    /// The terminal bell (BEL).
    #[serde(default = "yes")]
    pub bell: bool,
    /// A desktop notification through the terminal.
    #[serde(default)]
    pub notify: NotifyKind,
}

fn yes() -> bool {
    true
}

fn five() -> i64 {
    5
}

/// How a desktop notification is asked of the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// `ESC ] 9 ; text BEL` (iTerm2, Windows Terminal, ConEmu, kitty, WezTerm).
    #[default]
    Osc9,
    /// `ESC ] 777 ; notify ; title ; body BEL` (rxvt-unicode, foot, VTE terminals).
    Osc777,
    Off,
}

impl Default for Alarms {
    fn default() -> Self {
        Alarms {
            amber_minutes: 15,
            stale_after_seconds: 40,
            new_red: true,
            about_to_breach: true,
            about_to_breach_minutes: 5,
            due_soon_repeat_minutes: 5,
            bell: true,
            notify: NotifyKind::Osc9,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    pub dir: String,
    pub level: String,
}

/// What the command line adds on top of the files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(rename = "language", skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl Overrides {
    /// `JIEYOU_TOKEN=` (set but empty) must not wipe out the token in a config file.
    fn without_empty(&self) -> Overrides {
        let keep = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Overrides {
            server: keep(&self.server),
            token: keep(&self.token),
            lang: keep(&self.lang),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// `config.toml` in the platform config directory, if there is one.
pub fn user_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "jieyou", "jieyou")
        .map(|d| d.config_dir().join("config.toml"))
}

/// The platform data directory, where logs go.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "jieyou", "jieyou").map(|d| d.data_dir().to_path_buf())
}

impl Config {
    /// `user` is the user config file (absent is fine); `explicit` the `--config` file (absent
    /// is an error: the operator asked for it).
    pub fn load(
        user: Option<&Path>,
        explicit: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(p) = user.filter(|p| p.exists()) {
            fig = fig.merge(Toml::file_exact(p));
        }
        if let Some(p) = explicit {
            if !p.exists() {
                return Err(ConfigError::Missing(p.to_path_buf()));
            }
            fig = fig.merge(Toml::file_exact(p));
        }
        // The environment arrives through the flags (clap reads JIEYOU_SERVER, JIEYOU_TOKEN,
        // JIEYOU_LANGUAGE), so there is one place where an empty value means "not set".
        fig = fig.merge(Serialized::defaults(overrides.without_empty()));
        fig.extract::<Config>()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    pub fn keymap(&self) -> Result<Keymap, ConfigError> {
        Keymap::from_config(&self.keys).map_err(ConfigError::Invalid)
    }

    /// The configured language, else the locale's.
    pub fn lang(&self, locale: impl Fn(&str) -> Option<String>) -> Result<Lang, ConfigError> {
        if self.language.trim().is_empty() {
            Ok(Lang::from_locale(
                locale("LC_ALL").as_deref(),
                locale("LC_MESSAGES").as_deref(),
                locale("LANG").as_deref(),
            ))
        } else {
            Lang::parse(&self.language).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "language {:?}: use \"en\" or \"zh-CN\"",
                    self.language
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_every_command() {
        let c = Config::load(None, None, &Overrides::default()).unwrap();
        for cmd in Command::ALL {
            assert!(
                c.keys.contains_key(&cmd),
                "no default key for {}",
                cmd.name()
            );
        }
        c.keymap().unwrap();
        assert_eq!(c.alarms, Alarms::default());
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(
            &user,
            "server = \"http://user\"\ntoken = \"u\"\n[keys]\nquit = [\"x\"]\n",
        )
        .unwrap();
        let explicit = dir.path().join("explicit.toml");
        std::fs::write(&explicit, "token = \"e\"\n").unwrap();
        let flags = Overrides {
            lang: Some("zh-CN".into()),
            server: Some(String::new()),
            ..Overrides::default()
        };
        let c = Config::load(Some(&user), Some(&explicit), &flags).unwrap();
        assert_eq!(c.server, "http://user");
        assert_eq!(c.token, "e");
        assert_eq!(c.keys[&Command::Quit], vec!["x".to_string()]);
        // Untouched keys keep their defaults.
        assert_eq!(
            c.keys[&Command::Down],
            vec!["j".to_string(), "down".to_string()]
        );
        assert_eq!(c.lang(|_| None).unwrap(), Lang::ZhCn);
        assert!(matches!(
            Config::load(None, Some(&dir.path().join("nope.toml")), &flags),
            Err(ConfigError::Missing(_))
        ));
    }

    #[test]
    fn alarms_are_configured_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("alarms.toml");
        std::fs::write(
            &f,
            "[alarms]\nnew_red = false\nabout_to_breach_minutes = 3\ndue_soon_repeat_minutes = 0\nbell = false\nnotify = \"osc777\"\n",
        )
        .unwrap();
        let a = Config::load(None, Some(&f), &Overrides::default())
            .unwrap()
            .alarms;
        assert!(!a.new_red && a.about_to_breach && !a.bell);
        assert_eq!(a.about_to_breach_minutes, 3);
        assert_eq!(a.due_soon_repeat_minutes, 0);
        assert_eq!(a.notify, NotifyKind::Osc777);
        std::fs::write(&f, "[alarms]\nnotify = \"morse\"\n").unwrap();
        assert!(Config::load(None, Some(&f), &Overrides::default()).is_err());
    }

    #[test]
    fn bad_values_are_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "[keys]\nexplode = [\"x\"]\n").unwrap();
        assert!(matches!(
            Config::load(None, Some(&f), &Overrides::default()),
            Err(ConfigError::Invalid(_))
        ));
        std::fs::write(&f, "language = \"fr\"\n").unwrap();
        let c = Config::load(None, Some(&f), &Overrides::default()).unwrap();
        assert!(c.lang(|_| None).is_err());
    }
}
