use genlab_embed::train::*;
fn main() {
    let a: Vec<f64> = std::env::args().skip(1).map(|x| x.parse().unwrap()).collect();
    let mut c = TrainConfig::DEFAULT;
    c.seg_steps = a[0] as u64;
    c.lr = a[1];
    let data = ScarData::generate(0, 0, 1000);
    // Constant-predictor BCE.
    let mut ys = Vec::new();
    for q in &data.queries { for i in 0..q.scene.objects.len() { ys.extend(genlab_embed::seg::pooled_mask(&q.scene.mask(i))); } }
    let m: f64 = ys.iter().map(|&y| y as f64).sum::<f64>() / ys.len() as f64;
    let bce: f64 = ys.iter().map(|&y| { let y = y as f64; -(y * m.ln() + (1.0 - y) * (1.0 - m).ln()) }).sum::<f64>() / ys.len() as f64;
    let h: f64 = ys.iter().map(|&y| { let y = y as f64; if y <= 0.0 || y >= 1.0 { 0.0 } else { -(y * y.ln() + (1.0 - y) * (1.0 - y).ln()) } }).sum::<f64>() / ys.len() as f64;
    println!("mean {m:.4} constant BCE {bce:.4} floor {h:.4}");
    let (_, hist) = pretrain_seg(&data, &c, &mut genlab_core::train::NoObserver).unwrap();
    println!("{:?}", hist.losses());
}
