//! The chat engine: an LLM that writes Omost canvases. [`LocalLlm`] runs a GGUF model on llama.cpp,
//! [`remote::RemoteLlm`] asks an OpenAI-compatible server; the app talks to either through
//! [`ChatEngine`], usually on a [`worker::LlmWorker`] thread that streams [`LlmEvent`]s over a channel.

mod engine;
pub mod gguf_write;
pub mod grammar;
mod http;
pub mod prompt;
pub mod random_model;
pub mod remote;
mod utf8;
pub mod worker;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

pub use engine::{gpu_offload_supported, LoadOptions, LocalLlm, ModelInfo};
pub use prompt::{Conversation, Message, Role, Turn, SYSTEM_PROMPT};

/// Sampling settings; the defaults are Omost's.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// 0 means greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    pub max_tokens: usize,
    pub seed: u32,
    /// Constrain the reply with the canvas grammar (off for free-form questions).
    pub grammar: bool,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.6,
            top_p: 0.9,
            top_k: 50,
            max_tokens: 4096,
            seed: 12345,
            grammar: true,
        }
    }
}

/// Why a reply ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// The token budget (or the context) ran out.
    #[default]
    Length,
    /// The user stopped it.
    Cancelled,
}

/// Figures about one reply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplyStats {
    /// Tokens in the whole prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens found in the KV cache from the previous turn.
    pub reused_tokens: usize,
    /// Prompt tokens decoded for this turn.
    pub evaluated_tokens: usize,
    pub generated_tokens: usize,
    /// Time to read the prompt.
    pub prompt_ms: f64,
    /// Time from the request to the first generated token.
    pub ttft_ms: f64,
    /// Time spent generating.
    pub generation_ms: f64,
    /// Part of the generation time spent choosing tokens (sampling, grammar) rather than decoding.
    pub sampling_ms: f64,
    pub stop: StopReason,
}

impl ReplyStats {
    /// Generation speed.
    pub fn tokens_per_second(&self) -> f64 {
        if self.generation_ms > 0.0 {
            self.generated_tokens as f64 / (self.generation_ms / 1e3)
        } else {
            0.0
        }
    }

    /// Prompt reading speed.
    pub fn prompt_tokens_per_second(&self) -> f64 {
        if self.prompt_ms > 0.0 {
            self.evaluated_tokens as f64 / (self.prompt_ms / 1e3)
        } else {
            0.0
        }
    }
}

/// A finished reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub text: String,
    pub stats: ReplyStats,
}

/// What an engine reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum LlmEvent {
    /// The engine is loaded (its description), from a [`worker::LlmWorker`].
    Ready(String),
    /// Prompt tokens read so far.
    PromptProgress { done: usize, total: usize },
    /// New reply text (always whole characters).
    Text(String),
    /// Something the user should know, such as old turns dropped to fit the context.
    Notice(String),
    /// The reply is complete.
    Done(Reply),
    /// Loading or the reply failed.
    Error(LlmError),
}

/// Why the LLM could not answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("cannot start llama.cpp: {0}")]
    Backend(String),
    #[error("cannot load model {}: {reason}", path.display())]
    Load { path: PathBuf, reason: String },
    #[error("{0}")]
    Context(String),
    #[error("{0}")]
    Template(String),
    #[error("canvas grammar: {0}")]
    Grammar(String),
    #[error("{0}")]
    Decode(String),
    #[error("the prompt ({prompt_tokens} tokens) does not fit the {ctx}-token context; start a new chat or raise --ctx")]
    ContextFull { prompt_tokens: usize, ctx: usize },
    /// A remote server could not be reached, refused, or cut the reply.
    #[error("{0}")]
    Remote(String),
}

/// Which chat engine to start: a GGUF file on llama.cpp here, or a server.
#[derive(Clone, Debug)]
pub enum EngineChoice {
    Local(PathBuf, LoadOptions),
    Remote(remote::RemoteOptions),
}

impl EngineChoice {
    /// Loads the model or connects to the server; `progress` hears the local load's fraction done and
    /// cancels it by returning false.
    pub fn start(
        &self,
        progress: impl FnMut(f32) -> bool + 'static,
    ) -> Result<Box<dyn ChatEngine>, LlmError> {
        Ok(match self {
            EngineChoice::Local(path, load) => Box::new(LocalLlm::load(path, load, progress)?),
            EngineChoice::Remote(options) => Box::new(remote::RemoteLlm::connect(options)?),
        })
    }
}

/// Anything that can answer a chat: the local llama.cpp model, or a remote server.
pub trait ChatEngine: Send {
    /// A short description for status lines ("model.gguf (135M params, llama.cpp)").
    fn describe(&self) -> String;

    /// Answers the last message of `messages`, reporting progress and text to `sink` as it goes, and
    /// stopping within one token once `cancel` is set.
    fn generate(
        &mut self,
        messages: &[Message],
        sampling: &Sampling,
        cancel: &AtomicBool,
        sink: &mut dyn FnMut(LlmEvent),
    ) -> Result<Reply, LlmError>;
}
