//! In-tree fuzzing of flow's model directory (issue 25): model.json mutated, then loaded and
//! sampled; an accepted model must sample finite points of its dimension. Budget:
//! `GENLAB_FUZZ_CASES` (default 150).

use genlab_core::testing::{fuzz, rejected, scratch};
use genlab_core::train::SeededRng;
use genlab_flow::{Edm, FlowModel, ModelSpec, Normalizer, Process, Solver, TimeMlpConfig};

#[test]
fn fuzz_model_json() {
    let (dir, _) = scratch("x");
    let device = genlab_core::device::device();
    let model = FlowModel {
        spec: ModelSpec {
            process: Process::Edm(Edm::default()),
            net: TimeMlpConfig::new(2)
                .with_width(8)
                .with_depth(2)
                .with_n_freqs(2),
            norm: Normalizer {
                mean: vec![0.5, -0.5],
                factor: 2.0,
            },
            solver: Solver::Heun,
            steps: 3,
            consistency: None,
        },
        net: genlab_flow::testutil::tiny_net(2, &device),
    };
    model.save(dir.path()).unwrap();
    let spec_path = dir.path().join("model.json");
    let seed = std::fs::read(&spec_path).unwrap();
    fuzz("flow model.json", &[seed], 150, |b| {
        std::fs::write(&spec_path, b).unwrap();
        let m = match FlowModel::load(dir.path(), &device) {
            Ok(m) => m,
            Err(e) => return rejected(e),
        };
        let steps = m.spec.steps.min(8);
        let p = m.sample(3, steps, m.spec.solver, &mut SeededRng::new(0), &device);
        if p.d != m.dim() || p.len() != 3 {
            return Err(format!("sampled {} points of dimension {}", p.len(), p.d));
        }
        // Non-finite samples are caught by the CLI ("the model diverged"); count them here.
        Ok(p.data.iter().all(|v| v.is_finite()))
    });
}
