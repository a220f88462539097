//! A user's labelled graphs: a directory of graph files and a labels file, read into one
//! training graph (the disjoint union — an AC-GNN's output at a node depends only on the
//! node's own component, so training on the union is training on every graph at once) and one
//! Boolean label per node.
//!
//! Labels file — one line per graph, `#` starts a comment:
//!
//! ```text
//! # FILE: one 0/1 label per node, in node order
//! star.json: 1 0 0 0
//! path.txt: 0 1 0
//! ```
//!
//! `FILE` is the graph's file name inside the directory. Labels may also be written `true` /
//! `false` and be separated by spaces or commas. Every graph file needs exactly one line, with
//! exactly as many labels as the graph has nodes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use genlab_core::limits::excerpt;
use genlab_core::{Error, Result};

use crate::graph::Graph;

/// The labels file, parsed: `(file name, labels)` in file order.
pub type Labels = Vec<(String, Vec<bool>)>;

/// Most labels a labels file may hold in all (as many as the largest graph has nodes).
pub const MAX_LABELS: usize = crate::graph::MAX_NODES;

/// Parses a labels file (format in the module doc); `source` names it in errors.
pub fn parse_labels(text: &str, source: &Path) -> Result<Labels> {
    let bad = |line: usize, msg: String| Error::parse(source, Some(line), msg);
    let mut out: Labels = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut total = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, values)) = line.split_once(':') else {
            return Err(bad(
                line_no,
                format!(
                    "expected `FILE: 0 1 …` (a graph file name, a colon, one 0/1 label per node), found `{}`",
                    excerpt(line)
                ),
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad(
                line_no,
                "a graph file name is missing before `:`".into(),
            ));
        }
        if let Some(first) = seen.insert(name.to_string(), line_no) {
            return Err(bad(
                line_no,
                format!(
                    "`{}` is labelled twice (lines {first} and {line_no})",
                    excerpt(name)
                ),
            ));
        }
        let mut labels = Vec::new();
        for word in values.split(|c: char| c.is_whitespace() || c == ',') {
            let label = match word {
                "" => continue,
                "1" | "true" => true,
                "0" | "false" => false,
                w => {
                    return Err(bad(
                        line_no,
                        format!("labels are 0 or 1 (or true/false), not `{}`", excerpt(w)),
                    ));
                }
            };
            total += 1;
            if total > MAX_LABELS {
                return Err(bad(
                    line_no,
                    format!("more than {MAX_LABELS} labels in all"),
                ));
            }
            labels.push(label);
        }
        out.push((name.to_string(), labels));
    }
    if out.is_empty() {
        return Err(Error::parse(
            source,
            None,
            "no labels: expected lines `FILE: 0 1 …`, one per graph file",
        ));
    }
    Ok(out)
}

/// Labelled training graphs, as one disjoint union.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The disjoint union of the graphs, nodes numbered graph after graph in file-name order.
    pub graph: Graph,
    /// One label per node of `graph`.
    pub labels: Vec<bool>,
    /// `(file name, nodes)` of each graph, in the union's order.
    pub files: Vec<(String, usize)>,
}

/// The graph files of `dir`: its regular files other than dot-files and `skip` (the labels
/// file, when it lies inside `dir`), sorted by name.
pub fn graph_files(dir: &Path, skip: Option<&Path>) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let skip = skip.and_then(|p| p.canonicalize().ok());
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || !path.is_file() || path.canonicalize().ok() == skip {
            continue;
        }
        files.push(path);
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} holds no graph files (.json graphs or edge lists, see `genlab logic learn --help`)",
            dir.display()
        )));
    }
    Ok(files)
}

/// Reads every graph of `dir` and the labels file `labels` into a [`Dataset`]. Refuses, with
/// the file named: an empty directory, a malformed graph, a directed graph (training
/// backpropagates through undirected neighbour sums), graphs declaring different
/// propositions, a graph without labels or labels without a graph, and a label count that
/// differs from the graph's node count.
pub fn load_dataset(dir: &Path, labels: &Path) -> Result<Dataset> {
    let files = graph_files(dir, Some(labels))?;
    let text = std::fs::read_to_string(labels).map_err(|e| Error::io(labels, e))?;
    let mut by_name: HashMap<String, Vec<bool>> =
        parse_labels(&text, labels)?.into_iter().collect();
    let mut graphs = Vec::with_capacity(files.len());
    let mut all_labels = Vec::new();
    let mut names = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .expect("a file has a name")
            .to_string_lossy()
            .into_owned();
        let g = Graph::load(path)?;
        if g.directed() {
            return Err(Error::InvalidInput(format!(
                "{}: the graph is directed; `learn` trains on undirected graphs",
                path.display()
            )));
        }
        let Some(ls) = by_name.remove(&name) else {
            return Err(Error::InvalidInput(format!(
                "{}: no labels for `{}` (expected a line `{}: 0 1 …`)",
                labels.display(),
                excerpt(&name),
                excerpt(&name)
            )));
        };
        if ls.len() != g.nodes() {
            return Err(Error::InvalidInput(format!(
                "{}: `{}` has {} labels but the graph has {} nodes",
                labels.display(),
                excerpt(&name),
                ls.len(),
                g.nodes()
            )));
        }
        all_labels.extend(ls);
        names.push((name, g.nodes()));
        graphs.push(g);
    }
    if let Some(name) = by_name.keys().min() {
        return Err(Error::InvalidInput(format!(
            "{}: labels for `{}`, which is not a graph file in {}",
            labels.display(),
            excerpt(name),
            dir.display()
        )));
    }
    let graph = disjoint_union(&graphs, &files)?;
    Ok(Dataset {
        graph,
        labels: all_labels,
        files: names,
    })
}

/// The disjoint union of undirected graphs declaring the same propositions (in any order);
/// `paths` name them in errors.
pub fn disjoint_union(graphs: &[Graph], paths: &[PathBuf]) -> Result<Graph> {
    let Some(first) = graphs.first() else {
        return Err(Error::InvalidInput("no graphs".into()));
    };
    let mut props = first.props().to_vec();
    props.sort();
    let total: usize = graphs.iter().map(Graph::nodes).sum();
    if total > crate::graph::MAX_NODES {
        return Err(crate::graph::GraphError::TooManyNodes(total).into());
    }
    let mut labels: Vec<Vec<usize>> = Vec::with_capacity(total);
    let mut edges = Vec::new();
    let mut offset = 0;
    for (g, path) in graphs.iter().zip(paths) {
        let mut mine = g.props().to_vec();
        mine.sort();
        if mine != props {
            return Err(Error::InvalidInput(format!(
                "{} declares props [{}] but {} declares [{}]: all graphs need the same props",
                path.display(),
                excerpt(&mine.join(", ")),
                paths[0].display(),
                excerpt(&props.join(", "))
            )));
        }
        let cols: Vec<&[bool]> = props
            .iter()
            .map(|p| g.atom(p))
            .collect::<std::result::Result<_, _>>()?;
        for v in 0..g.nodes() {
            labels.push((0..props.len()).filter(|&p| cols[p][v]).collect());
            edges.extend(
                g.neighbours(v)
                    .iter()
                    .map(|&u| (offset + v, offset + u as usize))
                    .filter(|&(a, b)| a <= b),
            );
        }
        offset += g.nodes();
    }
    Ok(Graph::new(props, total, &labels, &edges, false)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> &'static Path {
        Path::new("labels.txt")
    }

    #[test]
    fn labels_parse_and_errors_name_the_line() {
        let l = parse_labels("# c\na.json: 1 0 1\n\nb.txt:true,false # x\n", src()).unwrap();
        assert_eq!(
            l,
            vec![
                ("a.json".to_string(), vec![true, false, true]),
                ("b.txt".to_string(), vec![true, false])
            ]
        );
        let e = |t: &str| parse_labels(t, src()).unwrap_err().to_string();
        assert!(
            e("a.json 1 0").contains("labels.txt:1: expected `FILE: 0 1"),
            "{}",
            e("a.json 1 0")
        );
        assert!(e("a: 1\nb: 2").contains("labels.txt:2: labels are 0 or 1"));
        assert!(e("a: 1\na: 0").contains("labelled twice (lines 1 and 2)"));
        assert!(e(": 1").contains("name is missing"));
        assert!(e("# only a comment\n").contains("no labels"));
    }

    #[test]
    fn datasets_are_disjoint_unions_and_refuse_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let w = |name: &str, text: &str| std::fs::write(d.join(name), text).unwrap();
        w(
            "a.json",
            r#"{"nodes": 2, "props": ["p", "q"], "labels": [["p"], ["q"]], "edges": [[0, 1]]}"#,
        );
        w("b.txt", "nodes 3\nprops q p\n2: p\n0 1\n1 2\n");
        w("labels", "a.json: 1 0\nb.txt: 0 0 1\n");
        let data = load_dataset(d, &d.join("labels")).unwrap();
        assert_eq!(data.labels, [true, false, false, false, true]);
        assert_eq!(
            data.files,
            [("a.json".to_string(), 2), ("b.txt".to_string(), 3)]
        );
        let g = &data.graph;
        assert_eq!((g.nodes(), g.arcs()), (5, 6));
        assert_eq!(g.neighbours(3), &[2, 4]);
        assert_eq!(g.atom("p").unwrap(), &[true, false, false, false, true]);
        assert_eq!(g.atom("q").unwrap(), &[false, true, false, false, false]);
        let err = |labels: &str| {
            w("labels", labels);
            load_dataset(d, &d.join("labels")).unwrap_err().to_string()
        };
        assert!(
            err("a.json: 1 0\nb.txt: 0 1\n")
                .contains("`b.txt` has 2 labels but the graph has 3 nodes")
        );
        assert!(err("a.json: 1 0\n").contains("no labels for `b.txt`"));
        assert!(
            err("a.json: 1 0\nb.txt: 0 0 1\nc.json: 1\n")
                .contains("labels for `c.json`, which is not a graph file")
        );
        w("labels", "a.json: 1 0\nb.txt: 0 0 1\nc.json: 1\n");
        w("c.json", r#"{"nodes": 1, "props": ["p"], "edges": []}"#);
        let e = load_dataset(d, &d.join("labels")).unwrap_err().to_string();
        assert!(e.contains("c.json declares props [p]"), "{e}");
        w(
            "c.json",
            r#"{"nodes": 1, "props": ["p", "q"], "edges": [[0, 0]], "directed": true}"#,
        );
        let e = load_dataset(d, &d.join("labels")).unwrap_err().to_string();
        assert!(e.contains("directed"), "{e}");
        w(
            "c.json",
            r#"{"nodes": 1, "props": ["p", "q"], "edges": [[0, 3]]}"#,
        );
        let e = load_dataset(d, &d.join("labels")).unwrap_err().to_string();
        assert!(e.contains("c.json") && e.contains("dangling"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = load_dataset(empty.path(), &d.join("labels"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no graph files"), "{e}");
    }
}
