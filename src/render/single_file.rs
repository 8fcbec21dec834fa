//! Single-file SDXL checkpoints (the original Stability/LDM key names most community models ship
//! with): where each diffusers tensor lives in such a file, and a [`SimpleBackend`] that serves a
//! component's diffusers names from it — splitting CLIP-G's fused `in_proj`, transposing its
//! `text_projection` and flattening the VAE's 1×1-conv attention weights. The same mapping writes
//! single files (for test models), so both directions agree by construction. Rules from diffusers'
//! `single_file_utils.py`.

use candle_core::{safetensors::MmapedSafetensors, DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

/// A model inside an SDXL checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Unet,
    Vae,
    ClipL,
    ClipG,
}

/// How a diffusers tensor is stored in the single file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// As is.
    Same(String),
    /// Rows `start..start+len` of a fused tensor (CLIP-G's `in_proj` q/k/v).
    Rows(String, usize, usize),
    /// Transposed (CLIP-G's `text_projection`, used as `x @ P`).
    Transposed(String),
    /// With trailing 1×1 axes (the VAE attention's convolution-shaped weights).
    Conv1x1(String),
}

impl Stored {
    /// The single-file key.
    pub fn key(&self) -> &str {
        match self {
            Stored::Same(k) | Stored::Rows(k, ..) | Stored::Transposed(k) | Stored::Conv1x1(k) => k,
        }
    }
}

/// Where the diffusers tensor `name` of `component` is stored.
pub fn stored(component: Component, name: &str, layout: &Layout) -> Stored {
    match component {
        Component::Unet => {
            Stored::Same(format!("model.diffusion_model.{}", unet_key(name, layout)))
        }
        Component::Vae => vae_key(name, layout),
        Component::ClipL => Stored::Same(format!("conditioner.embedders.0.transformer.{name}")),
        Component::ClipG => clip_g_key(name, layout.clip_g_width),
    }
}

/// The shape facts the key mapping needs.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub unet_layers_per_block: usize,
    pub unet_levels: usize,
    pub vae_levels: usize,
    pub clip_g_width: usize,
}

impl Layout {
    /// SDXL base.
    pub fn sdxl() -> Self {
        Layout {
            unet_layers_per_block: 2,
            unet_levels: 3,
            vae_levels: 4,
            clip_g_width: 1280,
        }
    }
}

fn resnet_inner(rest: &str) -> String {
    const RENAMES: [(&str, &str); 6] = [
        ("norm1", "in_layers.0"),
        ("conv1", "in_layers.2"),
        ("time_emb_proj", "emb_layers.1"),
        ("norm2", "out_layers.0"),
        ("conv2", "out_layers.3"),
        ("conv_shortcut", "skip_connection"),
    ];
    for (from, to) in RENAMES {
        if let Some(tail) = rest.strip_prefix(from) {
            return format!("{to}{tail}");
        }
    }
    rest.to_owned()
}

/// Splits `"3.rest"` into `(3, "rest")`.
fn index(s: &str) -> Option<(usize, &str)> {
    let (i, rest) = s.split_once('.')?;
    Some((i.parse().ok()?, rest))
}

fn unet_key(name: &str, layout: &Layout) -> String {
    const TOP: [(&str, &str); 7] = [
        ("conv_in", "input_blocks.0.0"),
        ("time_embedding.linear_1", "time_embed.0"),
        ("time_embedding.linear_2", "time_embed.2"),
        ("add_embedding.linear_1", "label_emb.0.0"),
        ("add_embedding.linear_2", "label_emb.0.2"),
        ("conv_norm_out", "out.0"),
        ("conv_out", "out.2"),
    ];
    for (from, to) in TOP {
        if let Some(tail) = name.strip_prefix(from) {
            return format!("{to}{tail}");
        }
    }
    let per = layout.unet_layers_per_block;
    if let Some((i, rest)) = name.strip_prefix("down_blocks.").and_then(index) {
        if let Some((j, inner)) = rest.strip_prefix("resnets.").and_then(index) {
            return format!(
                "input_blocks.{}.0.{}",
                1 + i * (per + 1) + j,
                resnet_inner(inner)
            );
        }
        if let Some((j, inner)) = rest.strip_prefix("attentions.").and_then(index) {
            return format!("input_blocks.{}.1.{inner}", 1 + i * (per + 1) + j);
        }
        if let Some(tail) = rest.strip_prefix("downsamplers.0.conv") {
            return format!("input_blocks.{}.0.op{tail}", (i + 1) * (per + 1));
        }
    }
    if let Some(rest) = name.strip_prefix("mid_block.") {
        if let Some((j, inner)) = rest.strip_prefix("resnets.").and_then(index) {
            return format!("middle_block.{}.{}", j * 2, resnet_inner(inner));
        }
        if let Some(inner) = rest.strip_prefix("attentions.0.") {
            return format!("middle_block.1.{inner}");
        }
    }
    if let Some((i, rest)) = name.strip_prefix("up_blocks.").and_then(index) {
        let first = i * (per + 1);
        if let Some((j, inner)) = rest.strip_prefix("resnets.").and_then(index) {
            return format!("output_blocks.{}.0.{}", first + j, resnet_inner(inner));
        }
        if let Some((j, inner)) = rest.strip_prefix("attentions.").and_then(index) {
            return format!("output_blocks.{}.1.{inner}", first + j);
        }
        if let Some(tail) = rest.strip_prefix("upsamplers.0.conv") {
            // The upsampler follows the last ResNet and its attention: in SDXL's topology every level
            // but the first (which has no upsampler) has cross-attention.
            let level = layout.unet_levels - 1 - i;
            let slot = if level == 0 { 1 } else { 2 };
            return format!("output_blocks.{}.{slot}.conv{tail}", first + per);
        }
    }
    name.to_owned()
}

fn vae_key(name: &str, layout: &Layout) -> Stored {
    let p = |s: String| format!("first_stage_model.{s}");
    let resnet = |s: &str| s.replacen("conv_shortcut", "nin_shortcut", 1);
    for part in ["encoder.", "decoder."] {
        let Some(rest) = name.strip_prefix(part) else {
            continue;
        };
        if let Some(inner) = rest.strip_prefix("mid_block.attentions.0.") {
            let (proj, tail) = inner.split_once('.').unwrap_or((inner, ""));
            let ldm = match proj {
                "group_norm" => "norm",
                "to_q" => "q",
                "to_k" => "k",
                "to_v" => "v",
                "to_out" => "proj_out",
                other => other,
            };
            let tail = tail.strip_prefix("0.").unwrap_or(tail);
            let key = p(format!("{part}mid.attn_1.{ldm}.{tail}"));
            return if ldm != "norm" && tail == "weight" {
                Stored::Conv1x1(key)
            } else {
                Stored::Same(key)
            };
        }
        if let Some((j, inner)) = rest.strip_prefix("mid_block.resnets.").and_then(index) {
            return Stored::Same(p(format!("{part}mid.block_{}.{}", j + 1, resnet(inner))));
        }
        if let Some((i, inner)) = rest.strip_prefix("down_blocks.").and_then(index) {
            if let Some((j, tail)) = inner.strip_prefix("resnets.").and_then(index) {
                return Stored::Same(p(format!("{part}down.{i}.block.{j}.{}", resnet(tail))));
            }
            if let Some(tail) = inner.strip_prefix("downsamplers.0.") {
                return Stored::Same(p(format!("{part}down.{i}.downsample.{tail}")));
            }
        }
        if let Some((i, inner)) = rest.strip_prefix("up_blocks.").and_then(index) {
            let b = layout.vae_levels - 1 - i;
            if let Some((j, tail)) = inner.strip_prefix("resnets.").and_then(index) {
                return Stored::Same(p(format!("{part}up.{b}.block.{j}.{}", resnet(tail))));
            }
            if let Some(tail) = inner.strip_prefix("upsamplers.0.") {
                return Stored::Same(p(format!("{part}up.{b}.upsample.{tail}")));
            }
        }
        if let Some(tail) = rest.strip_prefix("conv_norm_out") {
            return Stored::Same(p(format!("{part}norm_out{tail}")));
        }
    }
    Stored::Same(p(name.to_owned()))
}

fn clip_g_key(name: &str, width: usize) -> Stored {
    let p = |s: &str| format!("conditioner.embedders.1.model.{s}");
    let name = name.strip_prefix("text_model.").unwrap_or(name);
    match name {
        "embeddings.token_embedding.weight" => return Stored::Same(p("token_embedding.weight")),
        "embeddings.position_embedding.weight" => return Stored::Same(p("positional_embedding")),
        "text_projection.weight" => return Stored::Transposed(p("text_projection")),
        _ => {}
    }
    if let Some(tail) = name.strip_prefix("final_layer_norm.") {
        return Stored::Same(p(&format!("ln_final.{tail}")));
    }
    if let Some((i, inner)) = name.strip_prefix("encoder.layers.").and_then(index) {
        let block = format!("transformer.resblocks.{i}");
        for (k, proj) in ["q_proj.", "k_proj.", "v_proj."].iter().enumerate() {
            if let Some(kind) = inner
                .strip_prefix("self_attn.")
                .and_then(|s| s.strip_prefix(proj))
            {
                return Stored::Rows(p(&format!("{block}.attn.in_proj_{kind}")), k * width, width);
            }
        }
        const RENAMES: [(&str, &str); 5] = [
            ("layer_norm1", "ln_1"),
            ("layer_norm2", "ln_2"),
            ("self_attn.out_proj", "attn.out_proj"),
            ("mlp.fc1", "mlp.c_fc"),
            ("mlp.fc2", "mlp.c_proj"),
        ];
        for (from, to) in RENAMES {
            if let Some(tail) = inner.strip_prefix(from) {
                return Stored::Same(p(&format!("{block}.{to}{tail}")));
            }
        }
    }
    Stored::Same(p(name))
}

/// Serves one component's diffusers tensor names from a memory-mapped single-file checkpoint.
pub struct SingleFileBackend {
    file: std::sync::Arc<MmapedSafetensors>,
    component: Component,
    layout: Layout,
}

impl SingleFileBackend {
    /// A view of `file` as `component`.
    pub fn new(
        file: std::sync::Arc<MmapedSafetensors>,
        component: Component,
        layout: Layout,
    ) -> Self {
        SingleFileBackend {
            file,
            component,
            layout,
        }
    }

    fn load(&self, name: &str, dev: &Device) -> Result<Tensor> {
        let stored = stored(self.component, name, &self.layout);
        let raw = self.file.load(stored.key(), dev).map_err(|_| {
            candle_core::Error::Msg(format!(
                "missing tensor `{}` (diffusers `{name}`)",
                stored.key()
            ))
        })?;
        match &stored {
            Stored::Same(_) => Ok(raw),
            Stored::Rows(key, start, len) => {
                if raw.dim(0)? < start + len {
                    candle_core::bail!(
                        "tensor `{key}` has {} rows, expected {}",
                        raw.dim(0)?,
                        3 * len
                    );
                }
                raw.narrow(0, *start, *len)
            }
            Stored::Transposed(_) => raw.t()?.contiguous(),
            Stored::Conv1x1(_) if raw.rank() == 4 => raw.flatten_from(1),
            Stored::Conv1x1(_) => Ok(raw),
        }
    }
}

impl SimpleBackend for SingleFileBackend {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let t = self.load(name, dev)?;
        if t.shape() != &s {
            candle_core::bail!(
                "tensor `{}` has shape {:?}, expected {:?}",
                stored(self.component, name, &self.layout).key(),
                t.dims(),
                s.dims()
            );
        }
        t.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.load(name, dev)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.file
            .get(stored(self.component, name, &self.layout).key())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: Component, name: &str) -> Stored {
        stored(c, name, &Layout::sdxl())
    }

    #[test]
    fn unet_keys_follow_diffusers_conversion() {
        let s = |n: &str| {
            key(Component::Unet, n)
                .key()
                .trim_start_matches("model.diffusion_model.")
                .to_owned()
        };
        assert_eq!(s("conv_in.weight"), "input_blocks.0.0.weight");
        assert_eq!(
            s("down_blocks.0.resnets.1.norm1.weight"),
            "input_blocks.2.0.in_layers.0.weight"
        );
        assert_eq!(
            s("down_blocks.0.downsamplers.0.conv.bias"),
            "input_blocks.3.0.op.bias"
        );
        assert_eq!(
            s("down_blocks.1.resnets.0.conv_shortcut.weight"),
            "input_blocks.4.0.skip_connection.weight"
        );
        assert_eq!(
            s("down_blocks.2.attentions.1.proj_in.weight"),
            "input_blocks.8.1.proj_in.weight"
        );
        assert_eq!(
            s("mid_block.resnets.1.time_emb_proj.weight"),
            "middle_block.2.emb_layers.1.weight"
        );
        assert_eq!(
            s("mid_block.attentions.0.norm.weight"),
            "middle_block.1.norm.weight"
        );
        assert_eq!(
            s("up_blocks.0.upsamplers.0.conv.weight"),
            "output_blocks.2.2.conv.weight"
        );
        assert_eq!(
            s("up_blocks.1.upsamplers.0.conv.weight"),
            "output_blocks.5.2.conv.weight"
        );
        assert_eq!(
            s("up_blocks.2.resnets.2.conv2.weight"),
            "output_blocks.8.0.out_layers.3.weight"
        );
        assert_eq!(s("add_embedding.linear_2.bias"), "label_emb.0.2.bias");
    }

    #[test]
    fn vae_and_clip_keys() {
        assert_eq!(
            key(
                Component::Vae,
                "decoder.up_blocks.0.resnets.2.conv_shortcut.weight"
            )
            .key(),
            "first_stage_model.decoder.up.3.block.2.nin_shortcut.weight"
        );
        assert_eq!(
            key(
                Component::Vae,
                "encoder.mid_block.attentions.0.to_out.0.weight"
            ),
            Stored::Conv1x1("first_stage_model.encoder.mid.attn_1.proj_out.weight".into())
        );
        assert_eq!(
            key(
                Component::ClipG,
                "text_model.encoder.layers.3.self_attn.v_proj.bias"
            ),
            Stored::Rows(
                "conditioner.embedders.1.model.transformer.resblocks.3.attn.in_proj_bias".into(),
                2560,
                1280
            )
        );
        assert_eq!(
            key(Component::ClipG, "text_projection.weight"),
            Stored::Transposed("conditioner.embedders.1.model.text_projection".into())
        );
    }
}
