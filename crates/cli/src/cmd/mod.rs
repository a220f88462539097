//! One file per subcommand: parse, call the library, render.

pub mod bench;
pub mod cmt;
pub mod data;
pub mod flow;
pub mod list;
pub mod report;
pub mod repro;
pub mod threads;
