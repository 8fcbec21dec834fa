//! Finding and opening SDXL weights: a diffusers folder (`unet/`, `vae/`, `text_encoder/`,
//! `text_encoder_2/`, plain, `fp16`-variant or sharded files), a single-file checkpoint, or a Hugging
//! Face repo id already in the local HF cache. Every failure is one line naming the file and, for a
//! missing or misshapen tensor, the tensor.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{safetensors::MmapedSafetensors, DType, Device};
use candle_nn::VarBuilder;
use serde_json::Value;

use super::clip::{first_line, ClipConfig, ClipTextEncoder};
use super::single_file::{Component, Layout, SingleFileBackend};
use super::unet::{UNet, UNetConfig};
use super::vae::{Vae, VaeConfig};

/// Where the SDXL weights are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdxlSource {
    /// A diffusers pipeline folder.
    Diffusers(PathBuf),
    /// One `.safetensors` file with the original (LDM) key names.
    SingleFile(PathBuf),
}

impl SdxlSource {
    /// Resolves `--sdxl`: an existing folder or file, else a Hugging Face repo id (`owner/name`) looked up
    /// in the local cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`). Never downloads.
    pub fn resolve(spec: &str) -> Result<Self, String> {
        let path = Path::new(spec);
        if path.is_dir() {
            if path.join("unet").is_dir() {
                return Ok(SdxlSource::Diffusers(path.to_owned()));
            }
            return Err(format!("{spec}: not a diffusers SDXL folder (no unet/)"));
        }
        if path.is_file() {
            return Ok(SdxlSource::SingleFile(path.to_owned()));
        }
        let looks_like_repo = spec.split('/').count() == 2
            && !spec.starts_with('.')
            && !spec.ends_with(".safetensors");
        if !looks_like_repo {
            return Err(format!("{spec}: no such file or folder"));
        }
        let repo = hf_cache_dir().join(format!("models--{}", spec.replace('/', "--")));
        let snapshot = std::fs::read_to_string(repo.join("refs").join("main"))
            .ok()
            .map(|rev| repo.join("snapshots").join(rev.trim()))
            .filter(|p| p.join("unet").is_dir())
            .or_else(|| {
                std::fs::read_dir(repo.join("snapshots"))
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .find(|p| p.join("unet").is_dir())
            });
        snapshot.map(SdxlSource::Diffusers).ok_or_else(|| {
            format!(
                "{spec}: not a file or folder, and not in the Hugging Face cache ({}); download it first, e.g. `huggingface-cli download {spec}`",
                hf_cache_dir().display()
            )
        })
    }

    /// A short name for metadata: the folder or file name.
    pub fn model_name(&self) -> String {
        let p = match self {
            SdxlSource::Diffusers(p) | SdxlSource::SingleFile(p) => p,
        };
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // An HF snapshot folder is a hash; name the repo instead.
        match p.parent().and_then(Path::parent).and_then(Path::file_name) {
            Some(repo) if p.parent().and_then(Path::file_name) == Some("snapshots".as_ref()) => {
                repo.to_string_lossy()
                    .trim_start_matches("models--")
                    .replace("--", "/")
            }
            _ => name,
        }
    }
}

/// The local Hugging Face hub cache: `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`.
pub fn hf_cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("HF_HOME") {
        return PathBuf::from(p).join("hub");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache").join("huggingface").join("hub")
}

/// The open weights of an SDXL model, from which each component is built on demand.
pub struct SdxlWeights {
    source: SdxlSource,
    single: Option<(Arc<MmapedSafetensors>, Value)>,
}

/// The four models SDXL is made of, by folder name.
const FOLDERS: [(Component, &str); 4] = [
    (Component::Unet, "unet"),
    (Component::Vae, "vae"),
    (Component::ClipL, "text_encoder"),
    (Component::ClipG, "text_encoder_2"),
];

fn folder_of(component: Component) -> &'static str {
    FOLDERS
        .iter()
        .find(|(c, _)| *c == component)
        .map(|(_, f)| *f)
        .unwrap_or("unet")
}

impl SdxlWeights {
    /// Opens the weights (memory-mapped; nothing is read yet beyond file headers).
    pub fn open(source: SdxlSource) -> Result<Self, String> {
        let single = match &source {
            SdxlSource::SingleFile(path) => {
                let metadata = read_metadata(path)?;
                // SAFETY: the file is mapped read-only; as with every mmap, it must not be truncated
                // while we run.
                let st = unsafe { MmapedSafetensors::new(path) }
                    .map_err(|e| format!("{}: {}", path.display(), open_reason(&e)))?;
                if st
                    .get("model.diffusion_model.input_blocks.0.0.weight")
                    .is_err()
                {
                    return Err(format!(
                        "{}: not an SDXL single-file checkpoint (no model.diffusion_model.* tensors)",
                        path.display()
                    ));
                }
                Some((Arc::new(st), metadata))
            }
            SdxlSource::Diffusers(_) => None,
        };
        Ok(SdxlWeights { source, single })
    }

    /// Where the weights come from.
    pub fn source(&self) -> &SdxlSource {
        &self.source
    }

    /// A component's `config.json`: from its folder, from our single-file metadata, or SDXL's own.
    fn config(&self, component: Component) -> Result<Option<Value>, String> {
        let folder = folder_of(component);
        match (&self.source, &self.single) {
            (SdxlSource::Diffusers(root), _) => {
                let path = root.join(folder).join("config.json");
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::io_reason(&e)))?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            (_, Some((_, metadata))) => match metadata
                .get(format!("omost.{folder}.config"))
                .and_then(Value::as_str)
            {
                Some(text) => serde_json::from_str(text)
                    .map(Some)
                    .map_err(|e| format!("{folder} config in the checkpoint: {e}")),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    fn layout(&self) -> Result<Layout, String> {
        let unet = self.unet_config()?;
        let vae = self.vae_config()?;
        let g = self.clip_config(Component::ClipG)?;
        Ok(Layout {
            unet_layers_per_block: unet.layers_per_block,
            unet_levels: unet.block_out_channels.len(),
            vae_levels: vae.block_out_channels.len(),
            clip_g_width: g.hidden_size,
        })
    }

    /// The UNet's hyper-parameters.
    pub fn unet_config(&self) -> Result<UNetConfig, String> {
        match self.config(Component::Unet)? {
            Some(v) => UNetConfig::from_json(&v).map_err(|e| format!("unet config: {e}")),
            None => Ok(UNetConfig::sdxl()),
        }
    }

    /// The VAE's hyper-parameters.
    pub fn vae_config(&self) -> Result<VaeConfig, String> {
        match self.config(Component::Vae)? {
            Some(v) => serde_json::from_value(v).map_err(|e| format!("vae config: {e}")),
            None => Ok(VaeConfig::sdxl()),
        }
    }

    /// A text encoder's hyper-parameters (`ClipL` or `ClipG`).
    pub fn clip_config(&self, component: Component) -> Result<ClipConfig, String> {
        match self.config(component)? {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| format!("{} config: {e}", folder_of(component))),
            None => Ok(if component == Component::ClipG {
                ClipConfig::sdxl_g()
            } else {
                ClipConfig::sdxl_l()
            }),
        }
    }

    /// A VarBuilder serving `component`'s diffusers tensor names in `dtype`, and a label for errors.
    fn var_builder(
        &self,
        component: Component,
        dtype: DType,
        device: &Device,
    ) -> Result<(VarBuilder<'static>, String), String> {
        match (&self.source, &self.single) {
            (SdxlSource::SingleFile(path), Some((st, _))) => {
                let backend = SingleFileBackend::new(st.clone(), component, self.layout()?);
                Ok((
                    VarBuilder::from_backend(Box::new(backend), dtype, device.clone()),
                    path.display().to_string(),
                ))
            }
            (SdxlSource::Diffusers(root), _) => {
                let dir = root.join(folder_of(component));
                let files = weight_files(&dir)?;
                let label = files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                // SAFETY: read-only mapping of files we do not modify.
                let st = unsafe { MmapedSafetensors::multi(&files) }
                    .map_err(|e| format!("{label}: {}", open_reason(&e)))?;
                Ok((
                    VarBuilder::from_backend(Box::new(st), dtype, device.clone()),
                    label,
                ))
            }
            _ => Err("weights are not open".into()),
        }
    }

    /// Builds the UNet.
    pub fn unet(&self, dtype: DType, device: &Device) -> Result<UNet, String> {
        let config = self.unet_config()?;
        let (vb, label) = self.var_builder(Component::Unet, dtype, device)?;
        UNet::load(vb, &config).map_err(|e| format!("{label}: {}", first_line(&e)))
    }

    /// Builds the VAE.
    pub fn vae(&self, dtype: DType, device: &Device) -> Result<Vae, String> {
        let config = self.vae_config()?;
        let (vb, label) = self.var_builder(Component::Vae, dtype, device)?;
        Vae::load(vb, &config).map_err(|e| format!("{label}: {}", first_line(&e)))
    }

    /// Builds a text encoder (`ClipL` or `ClipG`).
    pub fn text_encoder(
        &self,
        component: Component,
        dtype: DType,
        device: &Device,
    ) -> Result<ClipTextEncoder, String> {
        let config = self.clip_config(component)?;
        let (vb, label) = self.var_builder(component, dtype, device)?;
        ClipTextEncoder::load(vb, &config).map_err(|e| format!("{label}: {}", first_line(&e)))
    }

    /// The padding id of a text encoder's tokenizer: its folder's `pad_token` when the model has one
    /// (SDXL: `<|endoftext|>` for CLIP-L, `!` = 0 for CLIP-G), else SDXL's.
    pub fn pad_id(&self, component: Component) -> u32 {
        let default = if component == Component::ClipG {
            0
        } else {
            super::tokenizer::EOS
        };
        let SdxlSource::Diffusers(root) = &self.source else {
            return default;
        };
        let folder = if component == Component::ClipG {
            "tokenizer_2"
        } else {
            "tokenizer"
        };
        let pad = std::fs::read_to_string(root.join(folder).join("special_tokens_map.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| {
                let p = v.get("pad_token")?;
                p.as_str()
                    .or_else(|| p.get("content")?.as_str())
                    .map(str::to_owned)
            });
        match pad.as_deref() {
            Some("!") => 0,
            Some("<|endoftext|>") => super::tokenizer::EOS,
            _ => default,
        }
    }
}

/// Why a safetensors file would not open, in words (candle repeats the path and speaks of metadata).
fn open_reason(e: &candle_core::Error) -> String {
    let msg = first_line(e);
    if msg.contains("incomplete metadata") || msg.contains("not fully covered") {
        "truncated or damaged: the file is shorter than its header says".to_owned()
    } else if msg.contains("HeaderTooLarge")
        || msg.contains("HeaderTooSmall")
        || msg.contains("InvalidHeader")
    {
        "not a safetensors file".to_owned()
    } else {
        msg.split_once("\" ")
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or(msg)
    }
}

/// The safetensors files of a diffusers component folder: the plain file, the `fp16` variant, or the
/// shards a `*.safetensors.index.json` lists.
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let stems = ["diffusion_pytorch_model", "model"];
    for stem in stems {
        for variant in ["", ".fp16"] {
            let file = dir.join(format!("{stem}{variant}.safetensors"));
            if file.is_file() {
                return Ok(vec![file]);
            }
            let index = dir.join(format!("{stem}{variant}.safetensors.index.json"));
            if let Ok(text) = std::fs::read_to_string(&index) {
                let json: Value =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", index.display()))?;
                let mut shards: Vec<PathBuf> = json
                    .get("weight_map")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.values()
                            .filter_map(Value::as_str)
                            .map(|f| dir.join(f))
                            .collect()
                    })
                    .unwrap_or_default();
                shards.sort();
                shards.dedup();
                if shards.is_empty() {
                    return Err(format!("{}: no weight_map", index.display()));
                }
                return Ok(shards);
            }
        }
    }
    Err(format!(
        "{}: no .safetensors weights (pickled .bin files are not loaded)",
        dir.display()
    ))
}

/// The `__metadata__` of a safetensors file's header (empty when absent).
fn read_metadata(path: &Path) -> Result<Value, String> {
    use std::io::Read;
    let fail = |why: String| format!("{}: {why}", path.display());
    let mut f = std::fs::File::open(path).map_err(|e| fail(crate::fsutil::io_reason(&e)))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| fail("not a safetensors file (too short)".into()))?;
    let len = u64::from_le_bytes(len);
    let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > 100_000_000 || len + 8 > file_len {
        return Err(fail("not a safetensors file (bad header length)".into()));
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header)
        .map_err(|e| fail(crate::fsutil::io_reason(&e)))?;
    let json: Value = serde_json::from_slice(&header)
        .map_err(|e| fail(format!("bad safetensors header: {e}")))?;
    Ok(json.get("__metadata__").cloned().unwrap_or(Value::Null))
}
