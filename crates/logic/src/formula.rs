//! Graded modal logic (GML) and its fibred (multi-modal, many-sorted) extension.
//!
//! ```text
//! φ ::= ⊤ | ⊥ | p | ¬φ | φ ∧ φ | φ ∨ φ | ◇ᵢ≥k φ        (k ≥ 1, modality i ≥ 0)
//! ```
//!
//! `(M, v) ⊨ ◇ᵢ≥k φ` iff at least `k` successors `u` of `v` under the relation of sort `i`
//! satisfy `φ`. With one modality (`i = 0`) this is the GML of Barceló et al. (ICLR 2020); plain
//! modal logic is the case `k = 1`. Modalities `i ≥ 1` belong to the other logics of a fibred
//! language (Gabbay 1999): in a fibred model a formula `◇ⱼ…` met at a world of sort `i ≠ j` is
//! evaluated at the world the fibring map `F_{i→j}` sends it to (see [`crate::model`]).
//!
//! [`Dag`] is the hash-consed form every algorithm works on: each distinct subformula once, in
//! post-order (children before parents), so "one feature per subformula" (the compiler) and
//! "one truth table per subformula" (the checker) index the same list.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// A (fibred) graded modal formula.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Formula {
    /// ⊤, true everywhere.
    Top,
    /// ⊥, false everywhere.
    Bot,
    /// An atomic proposition (a node label).
    Atom(String),
    /// ¬φ.
    Not(Box<Formula>),
    /// φ ∧ ψ.
    And(Box<Formula>, Box<Formula>),
    /// φ ∨ ψ.
    Or(Box<Formula>, Box<Formula>),
    /// ◇ᵢ≥k φ: at least `grade` successors under relation `modality` satisfy `body`.
    Dia {
        /// Which relation (sort of the fibred language); 0 for plain GML.
        modality: usize,
        /// The grade k ≥ 1.
        grade: u32,
        /// φ.
        body: Box<Formula>,
    },
}

impl Formula {
    /// The atom `name`.
    pub fn atom(name: &str) -> Formula {
        Formula::Atom(name.to_string())
    }

    /// φ ∧ ψ.
    pub fn and(a: Formula, b: Formula) -> Formula {
        Formula::And(Box::new(a), Box::new(b))
    }

    /// φ ∨ ψ.
    pub fn or(a: Formula, b: Formula) -> Formula {
        Formula::Or(Box::new(a), Box::new(b))
    }

    /// ◇ᵢ≥k φ.
    pub fn dia(modality: usize, grade: u32, body: Formula) -> Formula {
        Formula::Dia {
            modality,
            grade,
            body: Box::new(body),
        }
    }

    /// Number of nodes of the syntax tree (atoms, constants and connectives each count 1).
    pub fn size(&self) -> usize {
        match self {
            Formula::Top | Formula::Bot | Formula::Atom(_) => 1,
            Formula::Not(a) | Formula::Dia { body: a, .. } => 1 + a.size(),
            Formula::And(a, b) | Formula::Or(a, b) => 1 + a.size() + b.size(),
        }
    }

    /// Modal depth: the largest number of nested diamonds.
    pub fn depth(&self) -> usize {
        match self {
            Formula::Top | Formula::Bot | Formula::Atom(_) => 0,
            Formula::Not(a) => a.depth(),
            Formula::Dia { body, .. } => 1 + body.depth(),
            Formula::And(a, b) | Formula::Or(a, b) => a.depth().max(b.depth()),
        }
    }

    /// The atoms it mentions, sorted.
    pub fn atoms(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.visit(&mut |f| {
            if let Formula::Atom(p) = f {
                out.insert(p.clone());
            }
        });
        out
    }

    /// The largest modality index it uses (0 when it has no diamond).
    pub fn max_modality(&self) -> usize {
        let mut m = 0;
        self.visit(&mut |f| {
            if let Formula::Dia { modality, .. } = f {
                m = m.max(*modality);
            }
        });
        m
    }

    fn visit(&self, f: &mut impl FnMut(&Formula)) {
        f(self);
        match self {
            Formula::Top | Formula::Bot | Formula::Atom(_) => {}
            Formula::Not(a) | Formula::Dia { body: a, .. } => a.visit(f),
            Formula::And(a, b) | Formula::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
        }
    }

    /// The formula in Unicode notation (`¬`, `∧`, `∨`, `◇≥k`, `◇_i≥k`, `⊤`, `⊥`); the parser
    /// reads it back. [`fmt::Display`] gives the ASCII notation.
    pub fn unicode(&self) -> String {
        let mut s = String::new();
        write_formula(self, &mut s, 0, &UNICODE);
        s
    }
}

/// The spelling of each connective in one notation.
struct Notation {
    top: &'static str,
    bot: &'static str,
    not: &'static str,
    and: &'static str,
    or: &'static str,
    unicode_dia: bool,
}

const ASCII: Notation = Notation {
    top: "true",
    bot: "false",
    not: "!",
    and: " & ",
    or: " | ",
    unicode_dia: false,
};

const UNICODE: Notation = Notation {
    top: "⊤",
    bot: "⊥",
    not: "¬",
    and: " ∧ ",
    or: " ∨ ",
    unicode_dia: true,
};

/// Binding strength: ∨ (1) < ∧ (2) < prefix operators (3) < atoms (4). Both binary operators
/// associate to the left, so a right operand of the same operator gets parentheses; this makes
/// `parse(print(φ)) == φ` exactly, not just up to associativity.
fn precedence(f: &Formula) -> u8 {
    match f {
        Formula::Or(..) => 1,
        Formula::And(..) => 2,
        Formula::Not(_) | Formula::Dia { .. } => 3,
        _ => 4,
    }
}

fn write_formula(f: &Formula, out: &mut String, min: u8, n: &Notation) {
    let paren = precedence(f) < min;
    if paren {
        out.push('(');
    }
    match f {
        Formula::Top => out.push_str(n.top),
        Formula::Bot => out.push_str(n.bot),
        Formula::Atom(p) => out.push_str(p),
        Formula::Not(a) => {
            out.push_str(n.not);
            write_formula(a, out, 3, n);
        }
        Formula::And(a, b) => {
            write_formula(a, out, 2, n);
            out.push_str(n.and);
            write_formula(b, out, 3, n);
        }
        Formula::Or(a, b) => {
            write_formula(a, out, 1, n);
            out.push_str(n.or);
            write_formula(b, out, 2, n);
        }
        Formula::Dia {
            modality,
            grade,
            body,
        } => {
            if n.unicode_dia {
                out.push('◇');
                if *modality > 0 {
                    out.push_str(&format!("_{modality}"));
                }
                if *grade > 1 {
                    out.push_str(&format!("≥{grade}"));
                }
            } else {
                out.push('<');
                if *modality > 0 {
                    out.push_str(&modality.to_string());
                }
                out.push('>');
                if *grade > 1 {
                    out.push_str(&format!("={grade}"));
                }
            }
            out.push(' ');
            write_formula(body, out, 3, n);
        }
    }
    if paren {
        out.push(')');
    }
}

/// `!φ` builds ¬φ.
impl std::ops::Not for Formula {
    type Output = Formula;

    fn not(self) -> Formula {
        Formula::Not(Box::new(self))
    }
}

/// ASCII notation: `!p`, `p & q`, `p | q`, `<>=2 p` (◇≥2 p), `<> p` (◇ p), `<1>=2 p`
/// (◇₁≥2 p), `true`, `false`.
impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_formula(self, &mut s, 0, &ASCII);
        f.write_str(&s)
    }
}

/// One distinct subformula, its children given as indices into [`Dag::nodes`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// ⊤.
    Top,
    /// ⊥.
    Bot,
    /// An atom.
    Atom(String),
    /// ¬ child.
    Not(usize),
    /// child ∧ child.
    And(usize, usize),
    /// child ∨ child.
    Or(usize, usize),
    /// ◇_modality≥grade child.
    Dia {
        /// Relation index.
        modality: usize,
        /// k ≥ 1.
        grade: u32,
        /// The body's index.
        body: usize,
    },
}

/// The distinct subformulas of a formula in post-order; the last one is the formula itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    /// Children always come before their parents.
    pub nodes: Vec<Node>,
}

impl Dag {
    /// Hash-conses `f`: equal subformulas share one node.
    pub fn new(f: &Formula) -> Dag {
        let mut dag = Dag { nodes: Vec::new() };
        let mut ids = HashMap::new();
        dag.insert(f, &mut ids);
        dag
    }

    fn insert(&mut self, f: &Formula, ids: &mut HashMap<Node, usize>) -> usize {
        let node = match f {
            Formula::Top => Node::Top,
            Formula::Bot => Node::Bot,
            Formula::Atom(p) => Node::Atom(p.clone()),
            Formula::Not(a) => Node::Not(self.insert(a, ids)),
            Formula::And(a, b) => Node::And(self.insert(a, ids), self.insert(b, ids)),
            Formula::Or(a, b) => Node::Or(self.insert(a, ids), self.insert(b, ids)),
            Formula::Dia {
                modality,
                grade,
                body,
            } => Node::Dia {
                modality: *modality,
                grade: *grade,
                body: self.insert(body, ids),
            },
        };
        *ids.entry(node.clone()).or_insert_with(|| {
            self.nodes.push(node);
            self.nodes.len() - 1
        })
    }

    /// Index of the whole formula.
    pub fn root(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Number of distinct subformulas.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: a formula has at least one subformula.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The subformula at `i`, as a tree.
    pub fn formula(&self, i: usize) -> Formula {
        match &self.nodes[i] {
            Node::Top => Formula::Top,
            Node::Bot => Formula::Bot,
            Node::Atom(p) => Formula::Atom(p.clone()),
            Node::Not(a) => !(self.formula(*a)),
            Node::And(a, b) => Formula::and(self.formula(*a), self.formula(*b)),
            Node::Or(a, b) => Formula::or(self.formula(*a), self.formula(*b)),
            Node::Dia {
                modality,
                grade,
                body,
            } => Formula::dia(*modality, *grade, self.formula(*body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Formula {
        Formula::atom("p")
    }
    fn q() -> Formula {
        Formula::atom("q")
    }

    #[test]
    fn size_depth_and_atoms() {
        // ◇≥2 (p ∧ ◇ ¬q) ∨ q
        let f = Formula::or(
            Formula::dia(0, 2, Formula::and(p(), Formula::dia(0, 1, !(q())))),
            q(),
        );
        assert_eq!(f.size(), 8);
        assert_eq!(f.depth(), 2);
        assert_eq!(f.atoms().into_iter().collect::<Vec<_>>(), ["p", "q"]);
        assert_eq!(f.to_string(), "<>=2 (p & <> !q) | q");
        assert_eq!(f.unicode(), "◇≥2 (p ∧ ◇ ¬q) ∨ q");
        assert_eq!(Formula::dia(3, 1, p()).to_string(), "<3> p");
        assert_eq!(Formula::dia(3, 4, p()).unicode(), "◇_3≥4 p");
        assert_eq!(f.max_modality(), 0);
    }

    #[test]
    fn printer_parenthesises_right_operands_of_the_same_operator() {
        let left = Formula::and(Formula::and(p(), q()), p());
        let right = Formula::and(p(), Formula::and(q(), p()));
        assert_eq!(left.to_string(), "p & q & p");
        assert_eq!(right.to_string(), "p & (q & p)");
        assert_eq!((!Formula::or(p(), q())).to_string(), "!(p | q)");
        assert_eq!(
            Formula::or(Formula::and(p(), q()), p()).to_string(),
            "p & q | p"
        );
        assert_eq!(
            Formula::and(Formula::or(p(), q()), p()).to_string(),
            "(p | q) & p"
        );
    }

    #[test]
    fn dag_shares_equal_subformulas_in_post_order() {
        // (p ∧ q) ∨ ¬(p ∧ q): p, q, p∧q, ¬(p∧q), root.
        let pq = Formula::and(p(), q());
        let f = Formula::or(pq.clone(), !(pq));
        let dag = Dag::new(&f);
        assert_eq!(dag.len(), 5);
        assert_eq!(dag.nodes[dag.root()], Node::Or(2, 3));
        assert_eq!(dag.formula(dag.root()), f);
        for (i, n) in dag.nodes.iter().enumerate() {
            let children = match n {
                Node::Not(a) | Node::Dia { body: a, .. } => vec![*a],
                Node::And(a, b) | Node::Or(a, b) => vec![*a, *b],
                _ => vec![],
            };
            assert!(children.iter().all(|&c| c < i));
        }
    }
}
