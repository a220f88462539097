//! Training: it learns class-conditional placement, resumes exactly, refuses unlabelled data;
//! the model directory round-trips.

use super::*;
use crate::metrics::class_accuracies;
use crate::mixture::ClassMixture;
use genlab_core::testing::scratch;
use genlab_core::train::NoObserver;
use genlab_core::train::testing::StopAt;

fn small(head: Head, steps: u64) -> GanConfig {
    GanConfig {
        steps,
        batch: 64,
        width: 32,
        checkpoint_every: 0,
        ..GanConfig::new(head)
    }
}

/// 4 well-separated classes: a short SONA run puts most samples of each class in its mode,
/// where the untrained generator puts almost none.
#[test]
fn sona_learns_class_placement() {
    let m = ClassMixture::ring(4);
    let data = m.sample(2000, &mut SeededRng::new(0));
    let acc = |steps| {
        let t = train(
            &data,
            &small(Head::Sona, steps),
            None,
            false,
            &mut NoObserver,
        )
        .unwrap();
        let s = t
            .model
            .sample_balanced(100, &mut SeededRng::new(1))
            .unwrap();
        class_accuracies(&m, &s).iter().sum::<f64>() / 4.0
    };
    let (before, after) = (acc(1), acc(600));
    assert!(before < 0.2 && after > 0.6, "accuracy {before} → {after}");
}

#[test]
fn resumes_exactly_and_saves_the_model() {
    let m = ClassMixture::ring(3);
    let data = m.sample(300, &mut SeededRng::new(0));
    let config = small(Head::Sona, 20);
    let (dir, _) = scratch("x");
    let (straight_dir, resumed_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&straight_dir).unwrap();
    std::fs::create_dir_all(&resumed_dir).unwrap();
    let straight = train(&data, &config, Some(&straight_dir), true, &mut NoObserver).unwrap();
    let err = train(
        &data,
        &config,
        Some(&resumed_dir),
        true,
        &mut StopAt::new(10),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("10") || matches!(err, genlab_core::Error::Interrupted { .. }),
        "{err}"
    );
    let resumed = train(&data, &config, Some(&resumed_dir), true, &mut NoObserver).unwrap();
    let draw = |m: &GanModel| m.sample(&[0, 1, 2], &mut SeededRng::new(5)).unwrap();
    assert_eq!(draw(&straight.model), draw(&resumed.model));
    assert_eq!(straight.history, resumed.history);
    // The model directory round-trips.
    straight.model.save(&straight_dir).unwrap();
    let loaded = GanModel::load(&straight_dir).unwrap();
    assert_eq!(draw(&loaded), draw(&straight.model));
    assert_eq!(loaded.spec, straight.model.spec);
}

#[test]
fn refuses_what_it_cannot_learn() {
    let unlabelled = Points::new(2, vec![0.0; 20], None).unwrap();
    let err = train(
        &unlabelled,
        &small(Head::Sona, 5),
        None,
        false,
        &mut NoObserver,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no class labels"), "{err}");
    let one_class = Points::new(2, vec![0.0; 20], Some(vec![0; 10])).unwrap();
    let err = train(
        &one_class,
        &small(Head::Sona, 5),
        None,
        false,
        &mut NoObserver,
    )
    .unwrap_err();
    assert!(err.to_string().contains("2 classes"), "{err}");
    let bad = GanConfig {
        lr: -1.0,
        ..small(Head::Sona, 5)
    };
    assert!(bad.validate().is_err());
    let data = ClassMixture::ring(3).sample(30, &mut SeededRng::new(0));
    let t = train(
        &data,
        &small(Head::Projection, 2),
        None,
        false,
        &mut NoObserver,
    )
    .unwrap();
    let err = t
        .model
        .sample(&[3], &mut SeededRng::new(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("class 3 is out of range"), "{err}");
}
