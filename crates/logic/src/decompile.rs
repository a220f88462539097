//! GNN → formula, for exactly the networks of the correspondence.
//!
//! **Supported class.** AC-GNNs ([`Gnn`]) with integer weights and biases, the truncated ReLU
//! at every layer, sum aggregation over the successors of the network's sort, 0/1 atomic
//! inputs and one output neuron; fibred neurons whose children are in the same class and, when
//! of another sort, compatible (their output is modal in their sort). Networks with other
//! activations, aggregations or non-integer weights are refused when loaded ([`Gnn::load`]).
//!
//! **Method.** With integer weights, neuron j fires iff its integer pre-activation is ≥ 1:
//!
//! ```text
//! x_j = 1  ⟺  Σ_i C_ij [ψ_i] + Σ_i A_ij · #{u ∈ N(v) : u ⊨ ψ_i} + b_j ≥ 1
//! ```
//!
//! where ψ_i are the previous layer's neuron formulas — a K#-style linear inequality
//! (Nunn et al., IJCAI 2024). It is turned into GML by Shannon expansion over the self inputs
//! (branches whose outcome no longer depends on the rest are cut) and, at each leaf, the
//! neighbour condition `Σ_i a_i n_i ≥ t`:
//!
//! - no neighbour term: ⊤ iff `t ≤ 0`;
//! - one term `a·n ≥ t`: `◇≥⌈t/a⌉ ψ` for `a > 0`, `¬◇≥(⌊−t/|a|⌋+1) ψ` for `a < 0` —
//!   **uniform**, valid on every graph;
//! - two or more terms: not expressible in GML uniformly (e.g. "more p- than q-neighbours"),
//!   so **non-uniformly** for a degree bound Δ: `⋁_{c ∈ {0..Δ}^{q−1}} (⋀_{i<q} exactly(c_i, ψ_i))
//!   ∧ [a_q n_q ≥ t − Σ a_i c_i]`, valid on graphs of maximum degree ≤ Δ; its size grows as
//!   (Δ+1)^{q−1} — the measurable face of "non-uniform expressiveness".
//!
//! A fibred neuron is `ψ_j ∧ χ`, with χ the child's formula (compatibility makes χ a Boolean
//! combination of the child sort's diamonds, which the fibred semantics transfers along
//! `F_{s→t}`). Refused, with a reason: neurons reading more than [`Options::max_self_terms`]
//! self inputs, neighbour sums of two or more terms without a degree bound, and formulas
//! beyond [`Options::max_size`] nodes (the tree form can grow exponentially with depth).

use genlab_core::{Error, Result};

use crate::formula::Formula;
use crate::gnn::{Gnn, Neuron};

/// Limits and the degree bound of non-uniform decompilation.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Δ: the formula need only be correct on graphs whose maximum degree is ≤ Δ.
    pub max_degree: Option<usize>,
    /// Largest formula (syntax-tree nodes) produced before refusing.
    pub max_size: usize,
    /// Largest number of distinct self inputs a neuron may read (Shannon expansion is 2^p).
    pub max_self_terms: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_degree: None,
            max_size: 2_000_000,
            max_self_terms: 16,
        }
    }
}

/// A decompiled network.
#[derive(Debug, Clone, PartialEq)]
pub struct Decompiled {
    /// The formula true exactly where the network outputs 1.
    pub formula: Formula,
    /// `Some(Δ)` when some neuron needed the degree bound: the equivalence is then claimed
    /// only on graphs of maximum degree ≤ Δ. `None`: uniform, valid on every graph.
    pub degree_bound: Option<usize>,
}

/// The formula of `net`'s output neuron.
pub fn decompile(net: &Gnn, opts: &Options) -> Result<Decompiled> {
    let mut used_bound = false;
    let formula = net_formula(net, opts, &mut used_bound)?;
    Ok(Decompiled {
        formula,
        degree_bound: if used_bound { opts.max_degree } else { None },
    })
}

fn net_formula(net: &Gnn, opts: &Options, used_bound: &mut bool) -> Result<Formula> {
    let mut prev: Vec<Formula> = net.inputs().iter().map(|p| Formula::atom(p)).collect();
    for (l, layer) in net.layers().iter().enumerate() {
        let mut cur = Vec::with_capacity(layer.neurons.len());
        for (j, n) in layer.neurons.iter().enumerate() {
            let at = || format!("layer {} neuron {j}", l + 1);
            let mut f = neuron_formula(n, &prev, net.sort(), opts, used_bound).map_err(|e| {
                Error::InvalidInput(format!("{}: {}", at(), crate::graph::strip(e)))
            })?;
            if let Some(child) = &n.fibre {
                f = and(f, net_formula(child, opts, used_bound)?);
            }
            let size = f.size();
            if size > opts.max_size {
                return Err(Error::InvalidInput(format!(
                    "{}: the formula would have {size} nodes, more than the limit {}; the network's tree form blows up (each neuron copies the formulas it reads)",
                    at(),
                    opts.max_size
                )));
            }
            cur.push(f);
        }
        prev = cur;
    }
    Ok(prev.swap_remove(net.output()))
}

fn neuron_formula(
    n: &Neuron,
    prev: &[Formula],
    sort: usize,
    opts: &Options,
    used_bound: &mut bool,
) -> Result<Formula> {
    let (c, a) = n.terms();
    let vars = group(&c, prev);
    if vars.len() > opts.max_self_terms {
        return Err(Error::InvalidInput(format!(
            "it reads {} distinct self inputs; Shannon expansion is limited to {}",
            vars.len(),
            opts.max_self_terms
        )));
    }
    let terms = group(&a, prev);
    if terms.len() >= 2 {
        if opts.max_degree.is_none() {
            return Err(Error::InvalidInput(format!(
                "it sums {} different neighbour counts (a linear inequality over counts, as in K#), which graded modal logic cannot express uniformly; give a degree bound (--max-degree Δ) for a non-uniform formula valid on graphs of degree ≤ Δ",
                terms.len()
            )));
        }
        *used_bound = true;
    }
    let leaf = |t: i128| neighbour_condition(&terms, t, sort, opts);
    // Sums of the remaining self weights' negative and positive parts, for cutting branches.
    let mut neg = vec![0i128; vars.len() + 1];
    let mut pos = vec![0i128; vars.len() + 1];
    for i in (0..vars.len()).rev() {
        neg[i] = neg[i + 1] + vars[i].1.min(0);
        pos[i] = pos[i + 1] + vars[i].1.max(0);
    }
    expand(&vars, 0, 0, n.b as i128, &neg, &pos, &leaf)
}

/// Weighted terms over the previous layer's formulas, with syntactically equal formulas merged
/// (their weights add, since they hold at the same nodes), ⊥ neighbour counts dropped (always
/// 0) and zero weights removed.
fn group<'a>(terms: &[(usize, i64)], prev: &'a [Formula]) -> Vec<(&'a Formula, i128)> {
    let mut out: Vec<(&Formula, i128)> = Vec::new();
    for &(i, w) in terms {
        match out.iter_mut().find(|t| *t.0 == prev[i]) {
            Some(t) => t.1 += w as i128,
            None => out.push((&prev[i], w as i128)),
        }
    }
    out.retain(|t| t.1 != 0 && *t.0 != Formula::Bot);
    out
}

/// Shannon expansion over the self inputs from `idx` on, with `acc` = the chosen ones' sum.
/// The neuron fires iff `N ≥ t` with `t = 1 − b − acc − (rest)`.
fn expand(
    vars: &[(&Formula, i128)],
    idx: usize,
    acc: i128,
    b: i128,
    neg: &[i128],
    pos: &[i128],
    leaf: &dyn Fn(i128) -> Result<Formula>,
) -> Result<Formula> {
    // [N ≥ t] only weakens as t falls, so equal formulas at both ends of the remaining range
    // mean the same formula holds for every completion.
    let strongest = leaf(1 - b - acc - neg[idx])?;
    if idx == vars.len() || strongest == leaf(1 - b - acc - pos[idx])? {
        return Ok(strongest);
    }
    let (x, w) = vars[idx];
    let hi = expand(vars, idx + 1, acc + w, b, neg, pos, leaf)?;
    let lo = expand(vars, idx + 1, acc, b, neg, pos, leaf)?;
    Ok(branch(x, hi, lo))
}

/// `(x ∧ hi) ∨ (¬x ∧ lo)`, simplified.
fn branch(x: &Formula, hi: Formula, lo: Formula) -> Formula {
    use Formula::{Bot, Top};
    if hi == lo {
        return hi;
    }
    match (x, &hi, &lo) {
        (Top, _, _) => hi,
        (Bot, _, _) => lo,
        (_, Top, Bot) => x.clone(),
        (_, Bot, Top) => negate(x.clone()),
        (_, Top, _) => Formula::or(x.clone(), lo),
        (_, _, Bot) => Formula::and(x.clone(), hi),
        (_, Bot, _) => Formula::and(negate(x.clone()), lo),
        (_, _, Top) => Formula::or(negate(x.clone()), hi),
        _ => Formula::or(
            Formula::and(x.clone(), hi),
            Formula::and(negate(x.clone()), lo),
        ),
    }
}

fn negate(f: Formula) -> Formula {
    match f {
        Formula::Top => Formula::Bot,
        Formula::Bot => Formula::Top,
        Formula::Not(g) => *g,
        g => !(g),
    }
}

fn and(a: Formula, b: Formula) -> Formula {
    match (a, b) {
        (Formula::Top, g) | (g, Formula::Top) => g,
        (Formula::Bot, _) | (_, Formula::Bot) => Formula::Bot,
        (a, b) => Formula::and(a, b),
    }
}

/// Grades beyond this cannot be met: no graph has 2³² neighbours of one node.
const UNREACHABLE: i128 = u32::MAX as i128;

/// `a · #{u : u ⊨ ψ} ≥ t` as a formula (uniform).
fn one_term(psi: &Formula, a: i128, t: i128, sort: usize) -> Formula {
    let at_least = |m: i128| -> Formula {
        if m <= 0 {
            Formula::Top
        } else if m > UNREACHABLE {
            Formula::Bot
        } else {
            Formula::dia(sort, m as u32, psi.clone())
        }
    };
    if a > 0 {
        at_least(t.div_euclid(a) + (t.rem_euclid(a) != 0) as i128) // ⌈t / a⌉
    } else {
        // n ≤ ⌊−t / |a|⌋ ⟺ ¬(n ≥ ⌊−t/|a|⌋ + 1)
        negate(at_least((-t).div_euclid(-a) + 1))
    }
}

/// `Σ_i a_i · #{u : u ⊨ ψ_i} ≥ t` as a formula.
fn neighbour_condition(
    terms: &[(&Formula, i128)],
    t: i128,
    sort: usize,
    opts: &Options,
) -> Result<Formula> {
    match terms {
        [] => Ok(if t <= 0 { Formula::Top } else { Formula::Bot }),
        [(psi, a)] => Ok(one_term(psi, *a, t, sort)),
        _ => {
            let delta = opts.max_degree.expect("checked by the caller");
            let (last, rest) = terms.split_last().expect("≥ 2 terms");
            let count = (delta as u128 + 1).checked_pow(rest.len() as u32);
            if count.is_none_or(|c| c > 200_000) {
                return Err(Error::InvalidInput(format!(
                    "with Δ = {delta} and {} neighbour terms the non-uniform formula needs (Δ+1)^{} disjuncts; lower Δ",
                    terms.len(),
                    rest.len()
                )));
            }
            let mut disjuncts = Vec::new();
            let mut lasts = Vec::new();
            let mut c = vec![0usize; rest.len()];
            loop {
                let spent: i128 = rest
                    .iter()
                    .zip(&c)
                    .map(|((_, a), &ci)| a * ci as i128)
                    .sum();
                let tail = one_term(last.0, last.1, t - spent, sort);
                if tail != Formula::Bot {
                    let exact = rest
                        .iter()
                        .zip(&c)
                        .map(|((psi, _), &ci)| exactly(psi, ci, delta, sort))
                        .reduce(and)
                        .expect("≥ 1 rest term");
                    disjuncts.push(and(exact, tail.clone()));
                }
                lasts.push(tail);
                // Next count vector (odometer).
                let Some(k) = c.iter().position(|&ci| ci < delta) else {
                    break;
                };
                c[k] += 1;
                c[..k].iter_mut().for_each(|ci| *ci = 0);
            }
            // Under the bound the exactly-conjunctions partition the worlds.
            if lasts.iter().all(|f| *f == Formula::Top) {
                return Ok(Formula::Top);
            }
            Ok(disjuncts
                .into_iter()
                .reduce(Formula::or)
                .unwrap_or(Formula::Bot))
        }
    }
}

/// "Exactly `c` successors satisfy ψ", on graphs of maximum degree ≤ Δ.
fn exactly(psi: &Formula, c: usize, delta: usize, sort: usize) -> Formula {
    let at_least = |k: usize| Formula::dia(sort, k as u32, psi.clone());
    if c == 0 {
        !(at_least(1))
    } else if c == delta {
        at_least(c)
    } else {
        Formula::and(at_least(c), !(at_least(c + 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::truth;
    use crate::compile::compile;
    use crate::gnn::Layer;
    use crate::model::Model;
    use crate::parse::parse;
    use crate::random::{Family, random_formula, random_gnn, random_graph, random_model};
    use genlab_core::train::SeededRng;
    use proptest::prelude::*;

    fn opts(delta: Option<usize>) -> Options {
        Options {
            max_degree: delta,
            ..Options::default()
        }
    }

    #[test]
    fn compiled_formulas_come_back_verbatim() {
        for s in [
            "<>=2 (p & !q)",
            "p | q",
            "!<> p & <>=3 true",
            "<1>=2 <> q | p",
            "p",
        ] {
            let f = parse(s).unwrap();
            let net = compile(&f, 0).unwrap();
            let d = decompile(&net, &opts(None)).unwrap();
            assert_eq!(d.formula, f, "{s}");
            assert_eq!(d.degree_bound, None);
        }
    }

    #[test]
    fn single_terms_are_uniform_thresholds() {
        let g = |a: i64, b: i64| {
            let net = Gnn::new(
                0,
                vec!["p".into()],
                vec![Layer {
                    neurons: vec![Neuron::plain(&[], &[(0, a)], b)],
                }],
                0,
            )
            .unwrap();
            decompile(&net, &opts(None)).unwrap().formula.to_string()
        };
        assert_eq!(g(2, -4), "<>=3 p", "2n − 4 ≥ 1 ⟺ n ≥ 3 (n ≥ 2.5)");
        assert_eq!(g(-1, 3), "!<>=3 p", "3 − n ≥ 1 ⟺ n ≤ 2");
        assert_eq!(g(-3, 1), "!<> p", "1 − 3n ≥ 1 ⟺ n = 0");
        assert_eq!(g(1, 5), "true");
        assert_eq!(g(-1, 0), "false");
    }

    #[test]
    fn several_terms_need_a_degree_bound() {
        // "More p-neighbours than q-neighbours": #p − #q ≥ 1.
        let net = Gnn::new(
            0,
            vec!["p".into(), "q".into()],
            vec![Layer {
                neurons: vec![Neuron::plain(&[], &[(0, 1), (1, -1)], 0)],
            }],
            0,
        )
        .unwrap();
        let e = decompile(&net, &opts(None)).unwrap_err().to_string();
        assert!(e.contains("degree bound"), "{e}");
        let mut rng = SeededRng::new(2);
        let mut sizes = Vec::new();
        for delta in [2, 4, 6] {
            let d = decompile(&net, &opts(Some(delta))).unwrap();
            assert_eq!(d.degree_bound, Some(delta));
            sizes.push(d.formula.size());
            for _ in 0..30 {
                let g = Model::single(random_graph(
                    rng.rng(),
                    Family::BoundedDegree { max_degree: delta },
                    40,
                    &["p", "q"],
                    0.5,
                ));
                assert_eq!(net.eval(&g).unwrap(), truth(&g, &d.formula, 0).unwrap());
            }
        }
        assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2], "{sizes:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// A fibred neuron gated by a non-constant activation (p, or "q-neighbour") is the
        /// conjunction of its gate and its child's formula; checked against the fibred network.
        #[test]
        fn gated_fibres_are_conjunctions(seed in any::<u64>(), depth in 0usize..4) {
            let mut rng = SeededRng::new(seed);
            let atoms = ["p", "q"];
            let body = random_formula(rng.rng(), &atoms, depth, 2, 2);
            let child = compile(&Formula::dia(1, rng.rng().random_range(1..3), body), 1).unwrap();
            let gate = Neuron { c: vec![(0, 1)], a: vec![(1, rng.rng().random_range(0..2))], b: 0, fibre: Some(Box::new(child)) };
            let other = Neuron { c: vec![(1, -1)], a: vec![(0, 1)], b: 0, fibre: None };
            let top = Neuron { c: vec![(0, 1), (1, 1)], a: vec![], b: rng.rng().random_range(-1..1), fibre: None };
            let net = Gnn::new(0, vec!["p".into(), "q".into()], vec![
                Layer { neurons: vec![gate, other] },
                Layer { neurons: vec![top] },
            ], 0).unwrap();
            let d = decompile(&net, &opts(None)).unwrap();
            for _ in 0..3 {
                let m = random_model(rng.rng(), 2, (1, 25), &atoms, None);
                prop_assert_eq!(net.eval(&m).unwrap(), truth(&m, &d.formula, 0).unwrap(), "{}", d.formula);
            }
        }

        /// decompile(compile(φ)) is equivalent to φ on every node (and uniform).
        #[test]
        fn decompile_inverts_compile(seed in any::<u64>(), sorts in 1usize..3, depth in 0usize..5) {
            let mut rng = SeededRng::new(seed);
            let f = random_formula(rng.rng(), &["p", "q"], depth, 3, sorts);
            let d = decompile(&compile(&f, 0).unwrap(), &opts(None)).unwrap();
            prop_assert_eq!(d.degree_bound, None);
            let m = random_model(rng.rng(), sorts, (1, 25), &["p", "q"], None);
            prop_assert_eq!(truth(&m, &d.formula, 0).unwrap(), truth(&m, &f, 0).unwrap(), "{} vs {}", f, d.formula);
        }

        /// Random integer networks (not compiled ones): the formula equals the network on
        /// graphs within the degree bound.
        #[test]
        fn random_networks_decompile_exactly(seed in any::<u64>(), layers in 1usize..4, delta in 1usize..5) {
            let mut rng = SeededRng::new(seed);
            let net = random_gnn(rng.rng(), &["p", "q", "r"], layers, 3, 2);
            let d = decompile(&net, &opts(Some(delta))).unwrap();
            for _ in 0..3 {
                let n = rng.rng().random_range(1..40);
                let g = Model::single(random_graph(rng.rng(), Family::BoundedDegree { max_degree: delta }, n, &["p", "q", "r"], 0.5));
                prop_assert_eq!(net.eval(&g).unwrap(), truth(&g, &d.formula, 0).unwrap(), "{}", d.formula);
            }
        }
    }

    use rand::Rng;
}
