//! `genlab list`.

use std::process::ExitCode;

use crate::experiments::ALL;

pub fn run() -> anyhow::Result<ExitCode> {
    let width = ALL.iter().map(|e| e.info.name.len()).max().unwrap_or(0);
    for e in ALL {
        println!("{:width$}  {}", e.info.name, e.info.claim);
        println!("{:width$}  ({})", "", e.info.paper);
    }
    Ok(ExitCode::SUCCESS)
}
