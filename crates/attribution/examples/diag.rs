use genlab_attribution::diffusion::{ddpm, shapes};
use genlab_core::train::{Observer, SeededRng};
struct P;
impl Observer for P { fn step(&mut self, s: u64, m: &[(&str, f64)]) { if s % 500 == 0 { eprintln!("{s} {m:?}"); } } }
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let steps: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let width: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(128);
    let lr: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2e-3);
    let q = shapes::Attrs { shape: shapes::Shape::Triangle, colour: shapes::Colour::Red };
    let data = shapes::training_set(600, q, &mut SeededRng::new(1));
    let cfg = ddpm::DdpmConfig { width, steps, batch: 128, lr, p_drop: 0.1 };
    let t0 = std::time::Instant::now();
    let model = ddpm::train(&data, &cfg, 0, &mut P).unwrap();
    eprintln!("train {:.1}s", t0.elapsed().as_secs_f64());
    for (name, a) in [("red circle", shapes::Attrs { shape: shapes::Shape::Circle, colour: shapes::Colour::Red }), ("blue tri", shapes::Attrs { shape: shapes::Shape::Triangle, colour: shapes::Colour::Blue }), ("red tri", q)] {
        for w in [1.0f32, 3.0] {
            let s = ddpm::sample(&model, a.cond(), 8, w, 50, 5);
            let inks: Vec<String> = s.chunks(shapes::DIM).map(|im| {
                let ink = shapes::ink_colour(im);
                let n = im.chunks(3).filter(|p| p.iter().any(|v| *v < 0.0)).count();
                format!("{:?}/{n}", ink.map(|c| c.map(|v| (v * 10.0).round() / 10.0)))
            }).collect();
            println!("{name} w={w}: {}", inks.join(" "));
        }
    }
}
