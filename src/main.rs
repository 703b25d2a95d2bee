use clap::Parser;

use creditdesk::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("creditdesk: cannot start the async runtime: {e}");
            std::process::exit(creditdesk::error::exit_code::INFRASTRUCTURE);
        }
    };
    if let Err(e) = runtime.block_on(cli::run(cli)) {
        eprintln!("creditdesk: {e}");
        std::process::exit(e.exit_code());
    }
}
