use genlab_embed::embedder::Arm;
use genlab_embed::eval::unprompted_queries;
use genlab_embed::train::*;
use burn::module::Module;
fn main() {
    let a: Vec<f64> = std::env::args().skip(1).map(|x| x.parse().unwrap()).collect();
    let mut c = TrainConfig::DEFAULT;
    c.seg_steps = 2;
    c.general_steps = a[0] as u64;
    c.tau = a[1];
    c.lr = a[2];
    let data = ScarData::generate(0, 0, 2000);
    let (seg, _) = pretrain_seg(&data, &c, &mut genlab_core::train::NoObserver).unwrap();
    let m = fresh_embedder(&c);
    let (m, h) = train_phase(Arm::GlobalOnly, Phase::General, m, &seg, &data, &c, None, false, &mut genlab_core::train::NoObserver).unwrap();
    let m = m.valid();
    println!("{:?}", h.losses());
    let imgs: Vec<&[f32]> = data.images[..4].iter().map(|v| v.as_slice()).collect();
    let q = unprompted_queries(Arm::GlobalOnly, &m, &seg, &imgs).unwrap();
    println!("q q^T {:?}", genlab_core::tensor::to_vec(q.clone().matmul(q.clone().transpose())));
    let t = embed_captions(&m, &data.full[..4]);
    println!("t t^T {:?}", genlab_core::tensor::to_vec(t.clone().matmul(t.clone().transpose())));
    println!("q t^T {:?}", genlab_core::tensor::to_vec(q.clone().matmul(t.transpose())));
}
