//! Object-discovery metrics of a predicted pixel partition against ground-truth instance masks
//! (as in `sony/coda` `src/metric/segmentation.py`, written here from the definitions).
//!
//! ```text
//! ARI(P, G)  = (Σ_ij C(n_ij, 2) − E) / (½(Σ_i C(a_i, 2) + Σ_j C(b_j, 2)) − E),
//!              E = Σ_i C(a_i, 2) Σ_j C(b_j, 2) / C(n, 2)
//!              n_ij = |P_i ∩ G_j|, a_i = |P_i|, b_j = |G_j|   (1 when the denominator is 0)
//! FG-ARI     = ARI restricted to the pixels whose ground truth is not background
//! mBO        = mean over ground-truth objects g of max_p IoU(g, p)
//! mIoU       = mean over ground-truth objects of IoU(g, σ(g)), σ the one-to-one matching of
//!              objects to predicted segments maximising Σ IoU (Hungarian); unmatched → 0
//! ```
//!
//! Every metric is computed per image (background label 0 excluded from the objects) and
//! averaged over the images that have at least one object.

use crate::hungarian::assign;

/// C(x, 2).
fn pairs(x: f64) -> f64 {
    x * (x - 1.0) / 2.0
}

/// The adjusted Rand index of two labelings of the same items.
pub fn ari(pred: &[usize], truth: &[usize]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "labelings of different lengths");
    let n = pred.len();
    if n < 2 {
        return 1.0;
    }
    let p = pred.iter().max().map_or(0, |m| m + 1);
    let t = truth.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![0f64; p * t];
    for (&a, &b) in pred.iter().zip(truth) {
        table[a * t + b] += 1.0;
    }
    let index: f64 = table.iter().map(|&x| pairs(x)).sum();
    let rows: f64 = (0..p)
        .map(|i| pairs(table[i * t..(i + 1) * t].iter().sum()))
        .sum();
    let cols: f64 = (0..t)
        .map(|j| pairs((0..p).map(|i| table[i * t + j]).sum()))
        .sum();
    let expected = rows * cols / pairs(n as f64);
    let max = 0.5 * (rows + cols);
    if (max - expected).abs() < 1e-12 {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// ARI of one image over its foreground pixels (`truth` ≠ 0); `None` without foreground.
pub fn fg_ari(pred: &[usize], truth: &[u8]) -> Option<f64> {
    let (p, t): (Vec<usize>, Vec<usize>) = pred
        .iter()
        .zip(truth)
        .filter(|(_, t)| **t != 0)
        .map(|(&p, &t)| (p, t as usize))
        .unzip();
    (!t.is_empty()).then(|| ari(&p, &t))
}

/// IoU of every ground-truth object (rows, labels 1..) with every predicted segment (columns).
fn iou_table(pred: &[usize], truth: &[u8]) -> Vec<Vec<f64>> {
    let objects = truth.iter().map(|&t| t as usize).max().unwrap_or(0);
    let segments = pred.iter().max().map_or(0, |m| m + 1);
    let mut inter = vec![vec![0f64; segments]; objects + 1];
    let mut area_t = vec![0f64; objects + 1];
    let mut area_p = vec![0f64; segments];
    for (&p, &t) in pred.iter().zip(truth) {
        inter[t as usize][p] += 1.0;
        area_t[t as usize] += 1.0;
        area_p[p] += 1.0;
    }
    (1..=objects)
        .filter(|&g| area_t[g] > 0.0)
        .map(|g| {
            (0..segments)
                .map(|s| {
                    let union = area_t[g] + area_p[s] - inter[g][s];
                    if union > 0.0 {
                        inter[g][s] / union
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Mean best overlap of one image; `None` without objects.
pub fn mbo(pred: &[usize], truth: &[u8]) -> Option<f64> {
    let table = iou_table(pred, truth);
    (!table.is_empty()).then(|| {
        table
            .iter()
            .map(|row| row.iter().cloned().fold(0.0, f64::max))
            .sum::<f64>()
            / table.len() as f64
    })
}

/// Mean IoU after Hungarian matching of objects to segments; `None` without objects.
pub fn miou(pred: &[usize], truth: &[u8]) -> Option<f64> {
    let table = iou_table(pred, truth);
    if table.is_empty() {
        return None;
    }
    let cost: Vec<Vec<f64>> = table
        .iter()
        .map(|r| r.iter().map(|x| -x).collect())
        .collect();
    let matched = assign(&cost);
    let total: f64 = matched
        .iter()
        .enumerate()
        .filter_map(|(g, s)| s.map(|s| table[g][s]))
        .sum();
    Some(total / table.len() as f64)
}

/// FG-ARI, mBO and mIoU averaged over images.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Discovery {
    /// Mean FG-ARI.
    pub fg_ari: f64,
    /// Mean best overlap (instance).
    pub mbo: f64,
    /// Hungarian-matched mean IoU (instance).
    pub miou: f64,
}

/// The three metrics over images: `preds[i]` and `truths[i]` label image i's pixels.
pub fn discovery(preds: &[Vec<usize>], truths: &[&[u8]]) -> Discovery {
    let mean = |f: &dyn Fn(&[usize], &[u8]) -> Option<f64>| {
        let xs: Vec<f64> = preds
            .iter()
            .zip(truths)
            .filter_map(|(p, t)| f(p, t))
            .collect();
        if xs.is_empty() {
            f64::NAN
        } else {
            xs.iter().sum::<f64>() / xs.len() as f64
        }
    };
    Discovery {
        fg_ari: mean(&fg_ari),
        mbo: mean(&mbo),
        miou: mean(&miou),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_by_hand() {
        // pred {0,1,2 | 3,4,5}, truth {0,1 | 2,3 | 4,5}:
        // n_ij = [[2,1,0],[0,1,2]] → index = 1 + 1 = 2; rows: 2·C(3,2) = 6; cols: 3·C(2,2) = 3;
        // E = 6·3/C(6,2) = 18/15 = 1.2; max = 4.5; ARI = (2 − 1.2)/(4.5 − 1.2) = 0.8/3.3.
        let pred = [0, 0, 0, 1, 1, 1];
        let truth = [0, 0, 1, 1, 2, 2];
        assert!((ari(&pred, &truth) - 0.8 / 3.3).abs() < 1e-12);
    }

    #[test]
    fn ari_is_one_for_a_perfect_partition_under_any_relabeling() {
        let truth = [0, 0, 1, 1, 1, 2, 2, 0];
        assert!((ari(&truth, &truth) - 1.0).abs() < 1e-12);
        let relabeled = [5, 5, 3, 3, 3, 0, 0, 5];
        assert!((ari(&relabeled, &truth) - 1.0).abs() < 1e-12);
        // Permuting predicted labels never changes the score.
        let pred = [0, 1, 1, 2, 1, 0, 2, 2];
        let perm = [2, 0, 0, 1, 0, 2, 1, 1];
        assert!((ari(&pred, &truth) - ari(&perm, &truth)).abs() < 1e-12);
    }

    #[test]
    fn fg_ari_ignores_background_pixels() {
        // Background pixels (truth 0) are wrong in every way; foreground is perfect.
        let truth = [0u8, 0, 1, 1, 2, 2];
        let pred = [1, 2, 0, 0, 1, 1];
        assert!((fg_ari(&pred, &truth).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(fg_ari(&[0, 1], &[0, 0]), None);
        // One predicted segment over two objects: ARI 0 (the all-in-one partition).
        assert!(fg_ari(&[0, 0, 0, 0], &[1, 1, 2, 2]).unwrap().abs() < 1e-12);
    }

    #[test]
    fn mbo_and_miou_by_hand() {
        // truth: object 1 = pixels {0,1,2,3}, object 2 = {4,5}, background {6,7}.
        // pred: segment 0 = {0,1,4,5}, segment 1 = {2,3,6,7}.
        // IoU(o1,s0) = 2/6, IoU(o1,s1) = 2/6, IoU(o2,s0) = 2/4, IoU(o2,s1) = 0.
        // mBO = (1/3 + 1/2)/2. Hungarian: o2→s0 (1/2), o1→s1 (1/3): same sum here.
        let truth = [1u8, 1, 1, 1, 2, 2, 0, 0];
        let pred = [0, 0, 1, 1, 0, 0, 1, 1];
        let want = (1.0 / 3.0 + 0.5) / 2.0;
        assert!((mbo(&pred, &truth).unwrap() - want).abs() < 1e-12);
        assert!((miou(&pred, &truth).unwrap() - want).abs() < 1e-12);
        // One segment covering both objects: mBO counts it twice, mIoU only once.
        let one = [0usize; 8];
        let (i1, i2) = (4.0 / 8.0, 2.0 / 8.0);
        assert!((mbo(&one, &truth).unwrap() - (i1 + i2) / 2.0).abs() < 1e-12);
        assert!((miou(&one, &truth).unwrap() - i1 / 2.0).abs() < 1e-12);
    }

    #[test]
    fn discovery_averages_over_images() {
        let t1 = [1u8, 1, 2, 2];
        let t2 = [1u8, 1, 1, 1];
        let d = discovery(&[vec![0, 0, 1, 1], vec![0, 0, 0, 0]], &[&t1, &t2]);
        assert!((d.fg_ari - 1.0).abs() < 1e-12);
        assert!((d.mbo - 1.0).abs() < 1e-12 && (d.miou - 1.0).abs() < 1e-12);
    }
}
