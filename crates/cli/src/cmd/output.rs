//! Where the training and sampling commands put their results: a training run's directory
//! (`--out`, continued with `--resume`), its loss history, and generated samples (a file, or
//! standard output).

use std::path::{Path, PathBuf};

use anyhow::bail;
use genlab_core::fsx;
use genlab_core::train::{CHECKPOINT_FILE, History};

/// The directory a training run writes, and whether to continue the run it holds.
#[derive(clap::Args, Debug)]
pub struct RunDir {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in OUT/checkpoint.bin, finished or interrupted (Ctrl-C). The model,
    /// data and optimiser settings must be the ones it was started with; only --steps may
    /// change: a larger --steps trains it for longer, continuing from the step it reached,
    /// with the learning-rate schedule recomputed over the new total (a decayed rate rises
    /// again to where the longer schedule is at that step; steps already taken keep theirs).
    #[arg(long)]
    pub resume: bool,
}

impl RunDir {
    /// OUT/checkpoint.bin.
    pub fn checkpoint(&self) -> PathBuf {
        self.out.join(CHECKPOINT_FILE)
    }

    /// Refuses to start a fresh run where one already is (it would be overwritten). (A
    /// `--resume` without a checkpoint is reported by the trainer, which then starts at step 0.)
    pub fn refuse_to_restart(&self) -> anyhow::Result<()> {
        if !self.resume && self.checkpoint().exists() {
            bail!(
                "{} already holds a training run; pass --resume to continue it or choose another --out",
                self.out.display()
            );
        }
        Ok(())
    }
}

/// Writes `history` as `dir`/losses.csv and returns the last loss (NaN when there is none).
pub fn write_losses(history: &History, dir: &Path) -> anyhow::Result<f64> {
    history.write_csv(&dir.join("losses.csv"))?;
    Ok(history.losses().last().map_or(f64::NAN, |&(_, l)| l))
}

/// Writes `text` to `out` (atomically, saying `wrote WHAT to OUT` on standard error) or, with
/// no file, to standard output.
pub fn write_or_print(out: Option<&Path>, text: &str, what: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            fsx::atomic_write(path, text.as_bytes())?;
            eprintln!("wrote {what} to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
