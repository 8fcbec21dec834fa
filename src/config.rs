//! The config file: `$XDG_CONFIG_HOME/omost-tui/config.toml` (default `~/.config/omost-tui/`), the
//! terminal app's defaults — models, theme, image protocol, device, render size — so a user does not
//! repeat flags. Command-line flags win over it; a bad file is a clear error, never ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::tui::keymap::KeySpec;

/// Every setting the file may hold; all optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// GGUF file of the LLM.
    pub llm: Option<PathBuf>,
    /// An OpenAI-compatible server instead of a GGUF file, and its options (see `omost --help`).
    pub llm_url: Option<String>,
    pub llm_model: Option<String>,
    pub llm_grammar: Option<String>,
    /// The environment variable holding the server's API key (the key itself is never stored).
    pub llm_api_key_env: Option<String>,
    pub llm_ca_file: Option<PathBuf>,
    pub llm_timeout: Option<u64>,
    /// SDXL folder, single file or HF repo id.
    pub sdxl: Option<String>,
    pub theme: Option<String>,
    /// `auto`, `kitty`, `sixel`, `iterm2` or `halfblocks`.
    pub image_protocol: Option<String>,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: Option<String>,
    pub dtype: Option<String>,
    pub gpu_layers: Option<u32>,
    pub ctx: Option<u32>,
    pub width: Option<usize>,
    pub height: Option<usize>,
    pub steps: Option<usize>,
    pub seed: Option<u64>,
    /// Capture the mouse (wheel scrolls the chat, clicks focus and select).
    pub mouse: Option<bool>,
    /// Rebound keys: action name → a key or a list of keys (see [`crate::tui::keymap`]).
    pub keys: Option<BTreeMap<String, KeySpec>>,
}

/// The app's config folder (themes live in its `themes/`).
pub fn config_dir() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("omost-tui")
}

impl Config {
    /// Reads `path`; a missing file is an empty config when `required` is false.
    pub fn load(path: &Path, required: bool) -> Result<Config, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(format!(
                    "{}: {}",
                    path.display(),
                    crate::fsutil::io_reason(&e)
                ))
            }
        };
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            match line {
                Some(l) => format!("{}:{l}: {}", path.display(), e.message()),
                None => format!("{}: {}", path.display(), e.message()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_and_rejects_typos_with_the_line() {
        let dir = std::env::temp_dir().join(format!("omost-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        assert_eq!(Config::load(&path, false).unwrap(), Config::default());
        assert!(Config::load(&path, true).is_err());
        std::fs::write(&path, "sdxl = \"SG161222/RealVisXL_V4.0\"\nwidth = 1024\n").unwrap();
        let c = Config::load(&path, false).unwrap();
        assert_eq!(
            (c.sdxl.as_deref(), c.width),
            (Some("SG161222/RealVisXL_V4.0"), Some(1024))
        );
        std::fs::write(&path, "width = 1024\nthem = \"dark\"\n").unwrap();
        let e = Config::load(&path, false).unwrap_err();
        assert!(e.contains("config.toml:2:") && e.contains("them"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
