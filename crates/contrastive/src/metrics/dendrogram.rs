//! The class-relationship dendrogram: average-linkage agglomerative clustering of the classes
//! under the gate distance 1 − overlap(a, b), drawn as an SVG.
//!
//! ```text
//! start: every class its own cluster
//! repeat: merge the two clusters A, B with least  d(A, B) = mean_{a∈A, b∈B} d(a, b)
//! ```

use std::fmt::Write;
use std::path::Path;

use genlab_core::{Result, fsx};

/// One merge: the two clusters (ids < C are classes, C + k is the k-th merge), the linkage
/// distance and the merged size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// First cluster.
    pub a: usize,
    /// Second cluster.
    pub b: usize,
    /// Average-linkage distance at the merge.
    pub height: f64,
    /// Classes in the merged cluster.
    pub size: usize,
}

/// The C − 1 merges of average linkage on the `C × C` distance matrix `dist`.
pub fn average_linkage(dist: &[f64], classes: usize) -> Vec<Merge> {
    let mut members: Vec<(usize, Vec<usize>)> = (0..classes).map(|c| (c, vec![c])).collect();
    let mut merges = Vec::new();
    while members.len() > 1 {
        let mut best = (0, 1, f64::INFINITY);
        for i in 0..members.len() {
            for j in i + 1..members.len() {
                let (a, b) = (&members[i].1, &members[j].1);
                let sum: f64 = a
                    .iter()
                    .flat_map(|&x| b.iter().map(move |&y| dist[x * classes + y]))
                    .sum();
                let d = sum / (a.len() * b.len()) as f64;
                if d < best.2 {
                    best = (i, j, d);
                }
            }
        }
        let (i, j, height) = best;
        let (id_b, b) = members.remove(j);
        let (id_a, mut a) = members.remove(i);
        a.extend(b);
        merges.push(Merge {
            a: id_a,
            b: id_b,
            height,
            size: a.len(),
        });
        members.push((classes + merges.len() - 1, a));
    }
    merges
}

/// The leaf order of the dendrogram (classes left to right).
pub fn leaf_order(merges: &[Merge], classes: usize) -> Vec<usize> {
    fn walk(id: usize, merges: &[Merge], classes: usize, out: &mut Vec<usize>) {
        if id < classes {
            out.push(id);
        } else {
            let m = merges[id - classes];
            walk(m.a, merges, classes, out);
            walk(m.b, merges, classes, out);
        }
    }
    let mut out = Vec::new();
    if merges.is_empty() {
        out.extend(0..classes);
    } else {
        walk(classes + merges.len() - 1, merges, classes, &mut out);
    }
    out
}

/// Writes the dendrogram of `merges` with leaf `names` as an SVG to `path`, atomically.
pub fn write_svg(path: &Path, title: &str, merges: &[Merge], names: &[&str]) -> Result<()> {
    let c = names.len();
    let order = leaf_order(merges, c);
    let (w, h, left, top, bottom) = (640.0, 400.0, 60.0, 40.0, 110.0);
    let max_h = merges.iter().map(|m| m.height).fold(1e-9, f64::max);
    let step = (w - left - 20.0) / c as f64;
    let mut x = vec![0.0; c + merges.len()];
    let mut y = vec![h - bottom; c + merges.len()];
    for (pos, &leaf) in order.iter().enumerate() {
        x[leaf] = left + step * (pos as f64 + 0.5);
    }
    let yof = |d: f64| h - bottom - (h - bottom - top) * d / max_h;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{title}</text>",
        w / 2.0
    );
    for (k, m) in merges.iter().enumerate() {
        let id = c + k;
        let yy = yof(m.height);
        x[id] = (x[m.a] + x[m.b]) / 2.0;
        y[id] = yy;
        let _ = write!(
            svg,
            "<path d=\"M{:.1},{:.1} V{yy:.1} H{:.1} V{:.1}\" fill=\"none\" stroke=\"#1f4e99\" stroke-width=\"1.5\"/>",
            x[m.a], y[m.a], x[m.b], y[m.b]
        );
    }
    for &leaf in &order {
        let _ = write!(
            svg,
            "<text transform=\"translate({:.1},{:.1}) rotate(-50)\" text-anchor=\"end\">{}</text>",
            x[leaf] + 4.0,
            h - bottom + 14.0,
            names[leaf]
        );
    }
    for t in 0..=4 {
        let d = max_h * t as f64 / 4.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{d:.3}</text>",
            left - 6.0,
            yof(d) + 4.0
        );
    }
    let _ = write!(
        svg,
        "<text transform=\"translate(14,{:.1}) rotate(-90)\" text-anchor=\"middle\">1 − gate overlap (average linkage)</text></svg>",
        (h - bottom + top) / 2.0
    );
    fsx::atomic_write(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_linkage_merges_the_closest_first() {
        // Points on a line at 0, 1, 5, 6.5: {0,1} at 1, then {2,3} at 1.5, then all at
        // mean(5, 6.5, 4, 5.5) = 5.25.
        let pos = [0.0f64, 1.0, 5.0, 6.5];
        let dist: Vec<f64> = (0..16).map(|k| (pos[k / 4] - pos[k % 4]).abs()).collect();
        let m = average_linkage(&dist, 4);
        assert_eq!((m[0].a, m[0].b, m[0].height), (0, 1, 1.0));
        assert_eq!((m[1].a, m[1].b, m[1].height), (2, 3, 1.5));
        assert_eq!((m[2].height, m[2].size), (5.25, 4));
        assert_eq!(leaf_order(&m, 4), [0, 1, 2, 3]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.svg");
        write_svg(&path, "t", &m, &["a", "b", "c", "d"]).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains(">d</text>")
        );
    }
}
