//! Choosing the chat engine on the command line and in the config file: a local GGUF (`--llm`) or an
//! OpenAI-compatible server (`--llm-url` and its options). The API key is read from an environment
//! variable, never from a flag, the config file or a session.

use std::path::PathBuf;
use std::time::Duration;

use super::CliError;
use crate::config::Config;
use crate::llm::remote::{GrammarMode, RemoteOptions};
use crate::llm::{EngineChoice, LoadOptions};

/// The variable the API key is read from unless another is named.
pub const DEFAULT_KEY_ENV: &str = "OMOST_LLM_API_KEY";

/// Options for a remote LLM server.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RemoteArgs {
    /// Chat with an OpenAI-compatible server instead of a local GGUF (llama-server, vLLM, Ollama):
    /// http(s)://host:port, optionally ending in /v1.
    #[arg(long, value_name = "URL")]
    pub llm_url: Option<String>,
    /// The model to ask the server for [default: the first one it lists].
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// How the canvas grammar is sent: auto (ask the server), llama, vllm or none (replies are
    /// checked instead) [default: auto].
    #[arg(long, value_name = "MODE")]
    pub llm_grammar: Option<String>,
    /// The environment variable holding the server's API key [default: OMOST_LLM_API_KEY].
    #[arg(long, value_name = "VAR")]
    pub llm_api_key_env: Option<String>,
    /// Extra trusted certificates (PEM) for a server with its own CA.
    #[arg(long, value_name = "FILE")]
    pub llm_ca: Option<PathBuf>,
    /// Seconds to wait for the server's next streamed byte [default: 300].
    #[arg(long, value_name = "SECS")]
    pub llm_timeout: Option<u64>,
}

impl RemoteArgs {
    /// The flags, with what they leave out taken from the config file.
    pub fn or_config(self, cfg: &Config) -> RemoteArgs {
        RemoteArgs {
            llm_url: self.llm_url.or_else(|| cfg.llm_url.clone()),
            llm_model: self.llm_model.or_else(|| cfg.llm_model.clone()),
            llm_grammar: self.llm_grammar.or_else(|| cfg.llm_grammar.clone()),
            llm_api_key_env: self.llm_api_key_env.or_else(|| cfg.llm_api_key_env.clone()),
            llm_ca: self.llm_ca.or_else(|| cfg.llm_ca_file.clone()),
            llm_timeout: self.llm_timeout.or(cfg.llm_timeout),
        }
    }

    /// The server's options when a URL is given. A named key variable that is unset is an error; the
    /// default one may be unset (no key is sent).
    pub fn options(&self) -> Result<Option<RemoteOptions>, CliError> {
        let Some(url) = &self.llm_url else {
            return Ok(None);
        };
        let api_key = match &self.llm_api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                CliError::input(format!(
                    "the API key variable {var} is not set (llm_api_key_env / --llm-api-key-env)"
                ))
            })?),
            None => std::env::var(DEFAULT_KEY_ENV).ok(),
        };
        let mut options = RemoteOptions::new(url.clone());
        options.model = self.llm_model.clone();
        options.api_key = api_key.filter(|k| !k.is_empty());
        options.ca_file = self.llm_ca.clone();
        if let Some(mode) = &self.llm_grammar {
            options.grammar = GrammarMode::parse(mode).map_err(CliError::input)?;
        }
        if let Some(secs) = self.llm_timeout {
            if secs == 0 {
                return Err(CliError::input("--llm-timeout must be at least 1 second"));
            }
            options.read_timeout = Duration::from_secs(secs);
        }
        Ok(Some(options))
    }
}

/// The engine for a local model path and/or server options; both is an error, neither is `None`.
pub fn engine_choice(
    llm: Option<PathBuf>,
    load: LoadOptions,
    remote: Option<RemoteOptions>,
) -> Result<Option<EngineChoice>, CliError> {
    match (llm, remote) {
        (Some(_), Some(_)) => Err(CliError::input(
            "give --llm (a local GGUF) or --llm-url (a server), not both",
        )),
        (Some(path), None) => Ok(Some(EngineChoice::Local(path, load))),
        (None, Some(options)) => Ok(Some(EngineChoice::Remote(options))),
        (None, None) => Ok(None),
    }
}
