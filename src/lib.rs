//! Jieyou (解忧): a 24/7 help-request desk — the central request API (`server`), its typed
//! `client`, and the terminal dispatcher `console`, sharing the `wire` types and the `domain`
//! rules.

pub mod answers;
pub mod catalog;
pub mod client;
pub mod commands;
pub mod console;
pub mod demo;
pub mod domain;
pub mod loadgen;
pub mod report;
pub mod server;
pub mod similar;
pub mod text_rules;
pub mod wire;
