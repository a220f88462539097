//! Causal grouped-query attention over a sequence's keys and values (equations in the parent
//! module's doc), for a whole batch of sequences or for new rows after a cached prefix.

use rayon::prelude::*;

use super::kernels::dot_inline;

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heads {
    /// Query heads H.
    pub n_head: usize,
    /// Key/value heads K.
    pub n_kv_head: usize,
    /// Head width d_h.
    pub head_dim: usize,
}

/// Query rows per attention task.
const QUERY_BLOCK: usize = 16;

/// Causal grouped-query attention. `q` is `[B·T, H·d_h]`, `k` and `v` are `[B·T, K·d_h]`
/// (B sequences of T positions); returns `[B·T, H·d_h]`. Query head h reads key/value head
/// `h / (H / K)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_seq: usize,
    seq_len: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
) -> Vec<f32> {
    debug_assert_eq!(q.len(), n_seq * seq_len * n_head * head_dim);
    let heads = Heads {
        n_head,
        n_kv_head,
        head_dim,
    };
    attend(q, k, v, n_seq, 0, heads)
}

/// Causal grouped-query attention of `n` new rows per sequence after a prefix of `start`
/// cached ones: `q` is `[B·n, H·d_h]` (query t of a sequence sits at position `start + t`),
/// `k` and `v` are `[B·(start + n), K·d_h]`; query t reads keys `0 ..= start + t` of its
/// sequence. Work is split over (sequence, head, block of 16 queries); each query row is summed
/// in one fixed order, whatever the thread count.
pub(super) fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_seq: usize,
    start: usize,
    s: Heads,
) -> Vec<f32> {
    let (qw, kw) = (s.n_head * s.head_dim, s.n_kv_head * s.head_dim);
    let n = q.len() / qw / n_seq;
    let kv_len = start + n;
    let blocks = n.div_ceil(QUERY_BLOCK);
    let group = s.n_head / s.n_kv_head;
    let parts: Vec<Vec<f32>> = (0..n_seq * s.n_head * blocks)
        .into_par_iter()
        .map(|task| {
            let (b, h, qb) = (
                task / (s.n_head * blocks),
                task / blocks % s.n_head,
                task % blocks,
            );
            let rows = qb * QUERY_BLOCK..((qb + 1) * QUERY_BLOCK).min(n);
            let mut out = vec![0.0f32; rows.len() * s.head_dim];
            let view = HeadView {
                q: &q[(b * n + rows.start) * qw..(b * n + rows.end) * qw],
                k: &k[b * kv_len * kw..(b + 1) * kv_len * kw],
                v: &v[b * kv_len * kw..(b + 1) * kv_len * kw],
                q_at: h * s.head_dim,
                kv_at: h / group * s.head_dim,
                qw,
                kw,
                head_dim: s.head_dim,
                first_pos: start + rows.start,
            };
            head_rows(&mut out, &view);
            out
        })
        .collect();
    let mut out = vec![0.0f32; n_seq * n * qw];
    for (task, part) in parts.iter().enumerate() {
        let (b, h, qb) = (
            task / (s.n_head * blocks),
            task / blocks % s.n_head,
            task % blocks,
        );
        for (i, o) in part.chunks_exact(s.head_dim).enumerate() {
            let row = (b * n + qb * QUERY_BLOCK + i) * qw + h * s.head_dim;
            out[row..row + s.head_dim].copy_from_slice(o);
        }
    }
    out
}

/// One head's slice of a block of query rows and of its sequence's keys and values.
struct HeadView<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    q_at: usize,
    kv_at: usize,
    qw: usize,
    kw: usize,
    head_dim: usize,
    first_pos: usize,
}

fn head_rows(out: &mut [f32], h: &HeadView<'_>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for were just detected.
            unsafe { head_rows_avx2(out, h) };
            return;
        }
    }
    head_rows_portable(out, h);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn head_rows_avx2(out: &mut [f32], h: &HeadView<'_>) {
    head_rows_portable(out, h);
}

/// `o_t = Σ_{s ≤ t} softmax_s(q_t · k_s / √d_h) v_s` for each query row of the block.
#[inline(always)]
fn head_rows_portable(out: &mut [f32], h: &HeadView<'_>) {
    let hd = h.head_dim;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut p = vec![0.0f32; h.first_pos + out.len() / hd];
    for (i, ot) in out.chunks_exact_mut(hd).enumerate() {
        let t = h.first_pos + i;
        let qt = &h.q[i * h.qw + h.q_at..][..hd];
        let mut max = f32::NEG_INFINITY;
        for (s, ps) in p[..=t].iter_mut().enumerate() {
            *ps = dot_inline(qt, &h.k[s * h.kw + h.kv_at..][..hd]) * scale;
            max = max.max(*ps);
        }
        let mut sum = 0.0f32;
        for ps in &mut p[..=t] {
            *ps = (*ps - max).exp();
            sum += *ps;
        }
        for (s, ps) in p[..=t].iter().enumerate() {
            let w = ps / sum;
            for (o, vv) in ot.iter_mut().zip(&h.v[s * h.kw + h.kv_at..][..hd]) {
                *o += w * vv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    #[test]
    fn new_rows_after_a_cached_prefix_match_the_whole_sequence() {
        let mut rng = SeededRng::new(3);
        let (b, t, h, kv, hd) = (2, 37, 6, 2, 8);
        let s = Heads {
            n_head: h,
            n_kv_head: kv,
            head_dim: hd,
        };
        let q = rng.normal_vec(b * t * h * hd);
        let k = rng.normal_vec(b * t * kv * hd);
        let v = rng.normal_vec(b * t * kv * hd);
        let whole = attention(&q, &k, &v, b, t, h, kv, hd);
        for start in [0, 1, 20, 36] {
            let n = t - start;
            let tail: Vec<f32> = (0..b)
                .flat_map(|i| q[(i * t + start) * h * hd..(i + 1) * t * h * hd].to_vec())
                .collect();
            let part = attend(&tail, &k, &v, b, start, s);
            for i in 0..b {
                let want = &whole[(i * t + start) * h * hd..(i + 1) * t * h * hd];
                let got = &part[i * n * h * hd..(i + 1) * n * h * hd];
                let diff = want
                    .iter()
                    .zip(got)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-5, "start {start} seq {i}: {diff}");
            }
        }
    }
}
