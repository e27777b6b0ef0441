//! `jieyou demo`: the whole desk on one machine in one command — an embedded server on a
//! loopback port, a SQLite file, a seeded desk modelled on Kaihua county ([`data`]), a live
//! stream of new requests and department replies ([`simulator`]), and the console attached.

pub mod data;
pub mod simulator;

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  jieyou demo
  jieyou demo --rate 20 --seed 7 --lang zh-CN
  jieyou demo --no-console --listen 127.0.0.1:8080 --database sqlite:demo.db --keep")]
pub struct DemoArgs {
    /// New requests per minute from the simulated citizens (0 stops them)
    #[arg(long, default_value_t = 6.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Seed of the demo data and of the simulator's decisions: same seed, same desk
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Database URL, `sqlite:PATH` [default: a fresh file in a temporary directory]
    #[arg(long)]
    pub database: Option<String>,
    /// Keep the database when the demo ends (the temporary one is deleted otherwise)
    #[arg(long)]
    pub keep: bool,
    /// Run the server and the simulator only; print the URL and the users' tokens
    #[arg(long)]
    pub no_console: bool,
    /// Language of the console: en or zh-CN
    #[arg(long, default_value = "en", value_parser = ["en", "zh-CN"])]
    pub lang: String,
    /// Address for the embedded server [default: 127.0.0.1 on a free port]
    #[arg(long)]
    pub listen: Option<String>,
    /// How many cases to seed, spread over the last 12 hours
    #[arg(long, default_value_t = 300)]
    pub cases: usize,
    /// Simulated departments and the background operator act this many times faster
    #[arg(long, default_value_t = 1.0, value_parser = parse_rate)]
    pub speed: f64,
    /// Leave triage and dispatch to the humans: no background operator
    #[arg(long)]
    pub no_background_operator: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a number ≥ 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        demo: DemoArgs,
    }

    #[test]
    fn args_have_defaults_and_reject_bad_rates() {
        let cli = Cli::try_parse_from(["demo"]).unwrap();
        assert_eq!(cli.demo.rate, 6.0);
        assert_eq!(cli.demo.seed, 1);
        assert_eq!(cli.demo.cases, 300);
        assert!(!cli.demo.no_console);
        let cli = Cli::try_parse_from(["demo", "--rate", "0.5", "--lang", "zh-CN"]).unwrap();
        assert_eq!(cli.demo.rate, 0.5);
        assert!(Cli::try_parse_from(["demo", "--rate", "-1"]).is_err());
        assert!(Cli::try_parse_from(["demo", "--rate", "NaN"]).is_err());
        assert!(Cli::try_parse_from(["demo", "--lang", "fr"]).is_err());
    }
}
