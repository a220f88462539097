//! Labelled graphs, i.e. Kripke models `M = (W, R, V)`: worlds are nodes `0..n`, `R` is the edge
//! relation (successor lists, deduplicated, since `R` is a set), and `V` labels each node with
//! the atomic propositions true there. Undirected graphs (the setting of Barceló et al. 2020)
//! store each edge in both directions.
//!
//! Two file formats:
//!
//! JSON — `{"nodes": 3, "props": ["p", "q"], "labels": [["p"], [], ["p", "q"]],
//! "edges": [[0, 1], [1, 2]], "directed": false}`. `labels` (one list per node) and `directed`
//! (default `false`) are optional; every label must be declared in `props`.
//!
//! Edge list — one item per line, `#` starts a comment:
//!
//! ```text
//! nodes 3
//! props p q
//! directed        (optional; undirected by default)
//! 0: p            (node 0 is labelled p)
//! 2: p q
//! 0 1             (an edge)
//! 1 2
//! ```

use std::collections::HashMap;
use std::path::Path;

use genlab_core::limits::excerpt;
use genlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A node-labelled graph with successor lists in CSR form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    props: Vec<String>,
    /// `atoms[p][v]`: proposition `p` holds at node `v`.
    atoms: Vec<Vec<bool>>,
    offsets: Vec<usize>,
    targets: Vec<u32>,
    directed: bool,
}

/// The JSON form of a graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphJson {
    /// Number of nodes.
    pub nodes: usize,
    /// The declared propositions.
    pub props: Vec<String>,
    /// Labels of each node (one list per node), optional.
    #[serde(default)]
    pub labels: Vec<Vec<String>>,
    /// Edges `[from, to]`.
    pub edges: Vec<(usize, usize)>,
    /// Whether edges are one-way.
    #[serde(default)]
    pub directed: bool,
}

/// Largest graph accepted: 2^24 (16,777,216) nodes — node ids fit in `u32` with room to spare,
/// and the per-node tables stay within a laptop's memory. (It was `u32::MAX`, checked only
/// after the edge-list reader had allocated its tables: `nodes 4294967296` aborted; issue 25.)
pub const MAX_NODES: usize = 1 << 24;

/// At most this many propositions × nodes truth values (2^28, as `genlab_core::limits`).
pub const MAX_LABEL_CELLS: usize = genlab_core::limits::MAX_ELEMENTS;

/// A graph that cannot be built as described, saying what to fix. Converts into
/// [`genlab_core::Error`]; file readers add the file's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// More nodes than [`MAX_NODES`].
    #[error("a graph may have at most {MAX_NODES} nodes, not {0}")]
    TooManyNodes(usize),
    /// More propositions × nodes than [`MAX_LABEL_CELLS`].
    #[error("{props} props × {nodes} nodes exceed the limit of {MAX_LABEL_CELLS} truth values")]
    TooManyLabels {
        /// Declared propositions.
        props: usize,
        /// Nodes.
        nodes: usize,
    },
    /// A proposition declared twice.
    #[error(
        "proposition `{}` is declared twice (positions {first} and {second})",
        excerpt(name)
    )]
    DuplicateProp {
        /// The proposition.
        name: String,
        /// Its first position in `props`.
        first: usize,
        /// Its second position.
        second: usize,
    },
    /// A declared proposition that the formula syntax cannot name.
    #[error(
        "`{}` cannot be a proposition name: use letters, digits and `_`, start with a letter or `_`, and avoid `true`, `false`, `dia`",
        excerpt(.0)
    )]
    BadPropName(String),
    /// Label lists for a different number of nodes than the graph has.
    #[error("`labels` has {labelled} entries but the graph has {nodes} nodes")]
    LabelCount {
        /// Label lists given.
        labelled: usize,
        /// Nodes of the graph.
        nodes: usize,
    },
    /// A label given by index, outside the declared propositions.
    #[error("node {node}: label index {index} is out of range")]
    LabelIndex {
        /// The node.
        node: usize,
        /// The index into `props`.
        index: usize,
    },
    /// A label that is not a declared proposition.
    #[error("node {node} has label `{}`, which is not among the declared props [{}]", excerpt(label), excerpt(&props.join(", ")))]
    UnknownLabel {
        /// The node.
        node: usize,
        /// The label.
        label: String,
        /// The declared propositions.
        props: Vec<String>,
    },
    /// An edge to or from a node the graph does not have.
    #[error("edge {index} ({from}, {to}) is dangling: the graph has nodes 0..{}", nodes.saturating_sub(1))]
    DanglingEdge {
        /// Position of the edge in the list.
        index: usize,
        /// Its source.
        from: usize,
        /// Its target.
        to: usize,
        /// Nodes of the graph.
        nodes: usize,
    },
    /// A proposition looked up (by a formula or a network) that the graph does not declare.
    #[error("proposition `{}` is not declared by the graph (props: [{}])", excerpt(name), excerpt(&props.join(", ")))]
    UndeclaredProp {
        /// The proposition.
        name: String,
        /// The declared propositions.
        props: Vec<String>,
    },
}

impl From<GraphError> for Error {
    fn from(e: GraphError) -> Error {
        genlab_core::Error::family(e)
    }
}

impl Graph {
    /// Builds a graph; `labels[v]` lists the indices into `props` true at `v`.
    pub fn new(
        props: Vec<String>,
        n: usize,
        labels: &[Vec<usize>],
        edges: &[(usize, usize)],
        directed: bool,
    ) -> Result<Graph, GraphError> {
        if n > MAX_NODES {
            return Err(GraphError::TooManyNodes(n));
        }
        if props.len().saturating_mul(n) > MAX_LABEL_CELLS {
            return Err(GraphError::TooManyLabels {
                props: props.len(),
                nodes: n,
            });
        }
        let mut seen = HashMap::new();
        for (i, p) in props.iter().enumerate() {
            if let Some(j) = seen.insert(p.as_str(), i) {
                return Err(GraphError::DuplicateProp {
                    name: p.clone(),
                    first: j,
                    second: i,
                });
            }
            if crate::parse::parse(p).ok() != Some(crate::formula::Formula::Atom(p.clone())) {
                return Err(GraphError::BadPropName(p.clone()));
            }
        }
        if labels.len() > n {
            return Err(GraphError::LabelCount {
                labelled: labels.len(),
                nodes: n,
            });
        }
        let mut atoms = vec![vec![false; n]; props.len()];
        for (v, ls) in labels.iter().enumerate() {
            for &p in ls {
                let row = atoms
                    .get_mut(p)
                    .ok_or(GraphError::LabelIndex { node: v, index: p })?;
                row[v] = true;
            }
        }
        let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (i, &(u, v)) in edges.iter().enumerate() {
            if u >= n || v >= n {
                return Err(GraphError::DanglingEdge {
                    index: i,
                    from: u,
                    to: v,
                    nodes: n,
                });
            }
            adj[u].push(v as u32);
            if !directed && u != v {
                adj[v].push(u as u32);
            }
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut targets = Vec::new();
        offsets.push(0);
        for mut list in adj {
            list.sort_unstable();
            list.dedup();
            targets.extend_from_slice(&list);
            offsets.push(targets.len());
        }
        Ok(Graph {
            props,
            atoms,
            offsets,
            targets,
            directed,
        })
    }

    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of (directed) arcs in `R`; an undirected edge counts twice.
    pub fn arcs(&self) -> usize {
        self.targets.len()
    }

    /// Successors of `v`.
    pub fn neighbours(&self, v: usize) -> &[u32] {
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Largest out-degree (0 for an empty graph).
    pub fn max_degree(&self) -> usize {
        self.offsets
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// The declared propositions.
    pub fn props(&self) -> &[String] {
        &self.props
    }

    /// Truth of proposition `name` at every node, or an error naming the declared ones.
    pub fn atom(&self, name: &str) -> Result<&[bool], GraphError> {
        match self.props.iter().position(|p| p == name) {
            Some(i) => Ok(&self.atoms[i]),
            None => Err(GraphError::UndeclaredProp {
                name: name.into(),
                props: self.props.clone(),
            }),
        }
    }

    /// Whether edges are one-way.
    pub fn directed(&self) -> bool {
        self.directed
    }

    /// The JSON form.
    pub fn to_json(&self) -> GraphJson {
        let n = self.nodes();
        let labels = (0..n)
            .map(|v| {
                (0..self.props.len())
                    .filter(|&p| self.atoms[p][v])
                    .map(|p| self.props[p].clone())
                    .collect()
            })
            .collect();
        let edges = (0..n)
            .flat_map(|u| self.neighbours(u).iter().map(move |&v| (u, v as usize)))
            .filter(|&(u, v)| self.directed || u <= v)
            .collect();
        GraphJson {
            nodes: n,
            props: self.props.clone(),
            labels,
            edges,
            directed: self.directed,
        }
    }

    /// Builds a graph from its JSON form.
    pub fn from_json(g: &GraphJson) -> Result<Graph, GraphError> {
        if !g.labels.is_empty() && g.labels.len() != g.nodes {
            return Err(GraphError::LabelCount {
                labelled: g.labels.len(),
                nodes: g.nodes,
            });
        }
        let index: HashMap<&str, usize> = g
            .props
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let mut labels = Vec::with_capacity(g.labels.len());
        for (v, ls) in g.labels.iter().enumerate() {
            let mut row = Vec::with_capacity(ls.len());
            for l in ls {
                row.push(
                    *index
                        .get(l.as_str())
                        .ok_or_else(|| GraphError::UnknownLabel {
                            node: v,
                            label: l.clone(),
                            props: g.props.clone(),
                        })?,
                );
            }
            labels.push(row);
        }
        Graph::new(g.props.clone(), g.nodes, &labels, &g.edges, g.directed)
    }

    /// Parses the JSON format; `source` names the file in errors.
    pub fn parse_json(text: &str, source: &Path) -> Result<Graph> {
        let g: GraphJson = serde_json::from_str(text).map_err(|e| {
            Error::parse(
                source,
                Some(e.line()),
                genlab_core::limits::shorten(&e.to_string()),
            )
        })?;
        Graph::from_json(&g).map_err(|e| Error::parse(source, None, e.to_string()))
    }

    /// Parses the edge-list format.
    pub fn parse_edge_list(text: &str, source: &Path) -> Result<Graph> {
        let bad = |line: usize, msg: String| Error::parse(source, Some(line), msg);
        let mut nodes: Option<usize> = None;
        let mut props: Option<Vec<String>> = None;
        let mut directed = false;
        let mut labels: Vec<(usize, usize, Vec<String>)> = Vec::new();
        let mut edges: Vec<(usize, usize, usize)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let first = words.next().expect("non-empty line");
            let node_id = |w: &str| -> Result<usize> {
                w.parse::<usize>().map_err(|_| {
                    bad(
                        line_no,
                        format!(
                            "expected a node number, `nodes`, `props` or `directed`, found `{}`",
                            excerpt(w)
                        ),
                    )
                })
            };
            match first {
                "nodes" => {
                    let n = words.next().and_then(|w| w.parse().ok()).ok_or_else(|| {
                        bad(line_no, "expected `nodes N` with a whole number N".into())
                    })?;
                    if n > MAX_NODES {
                        return Err(bad(line_no, GraphError::TooManyNodes(n).to_string()));
                    }
                    nodes = Some(n);
                }
                "props" => props = Some(words.map(str::to_string).collect()),
                "directed" => directed = true,
                w if w.ends_with(':') => {
                    let v = node_id(&w[..w.len() - 1])?;
                    labels.push((line_no, v, words.map(str::to_string).collect()));
                }
                w => {
                    let u = node_id(w)?;
                    let v = match words.next() {
                        Some(":") => {
                            labels.push((line_no, u, words.map(str::to_string).collect()));
                            continue;
                        }
                        Some(x) => node_id(x)?,
                        None => {
                            return Err(bad(
                                line_no,
                                format!("expected an edge `{u} V` or labels `{u}: p q`"),
                            ));
                        }
                    };
                    if let Some(extra) = words.next() {
                        return Err(bad(
                            line_no,
                            format!(
                                "an edge has two node numbers; unexpected `{}`",
                                excerpt(extra)
                            ),
                        ));
                    }
                    edges.push((line_no, u, v));
                }
            }
        }
        let n = nodes.ok_or_else(|| bad(1, "missing a `nodes N` line".into()))?;
        let props = props.unwrap_or_default();
        let index: HashMap<&str, usize> = props
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        if props.len().saturating_mul(n) > MAX_LABEL_CELLS {
            let e = GraphError::TooManyLabels {
                props: props.len(),
                nodes: n,
            };
            return Err(bad(1, e.to_string()));
        }
        let mut node_labels = vec![Vec::new(); n];
        for (line_no, v, ls) in &labels {
            if *v >= n {
                return Err(bad(
                    *line_no,
                    format!(
                        "labels for node {v}, but the graph has nodes 0..{}",
                        n.saturating_sub(1)
                    ),
                ));
            }
            for l in ls {
                let p = index.get(l.as_str()).ok_or_else(|| {
                    bad(
                        *line_no,
                        format!(
                            "node {v} has label `{}`, which is not among the declared props [{}]",
                            excerpt(l),
                            excerpt(&props.join(", "))
                        ),
                    )
                })?;
                node_labels[*v].push(*p);
            }
        }
        for &(line_no, u, v) in &edges {
            if u >= n || v >= n {
                return Err(bad(
                    line_no,
                    format!(
                        "edge ({u}, {v}) is dangling: the graph has nodes 0..{}",
                        n.saturating_sub(1)
                    ),
                ));
            }
        }
        let pairs: Vec<(usize, usize)> = edges.iter().map(|&(_, u, v)| (u, v)).collect();
        Graph::new(props, n, &node_labels, &pairs, directed)
            .map_err(|e| Error::parse(source, None, e.to_string()))
    }

    /// Reads a graph file: `.json` as JSON, anything else as an edge list.
    pub fn load(path: &Path) -> Result<Graph> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        if path.extension().is_some_and(|e| e == "json") {
            Graph::parse_json(&text, path)
        } else {
            Graph::parse_edge_list(&text, path)
        }
    }
}

/// The message of an `InvalidInput` without its "invalid input: " prefix, for re-wrapping.
pub(crate) fn strip(e: Error) -> String {
    match e {
        Error::InvalidInput(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> &'static Path {
        Path::new("g.json")
    }

    #[test]
    fn json_and_edge_list_describe_the_same_graph() {
        let json = r#"{"nodes": 3, "props": ["p", "q"], "labels": [["p"], [], ["p", "q"]],
                       "edges": [[0, 1], [1, 2], [1, 0]]}"#;
        let a = Graph::parse_json(json, src()).unwrap();
        let text = "# a path\nnodes 3\nprops p q\n0: p\n2: p q\n0 1\n1 2 # dup below\n1 0\n";
        let b = Graph::parse_edge_list(text, Path::new("g.txt")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.neighbours(1), &[0, 2]);
        assert_eq!(a.arcs(), 4, "undirected, duplicates removed");
        assert_eq!(a.max_degree(), 2);
        assert_eq!(a.atom("q").unwrap(), &[false, false, true]);
        let back = Graph::from_json(&a.to_json()).unwrap();
        assert_eq!(back, a);
        let d = Graph::new(vec![], 2, &[], &[(0, 1)], true).unwrap();
        assert_eq!(
            Graph::new(vec![], 2, &[], &[(0, 1), (1, 2)], false),
            Err(GraphError::DanglingEdge {
                index: 1,
                from: 1,
                to: 2,
                nodes: 2
            }),
            "the error says which edge, so a caller can point at it"
        );
        assert_eq!((d.neighbours(0), d.neighbours(1)), (&[1u32][..], &[][..]));
    }

    #[test]
    fn malformed_graphs_give_clear_errors() {
        let dangling = r#"{"nodes": 2, "props": [], "edges": [[0, 5]]}"#;
        let e = Graph::parse_json(dangling, src()).unwrap_err().to_string();
        assert!(e.contains("dangling") && e.contains("(0, 5)"), "{e}");
        let unknown = r#"{"nodes": 2, "props": ["p"], "labels": [["p"], ["r"]], "edges": []}"#;
        let e = Graph::parse_json(unknown, src()).unwrap_err().to_string();
        assert!(
            e.contains("node 1 has label `r`") && e.contains("[p]"),
            "{e}"
        );
        let e = Graph::parse_json(r#"{"nodes": 2, "edges": []}"#, src())
            .unwrap_err()
            .to_string();
        assert!(e.contains("props") && e.contains("g.json:1"), "{e}");
        let e = Graph::parse_json("{\"nodes\": 1,\n \"prop\": []}", src())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `prop`") && e.contains(":2"),
            "{e}"
        );
        let e = Graph::parse_json(r#"{"nodes": 2, "props": ["p", "p"], "edges": []}"#, src())
            .unwrap_err()
            .to_string();
        assert!(e.contains("declared twice"), "{e}");
        let e = Graph::parse_json(r#"{"nodes": 1, "props": ["a b"], "edges": []}"#, src())
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be a proposition"), "{e}");
        let e = Graph::parse_json(
            r#"{"nodes": 2, "props": [], "labels": [[]], "edges": []}"#,
            src(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("1 entries") && e.starts_with("g.json: "), "{e}");
        let list = |t: &str| {
            Graph::parse_edge_list(t, Path::new("g.txt"))
                .unwrap_err()
                .to_string()
        };
        assert!(list("nodes 2\n0 7\n").contains("g.txt:2: edge (0, 7) is dangling"));
        assert!(list("nodes 2\nprops p\n1: z\n").contains("g.txt:3: node 1 has label `z`"));
        assert!(list("0 1\n").contains("missing a `nodes N`"));
        assert!(list("nodes 2\nfoo 1\n").contains("g.txt:2: expected a node number"));
        assert!(list("nodes 2\n0 1 2\n").contains("unexpected `2`"));
    }

    /// Issue 25: `nodes 4294967296` made the edge-list reader allocate its tables before the
    /// node limit was checked (an allocation abort); huge prop lists did the same via JSON.
    #[test]
    fn huge_node_counts_are_refused_before_allocating() {
        let src = Path::new("g.txt");
        for n in [
            "4294967296",
            "4294967295",
            "16777217",
            "18446744073709551615",
        ] {
            let err = Graph::parse_edge_list(&format!("nodes {n}\n0 1\n"), src).unwrap_err();
            assert!(
                err.to_string().contains("at most 16777216 nodes"),
                "{n}: {err}"
            );
        }
        let props: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
        let text = format!("nodes 16000000\nprops {}\n", props.join(" "));
        let err = Graph::parse_edge_list(&text, src).unwrap_err().to_string();
        assert!(err.contains("truth values"), "{err}");
        let json = format!(r#"{{"nodes": 16000000, "props": {props:?}, "edges": []}}"#);
        let err = Graph::parse_json(&json, src).unwrap_err().to_string();
        assert!(err.contains("truth values"), "{err}");
        let long = format!("nodes 2\n0: {}\n", "q".repeat(100_000));
        let err = Graph::parse_edge_list(&long, src).unwrap_err().to_string();
        assert!(
            err.len() < 400,
            "errors quote at most 80 characters: {}",
            err.len()
        );
    }
}
