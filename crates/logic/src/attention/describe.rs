//! The non-uniform description of an attention network: for scopes of at most B nodes, the
//! (fibred) graded modal formula true exactly where the network outputs 1 (module doc of
//! [`crate::attention`]):
//!
//! ```text
//! neuron = ⋁_σ ( type_σ ∧ ⋁_{n accepted at σ} ⋀_τ exactly(n_τ, type_τ) )
//! ```
//!
//! σ ranges over the assignments of the features read by the neuron's self and query weights,
//! τ over those read by its key and value weights, and n over the count vectors with
//! `Σ_τ n_τ ≤ Δ` (GAT layers) or `1 ≤ Σ_τ n_τ ≤ N` (transformer layers, whose scope is the
//! whole graph). A vector is accepted when the exact decision `P(β) > 0` holds for it
//! ([`super::sign`]).

use std::collections::BTreeMap;

use genlab_core::{Error, Result};

use super::{AttnNet, AttnNeuron, Scope, sign};
use crate::formula::Formula;

/// The bounds the description is valid under, and its size limit.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Δ: GAT layers are described for nodes of at most this many neighbours.
    pub max_degree: usize,
    /// N: transformer layers are described for graphs of at most this many nodes.
    pub max_nodes: usize,
    /// Largest formula (syntax-tree nodes) produced before refusing.
    pub max_size: usize,
}

/// Most features a neuron's self/query or key/value part may read (types are 2^that).
pub const MAX_READ: usize = 4;

/// A described network.
#[derive(Debug, Clone)]
pub struct Description {
    /// True exactly where the network outputs 1, on graphs within the bounds.
    pub formula: Formula,
    /// Count vectors enumerated over all neurons (the size of the non-uniform case split).
    pub count_vectors: usize,
}

/// The formula of `net`'s output (GAT layers use modality 0, the graph's relation; transformer
/// layers modality 1, the complete sort of [`super::with_complete_sort`]).
pub fn describe(net: &AttnNet, bounds: &Bounds) -> Result<Description> {
    let mut prev: Vec<Formula> = net.inputs().iter().map(|p| Formula::atom(p)).collect();
    let mut count_vectors = 0;
    for (l, layer) in net.layers().iter().enumerate() {
        let mut cur = Vec::with_capacity(layer.neurons.len());
        for (j, n) in layer.neurons.iter().enumerate() {
            let f =
                neuron(n, layer.scope, &prev, net, bounds, &mut count_vectors).map_err(|e| {
                    Error::InvalidInput(format!(
                        "layer {} neuron {j}: {}",
                        l + 1,
                        crate::graph::strip(e)
                    ))
                })?;
            cur.push(f);
        }
        prev = cur;
    }
    Ok(Description {
        formula: prev.swap_remove(net.output()),
        count_vectors,
    })
}

/// The features read by `parts`, sorted and deduplicated.
fn read(parts: &[&[(usize, i64)]]) -> Vec<usize> {
    let mut r: Vec<usize> = parts
        .iter()
        .flat_map(|t| t.iter().filter(|x| x.1 != 0).map(|x| x.0))
        .collect();
    r.sort_unstable();
    r.dedup();
    r
}

/// The 0/1 vector of width `width` with `bits` (bit i = feature `on[i]`).
fn assignment(on: &[usize], bits: usize, width: usize) -> Vec<u8> {
    let mut x = vec![0u8; width];
    for (i, &f) in on.iter().enumerate() {
        x[f] = ((bits >> i) & 1) as u8;
    }
    x
}

/// `⋀_i (ψ_i or ¬ψ_i)` for the features `on` under `bits`; ⊤ for none.
fn type_formula(on: &[usize], bits: usize, prev: &[Formula]) -> Formula {
    let lits: Vec<Formula> = on
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            if (bits >> i) & 1 == 1 {
                prev[f].clone()
            } else {
                !prev[f].clone()
            }
        })
        .collect();
    join(lits, Formula::and).unwrap_or(Formula::Top)
}

/// A balanced `&`/`|` of the parts (None for no parts), so long case splits stay shallow.
fn join(mut parts: Vec<Formula>, op: fn(Formula, Formula) -> Formula) -> Option<Formula> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        n => {
            let right = parts.split_off(n / 2);
            Some(op(join(parts, op)?, join(right, op)?))
        }
    }
}

/// At least `k` and at most `k` successors (over `modality`) satisfy ψ.
fn exactly(k: usize, psi: &Formula, modality: usize) -> Formula {
    let at_most = !Formula::dia(modality, k as u32 + 1, psi.clone());
    if k == 0 {
        at_most
    } else {
        Formula::and(Formula::dia(modality, k as u32, psi.clone()), at_most)
    }
}

/// Every vector of `t` counts with `lo ≤ Σ ≤ hi`.
fn count_vectors(
    t: usize,
    lo: usize,
    hi: usize,
    out: &mut Vec<Vec<usize>>,
    limit: usize,
) -> Result<()> {
    fn rec(
        t: usize,
        left: usize,
        lo: usize,
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
        limit: usize,
    ) -> Result<()> {
        if cur.len() == t {
            let sum: usize = cur.iter().sum();
            if sum >= lo {
                if out.len() >= limit {
                    return Err(Error::InvalidInput(format!(
                        "more than {limit} count vectors: lower the bound or the features a neuron reads"
                    )));
                }
                out.push(cur.clone());
            }
            return Ok(());
        }
        for c in 0..=left {
            cur.push(c);
            rec(t, left - c, lo, cur, out, limit)?;
            cur.pop();
        }
        Ok(())
    }
    rec(t, hi, lo, &mut Vec::with_capacity(t), out, limit)
}

/// The formula of one neuron (module doc).
fn neuron(
    n: &AttnNeuron,
    scope: Scope,
    prev: &[Formula],
    net: &AttnNet,
    bounds: &Bounds,
    vectors_seen: &mut usize,
) -> Result<Formula> {
    let width = prev.len();
    let own = read(&[&n.c, &n.q]);
    let other = read(&[&n.a, &n.k]);
    if own.len() > MAX_READ || other.len() > MAX_READ {
        return Err(Error::InvalidInput(format!(
            "reads {} own and {} attended features; at most {MAX_READ} each are described (types are 2^features)",
            own.len(),
            other.len()
        )));
    }
    let (modality, lo, hi) = match scope {
        Scope::Neighbours => (0, 0, bounds.max_degree),
        Scope::All => (1, 1, bounds.max_nodes),
    };
    let types = 1usize << other.len();
    let mut vectors = Vec::new();
    count_vectors(types, lo, hi, &mut vectors, 1_000_000)?;
    *vectors_seen += vectors.len();
    let tau: Vec<Vec<u8>> = (0..types).map(|b| assignment(&other, b, width)).collect();
    let tau_f: Vec<Formula> = (0..types).map(|b| type_formula(&other, b, prev)).collect();
    let mut alternatives = Vec::new();
    let mut size = 0usize;
    for sb in 0..(1usize << own.len()) {
        let sigma = assignment(&own, sb, width);
        let own_value = super::dot(&n.c, &sigma) as i128 + n.b as i128;
        let qv = super::dot(&n.q, &sigma);
        let mut accepted = Vec::new();
        for counts in &vectors {
            let mut coeffs: BTreeMap<i64, i128> = BTreeMap::new();
            for (t, &c) in counts.iter().enumerate().filter(|x| *x.1 > 0) {
                let value = own_value + super::dot(&n.a, &tau[t]) as i128;
                *coeffs.entry(qv + super::dot(&n.k, &tau[t])).or_insert(0) += c as i128 * value;
            }
            let fires = if coeffs.is_empty() {
                own_value > 0
            } else {
                sign(&coeffs, net.base())? == std::cmp::Ordering::Greater
            };
            if fires {
                accepted.push(counts);
            }
        }
        if accepted.is_empty() {
            continue;
        }
        let ty = type_formula(&own, sb, prev);
        let body = if accepted.len() == vectors.len() {
            ty
        } else {
            let cases: Vec<Formula> = accepted
                .iter()
                .map(|counts| {
                    let conj = counts
                        .iter()
                        .enumerate()
                        .map(|(t, &k)| exactly(k, &tau_f[t], modality))
                        .collect();
                    join(conj, Formula::and).expect("at least one type")
                })
                .collect();
            Formula::and(ty, join(cases, Formula::or).expect("accepted is non-empty"))
        };
        size += body.size();
        if size > bounds.max_size {
            return Err(Error::InvalidInput(format!(
                "the description would have more than {} nodes (the case split over {} count vectors blows up)",
                bounds.max_size,
                vectors.len()
            )));
        }
        alternatives.push(body);
    }
    Ok(join(alternatives, Formula::or).unwrap_or(Formula::Bot))
}
