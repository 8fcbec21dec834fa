//! The parts of a diffusers `UNet2DConditionModel` `config.json` that SDXL's UNet needs, normalised
//! (per-block lists where diffusers accepts a number or a list).

use std::path::Path;

use serde_json::Value;

/// SDXL UNet hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct UNetConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    /// Output channels of each down level (SDXL: 320, 640, 1280).
    pub block_out_channels: Vec<usize>,
    /// Whether each down level has cross-attention (SDXL: no, yes, yes); up levels mirror it.
    pub cross_attention: Vec<bool>,
    pub layers_per_block: usize,
    /// Transformer blocks per attention, per down level (SDXL: 1, 2, 10); the mid block uses the last.
    pub transformer_layers_per_block: Vec<usize>,
    /// Attention heads per down level (diffusers' `attention_head_dim`, which counts heads for SDXL).
    pub heads: Vec<usize>,
    pub cross_attention_dim: usize,
    pub norm_num_groups: usize,
    pub norm_eps: f64,
    /// Width of each sinusoidal `time_ids` embedding (SDXL: 256).
    pub addition_time_embed_dim: usize,
    /// Input width of `add_embedding`: pooled text + 6 · `addition_time_embed_dim` (SDXL: 2816).
    pub projection_class_embeddings_input_dim: usize,
    pub flip_sin_to_cos: bool,
    pub freq_shift: f64,
}

impl UNetConfig {
    /// Stable Diffusion XL base 1.0 (and its fine-tunes).
    pub fn sdxl() -> Self {
        UNetConfig {
            in_channels: 4,
            out_channels: 4,
            block_out_channels: vec![320, 640, 1280],
            cross_attention: vec![false, true, true],
            layers_per_block: 2,
            transformer_layers_per_block: vec![1, 2, 10],
            heads: vec![5, 10, 20],
            cross_attention_dim: 2048,
            norm_num_groups: 32,
            norm_eps: 1e-5,
            addition_time_embed_dim: 256,
            projection_class_embeddings_input_dim: 2816,
            flip_sin_to_cos: true,
            freq_shift: 0.0,
        }
    }

    /// Time-embedding width (4 × the first level's channels).
    pub fn time_embed_dim(&self) -> usize {
        self.block_out_channels[0] * 4
    }

    /// Reads a diffusers `unet/config.json`.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&json).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Builds the config from parsed `config.json`, checking it describes an SDXL-style UNet.
    pub fn from_json(json: &Value) -> Result<Self, String> {
        let usize_of = |key: &str| -> Result<usize, String> {
            json.get(key)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| format!("`{key}` missing or not a number"))
        };
        let f64_or =
            |key: &str, default: f64| json.get(key).and_then(Value::as_f64).unwrap_or(default);
        let channels: Vec<usize> = json
            .get("block_out_channels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .map(|v| v as usize)
                    .collect()
            })
            .ok_or("`block_out_channels` missing")?;
        let levels = channels.len();
        let per_level = |key: &str, default: Option<usize>| -> Result<Vec<usize>, String> {
            match json.get(key) {
                Some(Value::Array(a)) if a.len() == levels => Ok(a
                    .iter()
                    .map(|v| v.as_u64().map(|v| v as usize).ok_or(()))
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("`{key}` is not a list of numbers"))?),
                Some(Value::Number(n)) => Ok(vec![n.as_u64().unwrap_or(1) as usize; levels]),
                None | Some(Value::Null) => default
                    .map(|d| vec![d; levels])
                    .ok_or_else(|| format!("`{key}` missing")),
                _ => Err(format!("`{key}` must be a number or a list of {levels}")),
            }
        };
        let down_types: Vec<String> = json
            .get("down_block_types")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .ok_or("`down_block_types` missing")?;
        if down_types.len() != levels {
            return Err("`down_block_types` and `block_out_channels` differ in length".into());
        }
        let cross_attention = down_types
            .iter()
            .map(|t| match t.as_str() {
                "DownBlock2D" => Ok(false),
                "CrossAttnDownBlock2D" => Ok(true),
                other => Err(format!("unsupported down block `{other}`")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if json.get("addition_embed_type").and_then(Value::as_str) != Some("text_time") {
            return Err("not an SDXL UNet (`addition_embed_type` is not \"text_time\")".into());
        }
        if json.get("use_linear_projection").and_then(Value::as_bool) == Some(false) {
            return Err(
                "convolutional `proj_in` (use_linear_projection false) is not supported".into(),
            );
        }
        // diffusers: `num_attention_heads` wins; SDXL configs leave it null and put the head count in
        // `attention_head_dim`.
        let heads = match json.get("num_attention_heads") {
            Some(v) if !v.is_null() => per_level("num_attention_heads", None)?,
            _ => per_level("attention_head_dim", Some(8))?,
        };
        let config = UNetConfig {
            in_channels: usize_of("in_channels")?,
            out_channels: usize_of("out_channels")?,
            cross_attention,
            layers_per_block: usize_of("layers_per_block")?,
            transformer_layers_per_block: per_level("transformer_layers_per_block", Some(1))?,
            heads,
            cross_attention_dim: usize_of("cross_attention_dim")?,
            norm_num_groups: usize_of("norm_num_groups").unwrap_or(32),
            norm_eps: f64_or("norm_eps", 1e-5),
            addition_time_embed_dim: usize_of("addition_time_embed_dim")?,
            projection_class_embeddings_input_dim: usize_of(
                "projection_class_embeddings_input_dim",
            )?,
            flip_sin_to_cos: json
                .get("flip_sin_to_cos")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            freq_shift: f64_or("freq_shift", 0.0),
            block_out_channels: channels,
        };
        if let Some(c) = config
            .block_out_channels
            .iter()
            .find(|&&c| c % config.norm_num_groups != 0)
        {
            return Err(format!(
                "{c} channels are not divisible into {} groups",
                config.norm_num_groups
            ));
        }
        Ok(config)
    }
}
