//! The tensors a model asks for, without memory: the model is built against a backend that hands out
//! zero-stride views and records each name and shape. Used to count the real SDXL's parameters and to
//! write random weights in its real shapes (`omost dev random-sdxl`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;

/// Every tensor's name and dimensions, in name order.
pub type Shapes = BTreeMap<String, Vec<usize>>;

struct Recorder(Arc<Mutex<Shapes>>);

impl SimpleBackend for Recorder {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), s.dims().to_vec());
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
        candle_core::bail!("unexpected unchecked get of {name}")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        // Answer as the published files would: new-style VAE attention names, CLIP with `text_model.`.
        name.starts_with("text_model.")
            || name == "text_projection.weight"
            || name.ends_with("to_q.weight")
    }
}

/// Builds a model against the recording backend and returns the tensors it asked for.
pub fn record(build: impl FnOnce(VarBuilder) -> Result<()>) -> Result<Shapes> {
    let shapes = Arc::new(Mutex::new(Shapes::new()));
    build(VarBuilder::from_backend(
        Box::new(Recorder(shapes.clone())),
        DType::F32,
        Device::Cpu,
    ))?;
    let recorded = shapes.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(recorded)
}

/// The number of values in all the tensors.
pub fn parameter_count(shapes: &Shapes) -> usize {
    shapes.values().map(|d| d.iter().product::<usize>()).sum()
}
