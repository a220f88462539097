//! The permutation spec: which hidden-unit permutation acts on which axis of which tensor.
//!
//! For an MLP z_{ℓ+1} = σ(W_ℓ z_ℓ + b_ℓ), permuting hidden layer ℓ by P_ℓ leaves the function
//! unchanged when
//!
//! ```text
//! W_ℓ ← P_ℓ W_ℓ P_{ℓ−1}ᵀ,   b_ℓ ← P_ℓ b_ℓ,    P_0 = P_L = I (inputs and outputs stay put)
//! ```
//!
//! In the generic form every permutation p lists the (tensor, axis) pairs it acts on, and every
//! tensor lists, per axis, the permutation acting there (or none). A permutation is stored as
//! `perm[i] = j`: position i of the permuted tensor takes index j of the original,
//! `T'[…, i, …] = T[…, perm[i], …]`. A small CNN fits the same form (a conv kernel
//! `[out, in, kh, kw]` has P_ℓ on axis 0 and P_{ℓ−1} on axis 1).

use crate::error::{WResult, WeightsError};
use crate::params::{Array, Params, natural_cmp};

/// One permutation: its name and size.
#[derive(Debug, Clone, PartialEq)]
pub struct Perm {
    /// Name (`P_1`, …).
    pub name: String,
    /// Number of units it permutes.
    pub size: usize,
}

/// A permutation spec: the permutations, and for every tensor the permutation on each axis.
#[derive(Debug, Clone, PartialEq)]
pub struct PermSpec {
    /// The permutations.
    pub perms: Vec<Perm>,
    /// `(tensor name, per-axis permutation index)`, for every tensor of the network.
    pub axes: Vec<(String, Vec<Option<usize>>)>,
    /// Tensors the spec sees with a finer shape of the same values (the dense layer after a
    /// conv: `[out, c·h·w]` viewed as `[out, c, h·w]`, so the conv's channel permutation acts
    /// on axis 1); their `axes` follow the view.
    pub views: Vec<(String, Vec<usize>)>,
}

/// A fully connected ReLU network: its layers' (weight, bias) tensor names and its widths
/// `[d_in, h_1, …, d_out]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpSpec {
    /// `(weight name, bias name)` of each layer, input layer first.
    pub layers: Vec<(String, String)>,
    /// Widths, input first.
    pub widths: Vec<usize>,
}

impl MlpSpec {
    /// The spec of the networks genlab trains: layers `layers.{ℓ}.weight` `[out, in]` and
    /// `layers.{ℓ}.bias`.
    pub fn new(widths: &[usize]) -> MlpSpec {
        let layers = (0..widths.len() - 1)
            .map(|l| (format!("layers.{l}.weight"), format!("layers.{l}.bias")))
            .collect();
        MlpSpec {
            layers,
            widths: widths.to_vec(),
        }
    }

    /// The MLP spec a set of tensors declares: every `X.weight` (2-D, `[out, in]`) with its
    /// `X.bias`, layers in natural order of X, each layer's input the previous one's output.
    pub fn detect(params: &Params) -> WResult<MlpSpec> {
        let mut prefixes: Vec<&str> = params
            .names
            .iter()
            .filter_map(|n| n.strip_suffix(".weight"))
            .collect();
        prefixes.sort_by(|a, b| natural_cmp(a, b));
        if prefixes.is_empty() {
            return Err(WeightsError::SpecMismatch(
                "no `*.weight` tensors: not an MLP (expected layers `X.weight` [out, in] and `X.bias` [out])".into(),
            ));
        }
        let mut layers = Vec::new();
        let mut widths = Vec::new();
        for p in &prefixes {
            let (wn, bn) = (format!("{p}.weight"), format!("{p}.bias"));
            let w = params.get(&wn).expect("listed above");
            let b = params
                .get(&bn)
                .ok_or_else(|| WeightsError::SpecMismatch(format!("`{wn}` has no bias `{bn}`")))?;
            if w.shape.len() != 2 || b.shape != [w.shape[0]] {
                return Err(WeightsError::SpecMismatch(format!(
                    "`{wn}` is {:?} and `{bn}` {:?}; an MLP layer is [out, in] with bias [out]",
                    w.shape, b.shape
                )));
            }
            match widths.last() {
                None => widths.push(w.shape[1]),
                Some(&prev) if prev != w.shape[1] => {
                    return Err(WeightsError::SpecMismatch(format!(
                        "`{wn}` takes {} inputs but the previous layer gives {prev}",
                        w.shape[1]
                    )));
                }
                _ => {}
            }
            widths.push(w.shape[0]);
            layers.push((wn, bn));
        }
        if params.names.len() != 2 * layers.len() {
            let extra: Vec<&str> = params
                .names
                .iter()
                .filter(|n| !layers.iter().any(|(w, b)| w == *n || b == *n))
                .map(|n| n.as_str())
                .collect();
            return Err(WeightsError::SpecMismatch(format!(
                "tensors outside the MLP layers: {}",
                extra.join(", ")
            )));
        }
        Ok(MlpSpec { layers, widths })
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// The permutation spec: P_ℓ on the rows of W_ℓ and b_ℓ and the columns of W_{ℓ+1}, for
    /// every hidden layer ℓ.
    pub fn perm_spec(&self) -> PermSpec {
        let hidden = self.depth() - 1;
        let perms = (0..hidden)
            .map(|l| Perm {
                name: format!("P_{}", l + 1),
                size: self.widths[l + 1],
            })
            .collect();
        let mut axes = Vec::new();
        for (l, (w, b)) in self.layers.iter().enumerate() {
            let out = (l < hidden).then_some(l);
            let inp = l.checked_sub(1);
            axes.push((w.clone(), vec![out, inp]));
            axes.push((b.clone(), vec![out]));
        }
        PermSpec {
            perms,
            axes,
            views: Vec::new(),
        }
    }
}

/// `T'[…, i, …] = T[…, perm[i], …]` along `axis`.
pub fn permute_axis(a: &Array, axis: usize, perm: &[usize]) -> Array {
    let outer: usize = a.shape[..axis].iter().product();
    let n = a.shape[axis];
    let inner: usize = a.shape[axis + 1..].iter().product();
    let mut data = vec![0.0; a.data.len()];
    for o in 0..outer {
        for (i, &j) in perm.iter().enumerate() {
            let dst = (o * n + i) * inner;
            let src = (o * n + j) * inner;
            data[dst..dst + inner].copy_from_slice(&a.data[src..src + inner]);
        }
    }
    Array {
        shape: a.shape.clone(),
        data,
    }
}

/// `a` with `axis` moved first, as a row-major `[shape[axis], rest]` matrix in f64.
pub fn axis_first(a: &Array, axis: usize) -> (usize, usize, Vec<f64>) {
    let outer: usize = a.shape[..axis].iter().product();
    let n = a.shape[axis];
    let inner: usize = a.shape[axis + 1..].iter().product();
    let rest = outer * inner;
    let mut m = vec![0.0; n * rest];
    for o in 0..outer {
        for i in 0..n {
            let src = &a.data[(o * n + i) * inner..][..inner];
            let dst = &mut m[i * rest + o * inner..][..inner];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s as f64;
            }
        }
    }
    (n, rest, m)
}

/// ⟨A, π(B)⟩ for one tensor: Σ over every index of A[idx] · B[idx with each permuted axis
/// mapped through its permutation] (`axis_perms[ax]`, or `None`), without building π(B).
pub fn permuted_inner(a: &Array, b: &Array, axis_perms: &[Option<&[usize]>]) -> f64 {
    let rank = a.shape.len();
    if rank == 0 {
        return a
            .data
            .iter()
            .zip(&b.data)
            .map(|(&x, &y)| x as f64 * y as f64)
            .sum();
    }
    // offsets[ax][d] = (source index of digit d on axis ax) · stride(ax).
    let mut offsets: Vec<Vec<usize>> = Vec::with_capacity(rank);
    let mut stride = 1;
    for ax in (0..rank).rev() {
        let n = a.shape[ax];
        offsets.push(match axis_perms.get(ax).copied().flatten() {
            Some(p) => p.iter().map(|&j| j * stride).collect(),
            None => (0..n).map(|j| j * stride).collect(),
        });
        stride *= n;
    }
    offsets.reverse();
    // Odometer over all axes but the last; the last is a contiguous row of A.
    let last = &offsets[rank - 1];
    let row = a.shape[rank - 1];
    let mut digits = vec![0usize; rank - 1];
    let mut total = 0.0;
    for chunk in a.data.chunks_exact(row.max(1)) {
        let base: usize = digits
            .iter()
            .enumerate()
            .map(|(ax, &d)| offsets[ax][d])
            .sum();
        total += chunk
            .iter()
            .zip(last)
            .map(|(&x, &o)| x as f64 * b.data[base + o] as f64)
            .sum::<f64>();
        for ax in (0..rank - 1).rev() {
            digits[ax] += 1;
            if digits[ax] < a.shape[ax] {
                break;
            }
            digits[ax] = 0;
        }
    }
    total
}

impl PermSpec {
    /// `a` (the tensor `name`) in the shape the spec sees it (its view, if it has one).
    pub fn viewed<'a>(&self, name: &str, a: &'a Array) -> std::borrow::Cow<'a, Array> {
        match self.views.iter().find(|(n, _)| n == name) {
            Some((_, shape)) => std::borrow::Cow::Owned(Array {
                shape: shape.clone(),
                data: a.data.clone(),
            }),
            None => std::borrow::Cow::Borrowed(a),
        }
    }

    /// The identity permutations.
    pub fn identity(&self) -> Vec<Vec<usize>> {
        self.perms.iter().map(|p| (0..p.size).collect()).collect()
    }

    /// Checks that `params` holds exactly the spec's tensors, each axis as long as its
    /// permutation.
    pub fn check(&self, params: &Params) -> WResult<()> {
        if params.names.len() != self.axes.len() {
            return Err(WeightsError::SpecMismatch(format!(
                "{} tensors for a spec of {}",
                params.names.len(),
                self.axes.len()
            )));
        }
        for (name, axes) in &self.axes {
            let a = params
                .get(name)
                .ok_or_else(|| WeightsError::SpecMismatch(format!("no tensor `{name}`")))?;
            if let Some((_, view)) = self.views.iter().find(|(n, _)| n == name)
                && view.iter().product::<usize>() != a.data.len()
            {
                return Err(WeightsError::SpecMismatch(format!(
                    "`{name}` is {:?}, which cannot be viewed as {view:?}",
                    a.shape
                )));
            }
            let a = self.viewed(name, a);
            if a.shape.len() != axes.len() {
                return Err(WeightsError::SpecMismatch(format!(
                    "`{name}` has {} axes, the spec {}",
                    a.shape.len(),
                    axes.len()
                )));
            }
            for (ax, p) in axes.iter().enumerate() {
                if let Some(p) = p
                    && self.perms[*p].size != a.shape[ax]
                {
                    return Err(WeightsError::SpecMismatch(format!(
                        "`{name}` axis {ax} has {} units, {} has {}",
                        a.shape[ax], self.perms[*p].name, self.perms[*p].size
                    )));
                }
            }
        }
        Ok(())
    }

    /// The tensor `name` (holding `a`) with every permutation on its axes applied, except
    /// `skip` (the one being solved for).
    pub fn permute_tensor(
        &self,
        name: &str,
        a: &Array,
        perms: &[Vec<usize>],
        skip: Option<usize>,
    ) -> Array {
        let axes = &self
            .axes
            .iter()
            .find(|(n, _)| n == name)
            .expect("checked spec")
            .1;
        let mut out = self.viewed(name, a).into_owned();
        for (ax, p) in axes.iter().enumerate() {
            if let Some(p) = *p
                && Some(p) != skip
            {
                out = permute_axis(&out, ax, &perms[p]);
            }
        }
        out.shape.clone_from(&a.shape);
        out
    }

    /// `params` with every permutation applied, except `skip`.
    pub fn apply_except(
        &self,
        params: &Params,
        perms: &[Vec<usize>],
        skip: Option<usize>,
    ) -> Params {
        let mut out = params.clone();
        for (i, name) in params.names.iter().enumerate() {
            out.arrays[i] = self.permute_tensor(name, &params.arrays[i], perms, skip);
        }
        out
    }

    /// `params` with every permutation applied.
    pub fn apply(&self, params: &Params, perms: &[Vec<usize>]) -> Params {
        self.apply_except(params, perms, None)
    }

    /// J = Σ_T ⟨A_T, π_P(B_T)⟩ without building π_P(B) (the weight-matching objective).
    pub fn objective(&self, a: &Params, b: &Params, perms: &[Vec<usize>]) -> f64 {
        self.axes
            .iter()
            .map(|(name, axes)| {
                let (ta, tb) = (
                    self.viewed(name, a.get(name).expect("checked spec")),
                    self.viewed(name, b.get(name).expect("checked spec")),
                );
                let ap: Vec<Option<&[usize]>> = axes
                    .iter()
                    .map(|p| p.map(|p| perms[p].as_slice()))
                    .collect();
                permuted_inner(&ta, &tb, &ap)
            })
            .sum()
    }

    /// The (tensor, axis) pairs permutation `p` acts on.
    pub fn members(&self, p: usize) -> Vec<(&str, usize)> {
        let mut out = Vec::new();
        for (name, axes) in &self.axes {
            for (ax, q) in axes.iter().enumerate() {
                if *q == Some(p) {
                    out.push((name.as_str(), ax));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_an_mlp_and_refuses_a_broken_chain() {
        let spec = MlpSpec::new(&[4, 3, 2]);
        let mut pairs = Vec::new();
        for (l, (w, b)) in spec.layers.iter().enumerate() {
            let (o, i) = (spec.widths[l + 1], spec.widths[l]);
            pairs.push((
                w.clone(),
                Array {
                    shape: vec![o, i],
                    data: vec![0.0; o * i],
                },
            ));
            pairs.push((
                b.clone(),
                Array {
                    shape: vec![o],
                    data: vec![0.0; o],
                },
            ));
        }
        let params = Params::new(pairs.clone());
        assert_eq!(MlpSpec::detect(&params).unwrap(), spec);
        spec.perm_spec().check(&params).unwrap();
        pairs[2].1 = Array {
            shape: vec![2, 5],
            data: vec![0.0; 10],
        };
        let err = MlpSpec::detect(&Params::new(pairs))
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes 5 inputs"), "{err}");
    }

    #[test]
    fn permute_axis_moves_slices() {
        let a = Array {
            shape: vec![2, 3],
            data: vec![0., 1., 2., 3., 4., 5.],
        };
        assert_eq!(
            permute_axis(&a, 1, &[2, 0, 1]).data,
            [2., 0., 1., 5., 3., 4.]
        );
        assert_eq!(permute_axis(&a, 0, &[1, 0]).data, [3., 4., 5., 0., 1., 2.]);
        let (n, rest, m) = axis_first(&a, 1);
        assert_eq!((n, rest), (3, 2));
        assert_eq!(m, [0., 3., 1., 4., 2., 5.]);
    }

    /// The allocation-free objective equals ⟨A, π(B)⟩ computed on the permuted copy.
    #[test]
    fn objective_without_copies_equals_the_permuted_copy() {
        use genlab_core::train::SeededRng;
        let mut rng = SeededRng::new(3);
        let mut arr = |shape: Vec<usize>| Array {
            data: rng.normal_vec(shape.iter().product()),
            shape,
        };
        let names = ["a", "b", "c"];
        let shapes = [vec![4, 3, 2, 2], vec![5, 4], vec![3]];
        let (pa, pb) = (
            Params::new(
                names
                    .iter()
                    .zip(&shapes)
                    .map(|(n, s)| (n.to_string(), arr(s.clone())))
                    .collect(),
            ),
            Params::new(
                names
                    .iter()
                    .zip(&shapes)
                    .map(|(n, s)| (n.to_string(), arr(s.clone())))
                    .collect(),
            ),
        );
        let spec = PermSpec {
            perms: vec![
                Perm {
                    name: "P".into(),
                    size: 4,
                },
                Perm {
                    name: "Q".into(),
                    size: 3,
                },
            ],
            axes: vec![
                ("a".into(), vec![Some(0), Some(1), None, None]),
                ("b".into(), vec![None, Some(0)]),
                ("c".into(), vec![Some(1)]),
            ],
            views: Vec::new(),
        };
        spec.check(&pa).unwrap();
        let perms = vec![vec![2, 0, 3, 1], vec![1, 2, 0]];
        let want = crate::matching::objective(&pa, &spec.apply(&pb, &perms));
        let got = spec.objective(&pa, &pb, &perms);
        assert!((want - got).abs() < 1e-9, "{want} vs {got}");
    }
}
