//! The caption grammar, its vocabulary, and SCaR-lite queries with hard negatives by type.
//!
//! ```text
//! query caption   := <size> <colour> <shape> <relation> the <colour> <shape> in the <scene>
//! relation        := left of | right of | above | below        (target centre vs reference)
//! unprompted      := <scene> with <object> , <object> , …      (objects left to right)
//! ```
//!
//! SCaR (VIRTUE's benchmark) pairs an image and a box with one caption that names the entity
//! *and* the scene, plus nine distractors. SCaR-lite's nine negatives come in fixed proportions
//! ([`PROPORTIONS`]), each differing from the truth in exactly the element its type names:
//!
//! - **object** ×2: the true caption of *another object in the same image* (its attributes and
//!   its own relation to the reference; reference and scene unchanged) — true of the image, so
//!   a model that does not know which entity is meant cannot reject it;
//! - **scene** ×3: the scene word changed — a model that does not see the whole image cannot;
//! - **relation** ×2: the relation changed — needs the target and the reference together;
//! - **attribute** ×2: the target's colour (one) or size (one) changed to an object absent
//!   from the image.
//!
//! Analytical ceilings of P@1 over the 10 candidates (ties broken uniformly): an entity-blind
//! model (it sees the image, not which object) cannot separate the truth from the object swaps:
//! 1/(1 + 2) = 0.33; a scene-blind model: 1/(1 + 3) = 0.25; a crop-only model (neither scene nor
//! reference): 1/(1 + 3 + 2) = 0.17; chance 0.1.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::scene::{Attrs, COLOURS, SCENES, SHAPES, SIZES, Scene};

/// Relation names (two words for the first two).
pub const RELATIONS: [&str; 4] = ["left of", "right of", "above", "below"];

/// A structured query caption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caption {
    /// The described entity.
    pub target: Attrs,
    /// Index into [`RELATIONS`]: where the target is relative to the reference.
    pub relation: u8,
    /// The reference object (named by colour and shape; its size is not used).
    pub reference: Attrs,
    /// Index into [`SCENES`].
    pub scene: u8,
}

impl Caption {
    /// The caption's words.
    pub fn text(&self) -> String {
        let t = &self.target;
        format!(
            "{} {} {} {} the {} {} in the {}",
            SIZES[t.size as usize],
            COLOURS[t.colour as usize],
            SHAPES[t.shape as usize],
            RELATIONS[self.relation as usize],
            COLOURS[self.reference.colour as usize],
            SHAPES[self.reference.shape as usize],
            SCENES[self.scene as usize]
        )
    }
}

/// Kinds of hard negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NegKind {
    /// Another object of the same image.
    Object,
    /// Another scene.
    Scene,
    /// Another relation.
    Relation,
    /// The target's colour or size changed.
    Attribute,
}

impl NegKind {
    /// All kinds, in report order.
    pub const ALL: [NegKind; 4] = [
        NegKind::Object,
        NegKind::Scene,
        NegKind::Relation,
        NegKind::Attribute,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            NegKind::Object => "object",
            NegKind::Scene => "scene",
            NegKind::Relation => "relation",
            NegKind::Attribute => "attribute",
        }
    }
}

/// Negatives per query by kind (9 in all).
pub const PROPORTIONS: [(NegKind, usize); 4] = [
    (NegKind::Object, 2),
    (NegKind::Scene, 3),
    (NegKind::Relation, 2),
    (NegKind::Attribute, 2),
];

/// Candidates per query: the truth and the nine negatives.
pub const CANDIDATES: usize = 10;

/// The relation of object `a` to object `b` (by centres; the larger offset decides).
pub fn relation(scene: &Scene, a: usize, b: usize) -> u8 {
    let (ax, ay) = scene.objects[a].centre();
    let (bx, by) = scene.objects[b].centre();
    let (dx, dy) = (ax - bx, ay - by);
    if dx.abs() >= dy.abs() {
        if dx < 0.0 { 0 } else { 1 }
    } else if dy < 0.0 {
        2
    } else {
        3
    }
}

/// The true caption of object `target` relative to `reference`.
pub fn describe(scene: &Scene, target: usize, reference: usize) -> Caption {
    Caption {
        target: scene.objects[target].attrs,
        relation: relation(scene, target, reference),
        reference: scene.objects[reference].attrs,
        scene: scene.class,
    }
}

/// The unprompted (whole-image) caption: scene and every object, left to right.
pub fn describe_all(scene: &Scene) -> String {
    let mut objs: Vec<_> = scene.objects.iter().collect();
    objs.sort_by(|a, b| a.x.cmp(&b.x).then(a.y.cmp(&b.y)));
    let parts: Vec<String> = objs
        .iter()
        .map(|o| {
            let a = o.attrs;
            format!(
                "{} {} {}",
                SIZES[a.size as usize], COLOURS[a.colour as usize], SHAPES[a.shape as usize]
            )
        })
        .collect();
    format!(
        "{} with {}",
        SCENES[scene.class as usize],
        parts.join(" , ")
    )
}

/// One SCaR-lite query: scene, target, reference, the truth and the nine negatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// The image's structure.
    pub scene: Scene,
    /// Index of the target object.
    pub target: usize,
    /// Index of the reference object.
    pub reference: usize,
    /// The ground-truth caption.
    pub truth: Caption,
    /// The nine negatives, in [`PROPORTIONS`] order.
    pub negatives: Vec<(NegKind, Caption)>,
}

impl Query {
    /// A random query from `rng`.
    pub fn sample(rng: &mut ChaCha8Rng) -> Query {
        let scene = Scene::sample(rng);
        let n = scene.objects.len();
        let target = rng.random_range(0..n);
        let reference = (target + rng.random_range(1..n)) % n;
        let truth = describe(&scene, target, reference);
        let mut negatives = Vec::with_capacity(CANDIDATES - 1);
        // Object swaps: other objects' true captions.
        let mut others: Vec<usize> = (0..n).filter(|&i| i != target && i != reference).collect();
        others.shuffle(rng);
        for &o in &others[..2] {
            negatives.push((NegKind::Object, describe(&scene, o, reference)));
        }
        let mut scenes: Vec<u8> = (0..SCENES.len() as u8)
            .filter(|&s| s != scene.class)
            .collect();
        scenes.shuffle(rng);
        for &s in &scenes[..3] {
            negatives.push((NegKind::Scene, Caption { scene: s, ..truth }));
        }
        let mut rels: Vec<u8> = (0..4).filter(|&r| r != truth.relation).collect();
        rels.shuffle(rng);
        for &r in &rels[..2] {
            negatives.push((
                NegKind::Relation,
                Caption {
                    relation: r,
                    ..truth
                },
            ));
        }
        let taken: Vec<(u8, u8)> = scene
            .objects
            .iter()
            .map(|o| (o.attrs.colour, o.attrs.shape))
            .collect();
        let mut colours: Vec<u8> = (0..COLOURS.len() as u8)
            .filter(|&c| !taken.contains(&(c, truth.target.shape)))
            .collect();
        colours.shuffle(rng);
        let recoloured = Attrs {
            colour: colours[0],
            ..truth.target
        };
        let resized = Attrs {
            size: 1 - truth.target.size,
            ..truth.target
        };
        for target in [recoloured, resized] {
            negatives.push((NegKind::Attribute, Caption { target, ..truth }));
        }
        Query {
            scene,
            target,
            reference,
            truth,
            negatives,
        }
    }

    /// The ten candidates' texts, the truth first.
    pub fn candidates(&self) -> Vec<String> {
        std::iter::once(self.truth.text())
            .chain(self.negatives.iter().map(|(_, c)| c.text()))
            .collect()
    }
}

/// Queries drawn from `seed` on stream `split` (0 = train, 1 = eval: disjoint streams).
pub fn queries(seed: u64, split: u64, n: usize) -> Vec<Query> {
    use rand::SeedableRng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(split + 1);
    (0..n).map(|_| Query::sample(&mut rng)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn differs(a: &Caption, b: &Caption) -> [bool; 4] {
        [
            a.target != b.target,
            a.relation != b.relation,
            a.reference != b.reference,
            a.scene != b.scene,
        ]
    }

    #[test]
    fn negatives_differ_in_exactly_their_element() {
        for q in queries(7, 0, 300) {
            let t = q.truth;
            assert_eq!(q.negatives.len(), CANDIDATES - 1);
            for (kind, want) in PROPORTIONS {
                assert_eq!(q.negatives.iter().filter(|(k, _)| *k == kind).count(), want);
            }
            let texts = q.candidates();
            for (i, a) in texts.iter().enumerate() {
                assert!(!texts[i + 1..].contains(a), "duplicate candidate {a}");
            }
            for (kind, n) in &q.negatives {
                let [target, relation, reference, scene] = differs(&t, n);
                match kind {
                    // The entity (its attributes and its own relation) changes; reference and
                    // scene do not; and the negative is a true caption of another object.
                    NegKind::Object => {
                        assert!(target && !reference && !scene);
                        let o = q
                            .scene
                            .objects
                            .iter()
                            .position(|o| o.attrs == n.target)
                            .expect("an object of the image");
                        assert!(o != q.target && o != q.reference);
                        assert_eq!(*n, describe(&q.scene, o, q.reference));
                    }
                    NegKind::Scene => assert_eq!(
                        [target, relation, reference, scene],
                        [false, false, false, true]
                    ),
                    NegKind::Relation => assert_eq!(
                        [target, relation, reference, scene],
                        [false, true, false, false]
                    ),
                    NegKind::Attribute => {
                        assert_eq!(
                            [target, relation, reference, scene],
                            [true, false, false, false]
                        );
                        let (a, b) = (t.target, n.target);
                        let changed = (a.size != b.size) as u8 + (a.colour != b.colour) as u8;
                        assert!(changed == 1 && a.shape == b.shape);
                        // The changed entity is not in the image.
                        assert!(q.scene.objects.iter().all(|o| o.attrs != b));
                    }
                }
            }
        }
    }

    #[test]
    fn truth_relation_matches_geometry_and_splits_are_disjoint() {
        let q = &queries(1, 0, 1)[0];
        let (tx, _) = q.scene.objects[q.target].centre();
        let (rx, _) = q.scene.objects[q.reference].centre();
        if q.truth.relation == 0 {
            assert!(tx < rx);
        }
        let train = queries(1, 0, 200);
        let eval = queries(1, 1, 200);
        assert!(
            train
                .iter()
                .all(|a| eval.iter().all(|b| a.scene != b.scene))
        );
        assert_eq!(train, queries(1, 0, 200), "seeded");
    }

    #[test]
    fn captions_read_like_the_grammar() {
        let c = Caption {
            target: Attrs {
                size: 0,
                colour: 0,
                shape: 0,
            },
            relation: 0,
            reference: Attrs {
                size: 1,
                colour: 2,
                shape: 1,
            },
            scene: 0,
        };
        assert_eq!(
            c.text(),
            "small red circle left of the blue square in the beach"
        );
    }
}
