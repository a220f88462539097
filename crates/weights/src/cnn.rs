//! The permutation spec of a small CNN: convolutions, BatchNorm and dense layers in sequence.
//!
//! A conv kernel is `[out, in, kh, kw]`. Permuting the output channels of conv ℓ by P_ℓ leaves
//! the function unchanged when the same P_ℓ permutes everything that carries those channels:
//!
//! ```text
//! conv ℓ:     K_ℓ ← K_ℓ[P_ℓ, P_{ℓ−1}, :, :]      (bias b_ℓ ← b_ℓ[P_ℓ])
//! BN after ℓ: γ, β, running mean, running var ← [P_ℓ]      (per-channel, so they move along)
//! flatten:    the first dense layer after the last conv reads the channel-major flatten
//!             c·(h·w) + s, so its weight [out, c·h·w] is viewed as [out, c, h·w] and P_ℓ
//!             acts on axis 1
//! dense ℓ:    W_ℓ ← P_ℓ W_ℓ P_{ℓ−1}ᵀ as in an MLP; the last layer's outputs stay put
//! ```
//!
//! Running statistics are permuted with their channels but they are statistics, not weights:
//! they take part in the weight-matching objective like every other permuted tensor (the
//! reference PyTorch ports list them in the spec too), which is harmless — a generated or
//! interpolated network has them recalibrated anyway ([`crate::convnet::ConvNet::recalibrate`]).
//! `num_batches_tracked` (a PyTorch scalar counter) has no axis to permute.
//!
//! [`CnnSpec::detect`] reads the layers from tensor names and shapes: tensors are grouped by
//! prefix (the name up to its last `.`), prefixes are taken in natural order (as PyTorch's
//! `nn.Sequential` numbers them: `features.0`, `features.1`, …) or in an order the caller
//! gives, and each group is a conv (4-D `weight`), a BatchNorm (`weight`, `bias`,
//! `running_mean`, `running_var`) or a dense layer (2-D `weight`).

use crate::error::{WResult, WeightsError};
use crate::params::{Params, natural_cmp};
use crate::spec::{Perm, PermSpec};

/// One layer of a [`CnnSpec`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Layer {
    /// A convolution: kernel `[out, in, kh, kw]` and an optional bias `[out]`.
    Conv {
        /// Kernel tensor name.
        weight: String,
        /// Bias tensor name, if any.
        bias: Option<String>,
        /// Output channels.
        out: usize,
        /// Input channels.
        inp: usize,
    },
    /// A BatchNorm over the previous layer's channels: `{prefix}.weight`, `.bias`,
    /// `.running_mean`, `.running_var` (and PyTorch's `.num_batches_tracked`, if present).
    Norm {
        /// Tensor name prefix.
        prefix: String,
        /// Channels.
        channels: usize,
        /// Whether `{prefix}.num_batches_tracked` is present.
        tracked: bool,
    },
    /// A fully connected layer: weight `[out, in]`, bias `[out]`.
    Dense {
        /// Weight tensor name.
        weight: String,
        /// Bias tensor name.
        bias: String,
        /// Outputs.
        out: usize,
        /// Inputs.
        inp: usize,
    },
}

/// BatchNorm tensors that carry the channels.
pub const NORM_TENSORS: [&str; 4] = ["weight", "bias", "running_mean", "running_var"];

/// A sequence of conv / BatchNorm / dense layers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CnnSpec {
    /// The layers, input first.
    pub layers: Vec<Layer>,
}

fn mismatch(msg: String) -> WeightsError {
    WeightsError::SpecMismatch(msg)
}

impl CnnSpec {
    /// The layers `params` declares (module doc). `order`: the layer prefixes in network
    /// order, when natural name order is not it (e.g. `conv1,bn1,conv2,bn2,fc`).
    pub fn detect(params: &Params, order: Option<&[String]>) -> WResult<CnnSpec> {
        let mut prefixes: Vec<String> = Vec::new();
        for n in &params.names {
            let p = n.rsplit_once('.').map_or("", |(p, _)| p).to_string();
            if !prefixes.contains(&p) {
                prefixes.push(p);
            }
        }
        match order {
            Some(order) => {
                for p in &prefixes {
                    if !order.contains(p) {
                        return Err(mismatch(format!(
                            "tensors of `{p}` are not in the layer order"
                        )));
                    }
                }
                if let Some(p) = order.iter().find(|p| !prefixes.contains(p)) {
                    return Err(mismatch(format!("no tensors named `{p}.*`")));
                }
                prefixes = order.to_vec();
            }
            None => prefixes.sort_by(|a, b| natural_cmp(a, b)),
        }
        let get = |name: &str| params.get(name);
        let mut layers = Vec::new();
        let mut used = 0;
        for p in &prefixes {
            let name = |t: &str| {
                if p.is_empty() {
                    t.to_string()
                } else {
                    format!("{p}.{t}")
                }
            };
            let w = get(&name("weight"))
                .ok_or_else(|| mismatch(format!("layer `{p}` has no `weight`")))?;
            let bias = get(&name("bias"));
            if let Some(b) = bias
                && b.shape != [w.shape[0]]
            {
                return Err(mismatch(format!(
                    "`{}` is {:?} for {} outputs",
                    name("bias"),
                    b.shape,
                    w.shape[0]
                )));
            }
            used += 1 + bias.is_some() as usize;
            let layer = if get(&name("running_mean")).is_some() {
                for t in &NORM_TENSORS[1..] {
                    match get(&name(t)) {
                        Some(a) if a.shape == w.shape => {}
                        _ => {
                            return Err(mismatch(format!(
                                "BatchNorm `{p}` needs `{}` of shape {:?}",
                                name(t),
                                w.shape
                            )));
                        }
                    }
                }
                let tracked = get(&name("num_batches_tracked")).is_some();
                used += 2 + tracked as usize;
                Layer::Norm {
                    prefix: p.clone(),
                    channels: w.shape[0],
                    tracked,
                }
            } else if w.shape.len() == 4 {
                Layer::Conv {
                    weight: name("weight"),
                    bias: bias.map(|_| name("bias")),
                    out: w.shape[0],
                    inp: w.shape[1],
                }
            } else if w.shape.len() == 2 {
                Layer::Dense {
                    weight: name("weight"),
                    bias: name("bias"),
                    out: w.shape[0],
                    inp: w.shape[1],
                }
            } else {
                return Err(mismatch(format!(
                    "`{}` is {:?}: neither a conv kernel [out, in, kh, kw], a BatchNorm nor a dense [out, in]",
                    name("weight"),
                    w.shape
                )));
            };
            if matches!(layer, Layer::Dense { .. }) && bias.is_none() {
                return Err(mismatch(format!("dense layer `{p}` has no bias")));
            }
            layers.push(layer);
        }
        if used != params.names.len() {
            return Err(mismatch(format!(
                "{} tensors outside the conv / BatchNorm / dense layers",
                params.names.len() - used
            )));
        }
        let spec = CnnSpec { layers };
        spec.chain()?;
        Ok(spec)
    }

    /// Checks that each layer takes what the previous gives; returns, per layer, the
    /// channels it reads (after a conv, a dense layer reads `c · h·w`).
    fn chain(&self) -> WResult<()> {
        let mut channels: Option<(usize, bool)> = None; // (units, from a conv)
        if !self.layers.iter().any(|l| matches!(l, Layer::Conv { .. })) {
            return Err(mismatch("no conv kernel (4-D `weight`): not a CNN".into()));
        }
        for l in &self.layers {
            match l {
                Layer::Conv {
                    weight, inp, out, ..
                } => {
                    if let Some((c, conv)) = channels
                        && (c != *inp || !conv)
                    {
                        return Err(mismatch(format!(
                            "`{weight}` takes {inp} channels but the previous layer gives {c}{}",
                            if conv {
                                ""
                            } else {
                                " (a conv after a dense layer)"
                            }
                        )));
                    }
                    channels = Some((*out, true));
                }
                Layer::Norm {
                    prefix,
                    channels: c,
                    ..
                } => match channels {
                    Some((units, _)) if units == *c => {}
                    _ => {
                        return Err(mismatch(format!(
                            "BatchNorm `{prefix}` has {c} channels, the layer before gives {:?}",
                            channels.map(|c| c.0)
                        )));
                    }
                },
                Layer::Dense {
                    weight, inp, out, ..
                } => {
                    if let Some((c, conv)) = channels {
                        let ok = if conv { *inp % c == 0 } else { *inp == c };
                        if !ok {
                            return Err(mismatch(format!(
                                "`{weight}` takes {inp} inputs, not a multiple of the {c} channels before it"
                            )));
                        }
                    }
                    channels = Some((*out, false));
                }
            }
        }
        Ok(())
    }

    /// The permutation spec (module doc): one permutation per conv / dense layer but the last.
    pub fn perm_spec(&self) -> PermSpec {
        let last = self
            .layers
            .iter()
            .rposition(|l| !matches!(l, Layer::Norm { .. }))
            .expect("a CNN has layers");
        let mut perms: Vec<Perm> = Vec::new();
        let mut axes = Vec::new();
        let mut views = Vec::new();
        // The permutation on the current units, and whether they are conv channels.
        let mut current: Option<(usize, bool)> = None;
        for (k, l) in self.layers.iter().enumerate() {
            let own = |perms: &mut Vec<Perm>, size: usize| {
                (k < last).then(|| {
                    perms.push(Perm {
                        name: format!("P_{}", perms.len() + 1),
                        size,
                    });
                    perms.len() - 1
                })
            };
            match l {
                Layer::Conv {
                    weight, bias, out, ..
                } => {
                    let p = own(&mut perms, *out);
                    axes.push((weight.clone(), vec![p, current.map(|c| c.0), None, None]));
                    if let Some(b) = bias {
                        axes.push((b.clone(), vec![p]));
                    }
                    current = p.map(|p| (p, true));
                }
                Layer::Norm {
                    prefix, tracked, ..
                } => {
                    for t in NORM_TENSORS {
                        axes.push((format!("{prefix}.{t}"), vec![current.map(|c| c.0)]));
                    }
                    if *tracked {
                        axes.push((format!("{prefix}.num_batches_tracked"), vec![]));
                    }
                }
                Layer::Dense {
                    weight,
                    bias,
                    out,
                    inp,
                } => {
                    let p = own(&mut perms, *out);
                    match current {
                        Some((q, true)) => {
                            let c = perms[q].size;
                            views.push((weight.clone(), vec![*out, c, inp / c]));
                            axes.push((weight.clone(), vec![p, Some(q), None]));
                        }
                        _ => axes.push((weight.clone(), vec![p, current.map(|c| c.0)])),
                    }
                    axes.push((bias.clone(), vec![p]));
                    current = p.map(|p| (p, false));
                }
            }
        }
        PermSpec { perms, axes, views }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convnet::ConvNet;
    use crate::matching::weight_matching;
    use genlab_core::train::SeededRng;

    fn random_perms(spec: &PermSpec, rng: &mut SeededRng) -> Vec<Vec<usize>> {
        spec.perms.iter().map(|p| rng.permutation(p.size)).collect()
    }

    /// A trained-looking CNN (random kernels, non-trivial BN statistics).
    fn net(rng: &mut SeededRng) -> ConvNet {
        let mut net = ConvNet::init(&[1, 6, 8], 8, 10, rng);
        for l in 0..2 {
            for v in [&mut net.gamma[l], &mut net.beta[l], &mut net.mean[l]] {
                v.iter_mut().for_each(|g| *g += 0.3 * rng.normal_vec(1)[0]);
            }
            net.var[l]
                .iter_mut()
                .for_each(|v| *v = 0.5 + rng.uniform_vec(1)[0]);
        }
        net
    }

    #[test]
    fn detects_genlab_cnn_and_its_spec() {
        let mut rng = SeededRng::new(31);
        let p = net(&mut rng).to_params();
        let spec = CnnSpec::detect(&p, None).unwrap();
        assert_eq!(spec.layers.len(), 5);
        let ps = spec.perm_spec();
        assert_eq!(ps.perms.iter().map(|p| p.size).collect::<Vec<_>>(), [6, 8]);
        assert_eq!(ps.views, [("layers.7.weight".to_string(), vec![10, 8, 4])]);
        ps.check(&p).unwrap();
    }

    /// A permuted copy computes the same function (within 1e-6) and weight matching recovers
    /// it exactly (zero distance).
    #[test]
    fn permuted_copy_is_the_same_function_and_is_matched_back_exactly() {
        let mut rng = SeededRng::new(32);
        let a = net(&mut rng);
        let pa = a.to_params();
        let ps = CnnSpec::detect(&pa, None).unwrap().perm_spec();
        let perms = random_perms(&ps, &mut rng);
        let pb = ps.apply(&pa, &perms);
        assert_ne!(pa, pb);
        let b = ConvNet::from_params(&pb, 8).unwrap();
        let n = 16;
        let x = rng.uniform_vec(n * 64);
        let (ya, yb) = (a.logits(&x, n), b.logits(&x, n));
        let worst = ya
            .iter()
            .zip(&yb)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "outputs differ by {worst}");
        let m = weight_matching(&ps, &pa, &pb, 100, &mut SeededRng::new(42)).unwrap();
        assert_eq!(
            ps.apply(&pb, &m.perms),
            pa,
            "distance after matching must be zero"
        );
    }

    /// J never decreases across sweeps on two independent CNNs, and rises overall.
    #[test]
    fn objective_never_decreases() {
        let mut rng = SeededRng::new(33);
        for trial in 0..4 {
            let (a, b) = (net(&mut rng).to_params(), net(&mut rng).to_params());
            let ps = CnnSpec::detect(&a, None).unwrap().perm_spec();
            let m = weight_matching(&ps, &a, &b, 100, &mut SeededRng::new(trial)).unwrap();
            for w in m.objective.windows(2) {
                assert!(w[1] >= w[0] - 1e-9, "trial {trial}: {:?}", m.objective);
            }
            assert!(m.objective.last().unwrap() > &m.objective[0]);
        }
    }

    /// PyTorch-style names in a given order, a bias on the conv, the scalar counter; and the
    /// one-line refusals.
    #[test]
    fn declared_order_and_bad_layouts() {
        use crate::params::Array;
        let t = |shape: Vec<usize>| Array {
            data: vec![0.5; shape.iter().product()],
            shape,
        };
        let mut pairs = vec![
            ("conv1.weight".to_string(), t(vec![4, 1, 3, 3])),
            ("conv1.bias".into(), t(vec![4])),
            ("bn1.num_batches_tracked".into(), t(vec![])),
            ("fc.weight".into(), t(vec![10, 16])),
            ("fc.bias".into(), t(vec![10])),
        ];
        for n in NORM_TENSORS {
            pairs.push((format!("bn1.{n}"), t(vec![4])));
        }
        let p = Params::new(pairs);
        let order: Vec<String> = ["conv1", "bn1", "fc"].map(String::from).to_vec();
        let spec = CnnSpec::detect(&p, Some(&order)).unwrap();
        spec.perm_spec().check(&p).unwrap();
        // Natural order puts bn1 first: a BatchNorm before any conv.
        let err = CnnSpec::detect(&p, None).unwrap_err().to_string();
        assert!(err.contains("BatchNorm `bn1`"), "{err}");
        let bad: Vec<String> = ["conv1", "fc"].map(String::from).to_vec();
        let err = CnnSpec::detect(&p, Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("not in the layer order"), "{err}");
    }
}
