//! One file per subcommand: parse, call the library, render.

pub mod attribution;
pub mod bench;
pub mod cmt;
pub mod contrastive;
pub mod data;
pub mod embed;
pub mod flow;
pub mod fx;
pub mod gan;
pub mod guidance;
pub mod list;
pub mod logic;
pub mod output;
pub mod report;
pub mod repro;
pub mod sae;
pub mod scene;
pub mod slots;
pub mod threads;
pub mod weights;
