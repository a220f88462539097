//! Parsing, bounds checks and the encoder round trip.

use super::*;
use crate::quant::encode_f32;

fn every_type() -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    let entries = [
        ("a.u8", Value::U8(200)),
        ("a.i8", Value::I8(-5)),
        ("a.u16", Value::U16(65000)),
        ("a.i16", Value::I16(-30000)),
        ("a.u32", Value::U32(4_000_000_000)),
        ("a.i32", Value::I32(-2_000_000_000)),
        ("a.f32", Value::F32(1.5e-5)),
        ("a.bool", Value::Bool(true)),
        ("a.string", Value::String("héllo ✓".into())),
        ("a.u64", Value::U64(u64::MAX)),
        ("a.i64", Value::I64(i64::MIN)),
        ("a.f64", Value::F64(-2.25)),
        (
            "a.strings",
            Value::Array(vec![
                Value::String("x".into()),
                Value::String(String::new()),
            ]),
        ),
        (
            "a.nested",
            Value::Array(vec![
                Value::Array(vec![Value::I32(1), Value::I32(2)]),
                Value::Array(vec![Value::I32(3)]),
            ]),
        ),
        ("general.alignment", Value::U32(64)),
    ];
    for (k, v) in entries {
        m.insert(k.to_string(), v);
    }
    m
}

fn two_tensors() -> Vec<TensorData> {
    vec![
        TensorData {
            name: "w".into(),
            ne: vec![3, 2],
            ggml_type: GgmlType::F32,
            bytes: encode_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        },
        TensorData {
            name: "b".into(),
            ne: vec![5],
            ggml_type: GgmlType::F32,
            bytes: encode_f32(&[-1.0, -2.0, -3.0, -4.0, -5.0]),
        },
    ]
}

#[test]
fn round_trip_keeps_every_metadata_type_and_aligns_tensors() {
    let meta = every_type();
    let bytes = encode(&meta, &two_tensors());
    let g = Gguf::parse(Path::new("t.gguf"), bytes.clone()).unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.metadata, meta);
    assert_eq!(g.alignment, 64);
    assert_eq!(g.data_start % 64, 0);
    assert_eq!(
        g.tensors[1].offset, 64,
        "second tensor starts at the next multiple of 64"
    );
    let (w, ne) = g.tensor_f32("w").unwrap();
    assert_eq!((w, ne), (vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![3, 2]));
    assert_eq!(
        g.tensor_f32("b").unwrap().0,
        vec![-1.0, -2.0, -3.0, -4.0, -5.0]
    );
    assert_eq!(g.get_u64("a.u32").unwrap(), 4_000_000_000);
    assert_eq!(g.get_strings("a.strings").unwrap(), vec!["x", ""]);
    assert!(g.get_u64("a.i8").is_err(), "negative is not unsigned");
    assert!(
        g.get_str("missing")
            .unwrap_err()
            .to_string()
            .contains("missing metadata `missing`")
    );
    // The default alignment is 32.
    let mut meta32 = meta;
    meta32.remove("general.alignment");
    let g32 = Gguf::parse(Path::new("t.gguf"), encode(&meta32, &two_tensors())).unwrap();
    assert_eq!((g32.alignment, g32.tensors[1].offset), (32, 32));
}

#[test]
fn every_truncation_and_corruption_is_an_error_not_a_panic() {
    let bytes = encode(&every_type(), &two_tensors());
    for cut in 0..bytes.len() {
        let r = Gguf::parse(Path::new("t.gguf"), bytes[..cut].to_vec());
        let e = r.expect_err("a truncated file must be refused").to_string();
        assert!(e.contains("t.gguf"), "{e}");
    }
    // Flip every byte in turn: parsing may succeed (a changed value) but never panics.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xA5;
        if let Ok(g) = Gguf::parse(Path::new("t.gguf"), b) {
            let _ = g.tensor_f32("w");
        }
    }
    let mut bad = bytes.clone();
    bad[0] = b'X';
    let e = Gguf::parse(Path::new("t.gguf"), bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad magic"), "{e}");
    let mut v1 = bytes;
    v1[4] = 1;
    let e = Gguf::parse(Path::new("t.gguf"), v1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 1"), "{e}");
}

/// Issue 25: a tensor declared F16 over F32 bytes was read as garbage halves, giving
/// non-finite activations with exit 0. Its span no longer matches the next tensor's offset;
/// as the last tensor its bytes run past what it declares; a non-finite value is refused.
#[test]
fn a_declared_type_that_does_not_match_the_data_is_refused() {
    let values: Vec<f32> = (0..64).map(|i| i as f32 * 0.25 - 3.0).collect();
    let tensor = |name: &str, ggml_type| TensorData {
        name: name.into(),
        ne: vec![64],
        ggml_type,
        bytes: encode_f32(&values),
    };
    let meta = BTreeMap::new();
    let ok = encode(
        &meta,
        &[tensor("a", GgmlType::F32), tensor("b", GgmlType::F32)],
    );
    Gguf::parse(Path::new("t.gguf"), ok).unwrap();
    for tensors in [
        vec![tensor("a", GgmlType::F16), tensor("b", GgmlType::F32)],
        vec![tensor("a", GgmlType::F32), tensor("b", GgmlType::F16)],
    ] {
        let e = Gguf::parse(Path::new("t.gguf"), encode(&meta, &tensors))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not match its data"), "{e}");
    }
    let mut nan = values.clone();
    nan[5] = f32::NAN;
    let t = TensorData {
        bytes: encode_f32(&nan),
        ..tensor("a", GgmlType::F32)
    };
    let g = Gguf::parse(Path::new("t.gguf"), encode(&meta, &[t])).unwrap();
    let e = g.tensor_f32("a").unwrap_err().to_string();
    assert!(e.contains("non-finite value at index 5"), "{e}");
}
