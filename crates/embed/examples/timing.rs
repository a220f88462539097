//! Scratch timing of one arm's phases (not part of the library).
use genlab_core::train::NoObserver;
use genlab_embed::embedder::Arm;
use genlab_embed::eval::{scar_p1, unprompted_p1};
use genlab_embed::seg::PromptKind;
use genlab_embed::train::*;
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let mut c = TrainConfig::DEFAULT;
    c.seg_steps = args[0];
    c.general_steps = args[1];
    c.scar_steps = args[2];
    if args.len() > 4 { c.tau = args[4] as f64 / 1000.0; c.lr = args[5] as f64 / 10000.0; }
    let arms: Vec<Arm> = if args.len() > 3 { vec![Arm::ALL[args[3] as usize]] } else { Arm::ALL.to_vec() };
    let data = ScarData::generate(0, 0, c.queries);
    let eval = ScarData::generate(0, 1, 300);
    let t = Instant::now();
    let (seg, h) = pretrain_seg(&data, &c, &mut NoObserver).unwrap();
    println!("seg {:?} loss {:?}", t.elapsed(), h.losses().last());
    for arm in arms {
        let t = Instant::now();
        let m = fresh_embedder(&c);
        let (m, h) = train_phase(arm, Phase::General, m, &seg, &data, &c, None, false, &mut NoObserver).unwrap();
        let g = t.elapsed();
        let v = burn::module::Module::valid(&m);
        let s1 = scar_p1(arm, &v, &seg, &eval, PromptKind::Box).unwrap();
        let u1 = unprompted_p1(arm, &v, &seg, &eval, 100).unwrap();
        let t2 = Instant::now();
        let (m, h2) = train_phase(arm, Phase::Scar, m, &seg, &data, &c, None, false, &mut NoObserver).unwrap();
        let sc = t2.elapsed();
        let v = burn::module::Module::valid(&m);
        let s2 = scar_p1(arm, &v, &seg, &eval, PromptKind::Box).unwrap();
        let u2 = unprompted_p1(arm, &v, &seg, &eval, 100).unwrap();
        let gr = scar_p1(arm, &v, &seg, &eval, PromptKind::Grid).unwrap();
        let pt = scar_p1(arm, &v, &seg, &eval, PromptKind::Point).unwrap();
        println!("grid {:.3} {:?} point {:.3} {:?}", gr.p1, gr.by_kind.map(|x| (x*100.0).round()), pt.p1, pt.by_kind.map(|x| (x*100.0).round()));
        println!("{:12} general {:?} loss {:?} | scar {:?} loss {:?} | P@1 {:.3} {:?} -> {:.3} {:?} | unprompted {:.3} -> {:.3}",
            arm.name(), g, h.losses().last(), sc, h2.losses().last(), s1.p1, s1.by_kind.map(|x| (x*100.0).round()), s2.p1, s2.by_kind.map(|x| (x*100.0).round()), u1, u2);
    }
}
