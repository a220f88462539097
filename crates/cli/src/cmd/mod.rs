//! One file per subcommand: parse, call the library, render.

pub mod bench;
pub mod cmt;
pub mod data;
pub mod flow;
pub mod fx;
pub mod guidance;
pub mod list;
pub mod logic;
pub mod output;
pub mod report;
pub mod repro;
pub mod sae;
pub mod threads;
