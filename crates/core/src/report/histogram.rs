//! Histograms for figures: counts over equal bins of a fixed range, as the (bin centre, share)
//! points of a [`LineSeries`](super::LineSeries), so that several distributions (a trained zoo
//! and generated networks, two arms' cosines) overlay on one line chart.

/// The share of `values` in each of `bins` equal bins of [lo, hi], as `(bin centre, share)`.
/// Values outside the range count in the end bins; non-finite values in none, but in the total
/// (so the shares of a set with NaNs sum to less than 1). A density is share / bin width.
pub fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    assert!(bins > 0 && hi > lo, "histogram: need bins ≥ 1 and hi > lo");
    let mut counts = vec![0usize; bins];
    for &x in values.iter().filter(|x| x.is_finite()) {
        let k = ((x - lo) / (hi - lo) * bins as f64).floor();
        counts[k.clamp(0.0, (bins - 1) as f64) as usize] += 1;
    }
    let (width, total) = ((hi - lo) / bins as f64, values.len().max(1) as f64);
    counts
        .iter()
        .enumerate()
        .map(|(k, &c)| (lo + (k as f64 + 0.5) * width, c as f64 / total))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_by_hand() {
        // Bins [0, 1), [1, 2), [2, 3]: 0.5 and −4 in the first, 1 in the second, 3 and 9 in the
        // last; the NaN in the total only.
        let h = histogram(&[0.5, -4.0, 1.0, 3.0, 9.0, f64::NAN], 0.0, 3.0, 3);
        assert_eq!(
            h,
            vec![(0.5, 2.0 / 6.0), (1.5, 1.0 / 6.0), (2.5, 2.0 / 6.0)]
        );
        assert_eq!(histogram(&[], 0.0, 1.0, 2), vec![(0.25, 0.0), (0.75, 0.0)]);
    }
}
