//! One seed of the experiment: data → frozen segmentation analogue → every arm through the
//! general phase (measure) and the SCaR phase (measure again).

use burn::module::Module;
use genlab_core::Result;
use genlab_core::train::Observer;

use super::Sizes;
use crate::embedder::Arm;
use crate::eval::{ScarScore, scar_p1, unprompted_p1};
use crate::seg::{PromptKind, SegModel};
use crate::train::{Phase, ScarData, TrainConfig, fresh_embedder, pretrain_seg, train_phase};

/// Prompt types the VIRTUE arm is measured with (one model answers all of them).
pub const VIRTUE_PROMPTS: [PromptKind; 4] = [
    PromptKind::Box,
    PromptKind::Point,
    PromptKind::Mask,
    PromptKind::Grid,
];

/// A measured (arm, prompt) row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Report label, e.g. `virtue (point)`.
    pub label: String,
    /// SCaR-lite after the general phase.
    pub general: ScarScore,
    /// SCaR-lite after the SCaR phase.
    pub scar: ScarScore,
    /// Unprompted retrieval P@1 before the SCaR phase.
    pub unprompted_before: f64,
    /// … and after it (the forgetting check).
    pub unprompted_after: f64,
}

/// The label of an (arm, prompt) pair: the VIRTUE arm names its prompt.
pub fn label(arm: Arm, kind: PromptKind) -> String {
    match arm {
        Arm::Virtue => match kind {
            PromptKind::Box => "virtue".into(),
            PromptKind::Grid => "virtue (3×3 grid)".into(),
            k => format!("virtue ({})", k.name()),
        },
        a => a.name().into(),
    }
}

/// Everything one seed measured, plus what the figures show.
pub struct SeedRun {
    /// Rows, VIRTUE's prompt variants first.
    pub rows: Vec<Row>,
    /// Final mask-prediction loss of the frozen model.
    pub seg_loss: f64,
    /// Evaluation data (for the example figure).
    pub eval: ScarData,
}

/// Runs one seed.
pub fn run_seed(sizes: &Sizes, seed: u64, observer: &mut dyn Observer) -> Result<SeedRun> {
    let config = TrainConfig {
        seed,
        ..sizes.train
    };
    let data = ScarData::generate(seed, 0, config.queries);
    let eval = ScarData::generate(seed, 1, sizes.eval_queries);
    let (seg, history) = pretrain_seg(&data, &config, observer)?;
    let seg_loss = history.losses().last().map_or(f64::NAN, |l| l.1);
    let mut rows = Vec::new();
    for arm in Arm::ALL {
        rows.extend(run_arm(arm, &seg, &data, &eval, &config, sizes, observer)?);
    }
    Ok(SeedRun {
        rows,
        seg_loss,
        eval,
    })
}

fn run_arm(
    arm: Arm,
    seg: &SegModel,
    data: &ScarData,
    eval: &ScarData,
    config: &TrainConfig,
    sizes: &Sizes,
    observer: &mut dyn Observer,
) -> Result<Vec<Row>> {
    let kinds: &[PromptKind] = if arm == Arm::Virtue {
        &VIRTUE_PROMPTS
    } else {
        &[PromptKind::Box]
    };
    let model = fresh_embedder(config);
    let (model, _) = train_phase(
        arm,
        Phase::General,
        model,
        seg,
        data,
        config,
        None,
        false,
        observer,
    )?;
    let valid = model.valid();
    let before = unprompted_p1(arm, &valid, seg, eval, sizes.unprompted)?;
    let general: Vec<ScarScore> = kinds
        .iter()
        .map(|&k| scar_p1(arm, &valid, seg, eval, k))
        .collect::<Result<_>>()?;
    let (model, _) = train_phase(
        arm,
        Phase::Scar,
        model,
        seg,
        data,
        config,
        None,
        false,
        observer,
    )?;
    let valid = model.valid();
    let after = unprompted_p1(arm, &valid, seg, eval, sizes.unprompted)?;
    let mut rows = Vec::new();
    for (&k, g) in kinds.iter().zip(general) {
        let scar = scar_p1(arm, &valid, seg, eval, k)?;
        observer.message(&format!(
            "{}: SCaR P@1 {:.3} → {:.3} after SCaR training; unprompted P@1 {:.3} → {:.3}",
            label(arm, k),
            g.p1,
            scar.p1,
            before,
            after
        ));
        rows.push(Row {
            label: label(arm, k),
            general: g,
            scar,
            unprompted_before: before,
            unprompted_after: after,
        });
    }
    Ok(rows)
}
