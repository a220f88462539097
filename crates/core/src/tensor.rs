//! Conversions between [`Points`] (host data) and burn tensors.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::Points;

/// `points` as a `[n, d]` tensor on `device`.
pub fn to_tensor(points: &Points, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(points.data.clone(), [points.len(), points.d]),
        device,
    )
}

/// Rows `idx` of `points` as a `[idx.len(), d]` tensor (a minibatch), gathered host-side.
pub fn rows_to_tensor(points: &Points, idx: &[usize], device: &Device) -> Tensor<2> {
    let mut data = Vec::with_capacity(idx.len() * points.d);
    for &i in idx {
        data.extend_from_slice(points.row(i));
    }
    Tensor::from_data(TensorData::new(data, [idx.len(), points.d]), device)
}

/// Host values as a `[n, 1]` column (per-sample times, noise levels, weights).
pub fn column(values: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len(), 1]), device)
}

/// A `[n, d]` tensor's values as a host vector.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 after convert")
}

/// A `[n, d]` tensor as unlabelled [`Points`]. Non-finite values are kept (callers that report
/// metrics check them), so this never fails.
pub fn to_points(t: Tensor<2>) -> Points {
    let [_, d] = t.dims();
    Points {
        d,
        data: to_vec(t),
        labels: None,
    }
}
