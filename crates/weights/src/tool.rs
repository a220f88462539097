//! The family's tools on the user's own files: Re-Basin of two safetensors MLPs (with the loss
//! barrier before and after), a folder of networks of one spec as a zoo, and a trained flow's
//! model directory.
//!
//! ```text
//! rebasin(A, B):  spec = detect(A) = detect(B) (an MLP, or a CNN: [`rebasin_cnn`]);  P = weight_matching(A, B) (or activation
//!                 matching on data);  B' = π_P(B);  ‖A − B‖ → ‖A − B'‖;  barrier(A, B) → barrier(A, B')
//! model dir:      model.json (FlowSpec) · weights.bpk (the velocity net) · pca.safetensors
//! ```

use std::path::{Path, PathBuf};

use genlab_core::{Error, Result, device, weights};
use serde::{Deserialize, Serialize};

use crate::barrier::{self, Path as BarrierPath};
use crate::cnn::CnnSpec;
use crate::convnet::ConvNet;
use crate::error::WeightsError;
use crate::eval::distance;
use crate::flow::{WeightFlowNet, WeightFlowNetConfig};
use crate::matching::{Matching, activation_matching, weight_matching};
use crate::mlp::Mlp;
use crate::params::{Array, Params, natural_cmp};
use crate::pca::Pca;
use crate::spec::MlpSpec;
use crate::train::{FlowConfig, WeightFlow};

/// How B is matched to A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Weight matching (coordinate descent over assignments).
    Weight,
    /// Activation matching on the barrier data.
    Activation,
}

/// What [`rebasin`] found.
#[derive(Debug, Clone)]
pub struct Rebasin {
    /// The spec both networks follow.
    pub spec: MlpSpec,
    /// The permutations and the objective per sweep.
    pub matching: Matching,
    /// B permuted onto A, under B's tensor names.
    pub aligned: Params,
    /// ‖θ_A − θ_B‖ before and after.
    pub distance: (f64, f64),
    /// The interpolation paths before and after, when data was given.
    pub paths: Option<(BarrierPath, BarrierPath)>,
}

/// Aligns `b` to `a` (module doc). `data` = (inputs `[n, d_in]`, labels) for the barrier and
/// for activation matching.
pub fn rebasin(
    a: &Params,
    b: &Params,
    method: Method,
    data: Option<(&[f32], &[u32])>,
    points: usize,
    seed: u64,
) -> Result<Rebasin> {
    let spec = MlpSpec::detect(a)?;
    let spec_b = MlpSpec::detect(b)?;
    if spec.widths != spec_b.widths {
        return Err(WeightsError::SpecMismatch(format!(
            "widths {:?} vs {:?}",
            spec.widths, spec_b.widths
        ))
        .into());
    }
    // B under A's names (they may differ only in naming).
    let mb = Mlp::from_params(&spec_b, b)?;
    let ma = Mlp::from_params(&spec, a)?;
    let pb = mb.to_params(&spec);
    let pspec = spec.perm_spec();
    let matching = match (method, data) {
        (Method::Weight, _) => weight_matching(
            &pspec,
            a,
            &pb,
            100,
            &mut genlab_core::train::SeededRng::new(seed),
        )?,
        (Method::Activation, Some((x, y))) => activation_matching(&spec, &ma, &mb, x, y.len())?,
        (Method::Activation, None) => {
            return Err(Error::InvalidInput(
                "activation matching needs data (--data)".into(),
            ));
        }
    };
    let aligned_a_names = pspec.apply(&pb, &matching.perms);
    let aligned_mlp = Mlp::from_params(&spec, &aligned_a_names)?;
    let aligned = aligned_mlp.to_params(&spec_b);
    let distance = (
        distance(&ma.flat(), &mb.flat()),
        distance(&ma.flat(), &aligned_mlp.flat()),
    );
    let paths = data.map(|(x, y)| {
        (
            barrier::path(&ma, &mb, x, y, points),
            barrier::path(&ma, &aligned_mlp, x, y, points),
        )
    });
    Ok(Rebasin {
        spec,
        matching,
        aligned,
        distance,
        paths,
    })
}

/// What [`rebasin_cnn`] found.
#[derive(Debug, Clone)]
pub struct CnnRebasin {
    /// The layers both networks follow.
    pub spec: CnnSpec,
    /// The permutations and the objective per sweep.
    pub matching: Matching,
    /// B permuted onto A.
    pub aligned: Params,
    /// ‖θ_A − θ_B‖ before and after (every tensor, running statistics included).
    pub distance: (f64, f64),
    /// The BN-recalibrated interpolation paths before and after, for genlab's digit CNNs.
    pub paths: Option<(BarrierPath, BarrierPath)>,
}

/// Weight matching of the CNN `b` onto `a` ([`crate::cnn`]): the layers are read from the
/// tensor names and shapes (in natural name order, or `order`). When both are genlab's 8×8
/// digit CNNs, the loss barrier is measured on the digits test split with every point of the
/// path BatchNorm-recalibrated on 512 training digits.
pub fn rebasin_cnn(
    a: &Params,
    b: &Params,
    order: Option<&[String]>,
    points: usize,
    seed: u64,
) -> Result<CnnRebasin> {
    let spec = CnnSpec::detect(a, order)?;
    let spec_b = CnnSpec::detect(b, order)?;
    if spec != spec_b {
        return Err(WeightsError::SpecMismatch(
            "the two CNNs have different layers (names or channels)".into(),
        )
        .into());
    }
    a.same_layout(b)?;
    let pspec = spec.perm_spec();
    let matching = weight_matching(
        &pspec,
        a,
        b,
        100,
        &mut genlab_core::train::SeededRng::new(seed),
    )?;
    let aligned = pspec.apply(b, &matching.perms);
    let distance = (
        distance(&a.flatten(), &b.flatten()),
        distance(&a.flatten(), &aligned.flatten()),
    );
    let side = crate::cnn_zoo::SIDE;
    let paths = match (
        ConvNet::from_params(a, side),
        ConvNet::from_params(b, side),
        ConvNet::from_params(&aligned, side),
    ) {
        (Ok(na), Ok(nb), Ok(nal)) if na.channels[0] == 1 && na.classes == 10 => {
            let d = crate::zoo::Digits::load();
            let calib = &d.x_train[..512 * crate::zoo::PIXELS];
            Some((
                barrier::path_cnn(&na, &nb, &d.x_test, &d.y_test, calib, points)?,
                barrier::path_cnn(&na, &nal, &d.x_test, &d.y_test, calib, points)?,
            ))
        }
        _ => None,
    };
    Ok(CnnRebasin {
        spec,
        matching,
        aligned,
        distance,
        paths,
    })
}

/// Every `*.safetensors` network in `dir` (natural name order), all of one MLP spec.
pub fn read_zoo_dir(dir: &Path) -> Result<(MlpSpec, Vec<(PathBuf, Mlp)>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    if files.len() < 2 {
        return Err(Error::InvalidInput(format!(
            "{} holds {} .safetensors networks; a zoo needs at least 2",
            dir.display(),
            files.len()
        )));
    }
    let mut spec: Option<MlpSpec> = None;
    let mut nets = Vec::new();
    for f in files {
        let p = Params::read(&f)?;
        let s = MlpSpec::detect(&p).map_err(|e| Error::parse(&f, None, e.to_string()))?;
        if let Some(first) = &spec
            && first != &s
        {
            return Err(Error::parse(
                &f,
                None,
                format!(
                    "spec {:?} differs from the zoo's {:?}",
                    s.widths, first.widths
                ),
            ));
        }
        nets.push((f, Mlp::from_params(&s, &p)?));
        spec.get_or_insert(s);
    }
    Ok((spec.expect("≥ 2 files"), nets))
}

/// The spec file of a flow model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowSpec {
    /// The training configuration.
    pub config: FlowConfig,
    /// The flow's space dimension.
    pub dim: usize,
    /// The networks it generates.
    pub mlp: MlpSpec,
    /// Whether the zoo was aligned before training.
    pub aligned: bool,
    /// Mean training loss of the kept epoch.
    pub best_loss: f64,
}

const PCA_FILE: &str = "pca.safetensors";

/// Writes a flow model directory (module doc).
pub fn save_flow(dir: &Path, flow: &WeightFlow, mlp: &MlpSpec, aligned: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    if let Some(p) = &flow.pca {
        let d = p.mean.len();
        Params::new(vec![
            (
                "mean".into(),
                Array {
                    shape: vec![d],
                    data: p.mean.clone(),
                },
            ),
            (
                "components".into(),
                Array {
                    shape: vec![p.dim(), d],
                    data: p.components.concat(),
                },
            ),
            (
                "variance".into(),
                Array {
                    shape: vec![p.dim()],
                    data: p.variance.iter().map(|&v| v as f32).collect(),
                },
            ),
        ])
        .write(&dir.join(PCA_FILE))?;
    }
    let spec = FlowSpec {
        config: flow.config.clone(),
        dim: flow.dim,
        mlp: mlp.clone(),
        aligned,
        best_loss: flow.best_loss,
    };
    weights::save_model(dir, &spec, &flow.net)
}

/// Reads a flow model directory written by [`save_flow`].
pub fn load_flow(dir: &Path) -> Result<(WeightFlow, FlowSpec)> {
    if !dir.join(weights::MODEL_SPEC_FILE).exists() {
        return Err(Error::InvalidInput(format!(
            "{} is not a genlab weights model (no {}); train one with `genlab weights train-flow`",
            dir.display(),
            weights::MODEL_SPEC_FILE
        )));
    }
    let dev = device::device();
    let (spec, net): (FlowSpec, WeightFlowNet) =
        weights::load_model(dir, "weights", |s: &FlowSpec| {
            WeightFlowNetConfig::new(s.dim, s.config.hidden)
                .with_dropout(s.config.dropout)
                .init(&dev)
        })?;
    let pca = match spec.config.pca {
        Some(_) => {
            let path = dir.join(PCA_FILE);
            let p = Params::read(&path)?;
            let get = |n: &str| {
                p.get(n)
                    .ok_or_else(|| Error::parse(&path, None, format!("no `{n}`")))
            };
            let (mean, comps, var) = (get("mean")?, get("components")?, get("variance")?);
            Some(Pca {
                mean: mean.data.clone(),
                components: comps
                    .data
                    .chunks_exact(mean.data.len())
                    .map(<[f32]>::to_vec)
                    .collect(),
                variance: var.data.iter().map(|&v| v as f64).collect(),
            })
        }
        None => None,
    };
    let flow = WeightFlow {
        config: spec.config.clone(),
        net,
        pca,
        dim: spec.dim,
        history: Default::default(),
        best_loss: spec.best_loss,
    };
    Ok((flow, spec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    /// Torch-style names (`net.0`, `net.2`) are detected, matched and written back under the
    /// same names; a permuted copy comes back at distance 0.
    #[test]
    fn rebasin_of_a_permuted_copy_under_torch_names() {
        let mut rng = SeededRng::new(21);
        let widths = [16, 7, 6, 3];
        let spec = MlpSpec {
            layers: (0..3)
                .map(|l| {
                    (
                        format!("net.{}.weight", 2 * l),
                        format!("net.{}.bias", 2 * l),
                    )
                })
                .collect(),
            widths: widths.to_vec(),
        };
        let a = Mlp::init(&widths, &mut rng);
        let pspec = spec.perm_spec();
        let perms: Vec<Vec<usize>> = pspec
            .perms
            .iter()
            .map(|p| rng.permutation(p.size))
            .collect();
        let pa = a.to_params(&spec);
        let pb = pspec.apply(&pa, &perms);
        let x = rng.normal_vec(10 * 16);
        let y: Vec<u32> = (0..10).map(|s| s % 3).collect();
        let r = rebasin(&pa, &pb, Method::Weight, Some((&x, &y)), 5, 0).unwrap();
        assert!(r.distance.0 > 0.1);
        assert_eq!(r.distance.1, 0.0);
        assert_eq!(r.aligned, pa);
        let (before, after) = r.paths.unwrap();
        assert!(before.barrier() >= 0.0 && after.barrier() < 1e-6);
    }
}
