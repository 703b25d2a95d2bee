use clap::FromArgMatches;
use clap::error::ErrorKind;

use creditdesk::cli::{self, Cli};
use creditdesk::error::exit_code;

fn main() {
    let parsed = cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            // One line, like every other error, with the exit code for bad input.
            let text = e.render().to_string();
            let paragraph: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = paragraph.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!(
                "creditdesk: {} (see --help)",
                creditdesk::domain::text::sanitize(message)
            );
            std::process::exit(exit_code::INVALID_INPUT);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("creditdesk: cannot start the async runtime: {e}");
            std::process::exit(exit_code::INFRASTRUCTURE);
        }
    };
    let code = runtime.block_on(cli::main(cli));
    // Drop the runtime (and with it the pools) before exiting.
    drop(runtime);
    std::process::exit(code);
}
