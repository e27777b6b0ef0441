use clap::Parser;

/// Jieyou (解忧): a 24/7 help-request desk. With no subcommand, opens the dispatcher console.
#[derive(Debug, Parser)]
#[command(name = "jieyou", version, about)]
struct Cli {
    #[command(flatten)]
    console: jieyou::console::ConsoleArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match jieyou::console::run(cli.console) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jieyou: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
