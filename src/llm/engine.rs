//! The local LLM on llama.cpp: loads a GGUF, renders the conversation with the model's own chat template,
//! reuses the KV cache for the prefix a follow-up shares with the previous turn, and samples with Omost's
//! settings — through the canvas grammar unless it is switched off.
//!
//! Grammar sampling takes llama.cpp's fast path: sample without the grammar, check the one chosen token,
//! and only when it is rejected apply the grammar to the whole vocabulary and sample again; each token is
//! accepted exactly once (a second accept aborts llama.cpp). Near the end of the token budget sampling
//! switches to *closing*: among the tokens the grammar allows, those that close a string, list or call
//! win, so a reply always completes as a valid canvas instead of being cut off.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};

use super::grammar::canvas_gbnf;
use super::prompt::{Message, Role};
use super::utf8::Utf8Stream;
use super::{ChatEngine, LlmError, LlmEvent, Reply, ReplyStats, Sampling, StopReason};

/// Tokens decoded per `decode` call while reading the prompt (also how often cancellation is checked).
const BATCH: usize = 512;
/// Room kept for the reply when the conversation is fitted into the context.
const MAX_RESERVE: usize = 2048;
/// The least room for a reply before the prompt counts as too long.
const MIN_REPLY: usize = 64;

/// How to load a model.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Layers to offload to the GPU; `None` offloads all of them when a GPU backend is built in.
    pub gpu_layers: Option<u32>,
    /// Context length in tokens.
    pub ctx: u32,
    /// CPU threads; `None` uses every available core (never llama.cpp's default of 4).
    pub threads: Option<usize>,
    /// A chat template to use instead of the model's own: a llama.cpp built-in name such as `llama3`,
    /// `chatml` or `phi3` (for GGUFs whose metadata lacks or garbles one).
    pub chat_template: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            gpu_layers: None,
            ctx: 8192,
            threads: None,
            chat_template: None,
        }
    }
}

/// What was loaded.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub parameters: u64,
    pub size_bytes: u64,
    pub ctx: u32,
    pub threads: usize,
    pub gpu_layers: u32,
}

/// llama.cpp's process-wide backend, started once, with its logs sent to `tracing` (never the terminal).
fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            send_logs_to_tracing(LogOptions::default().with_logs_enabled(true));
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LlmError::Backend(e.clone()))
}

/// Whether this build can offload to a GPU.
pub fn gpu_offload_supported() -> bool {
    backend().is_ok_and(|b| b.supports_gpu_offload())
}

/// A loaded model with its context, ready to chat.
pub struct LocalLlm {
    // Field order matters: `ctx` borrows `*model` and is declared first so that it is dropped first.
    ctx: LlamaContext<'static>,
    model: Box<LlamaModel>,
    /// Tokens now in the KV cache (sequence 0), in order.
    cached: Vec<LlamaToken>,
    /// For each token id: which characters that close something its text holds.
    closers: Vec<Closers>,
    template: LlamaChatTemplate,
    /// The last reply's text and the tokens the model generated for it (see [`LocalLlm::prompt_tokens`]).
    last_reply: Option<(String, Vec<LlamaToken>)>,
    info: ModelInfo,
}

impl LocalLlm {
    /// Loads a GGUF model. `progress` gets the load fraction and returns `false` to abort.
    pub fn load(
        path: &Path,
        opts: &LoadOptions,
        mut progress: impl FnMut(f32) -> bool + 'static,
    ) -> Result<LocalLlm, LlmError> {
        check_gguf_header(path)?;
        let backend = backend()?;
        let gpu_layers = opts
            .gpu_layers
            .unwrap_or(if backend.supports_gpu_offload() {
                999
            } else {
                0
            });
        let aborted = std::sync::Arc::new(AtomicBool::new(false));
        let aborted_in_callback = aborted.clone();
        let params = LlamaModelParams::default()
            .with_n_gpu_layers(gpu_layers)
            .with_progress_callback(move |p| {
                let go_on = progress(p);
                if !go_on {
                    aborted_in_callback.store(true, Ordering::Relaxed);
                }
                go_on
            });
        let load_error = |reason: String| LlmError::Load {
            path: path.to_path_buf(),
            reason,
        };
        let model = LlamaModel::load_from_file(backend, path, &params).map_err(|e| {
            if aborted.load(Ordering::Relaxed) {
                load_error("loading was cancelled".into())
            } else {
                load_error(format!(
                    "llama.cpp could not load it ({e}): the file is truncated, damaged or of an unsupported architecture"
                ))
            }
        })?;
        let model = Box::new(model);
        let threads = opts
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let ctx_len = NonZeroU32::new(opts.ctx.max(256))
            .ok_or_else(|| load_error("context of 0 tokens".into()))?;
        let params = LlamaContextParams::default()
            .with_n_ctx(Some(ctx_len))
            .with_n_batch(BATCH as u32)
            .with_n_ubatch(BATCH as u32)
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32)
            .with_no_perf(false);
        // SAFETY: the context borrows the model. The model lives in a Box that is never moved out of or
        // replaced while the context exists, and `ctx` is dropped before `model` (field order above), so
        // the borrow never outlives the model.
        let model_ref: &'static LlamaModel = unsafe { &*(model.as_ref() as *const LlamaModel) };
        let ctx = model_ref.new_context(backend, params).map_err(|e| {
            LlmError::Context(format!("cannot create a context of {ctx_len} tokens: {e}"))
        })?;
        let template = match &opts.chat_template {
            Some(name) => LlamaChatTemplate::new(name)
                .map_err(|e| LlmError::Template(format!("invalid chat template: {e}")))?,
            None => model.chat_template(None).map_err(|e| {
                LlmError::Template(format!(
                    "the model has no chat template ({e}); name one with --chat-template"
                ))
            })?,
        };
        let closers = closers_by_token(&model);
        let info = ModelInfo {
            path: path.to_path_buf(),
            parameters: model.n_params(),
            size_bytes: model.size(),
            ctx: ctx.n_ctx(),
            threads,
            gpu_layers,
        };
        let mut llm = LocalLlm {
            ctx,
            model,
            cached: Vec::new(),
            closers,
            template,
            last_reply: None,
            info,
        };
        llm.warm_up()?;
        Ok(llm)
    }

    /// What was loaded.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Forgets the KV cache, so the next reply reads its whole prompt (for a new chat).
    pub fn clear_cache(&mut self) {
        self.ctx.clear_kv_cache();
        self.cached.clear();
        self.last_reply = None;
    }

    /// The first decode after creating a context is slow (thread start, page faults on the mapped
    /// weights): do it now, not in the user's first turn.
    fn warm_up(&mut self) -> Result<(), LlmError> {
        let vocab = self.model.vocab();
        let mut batch = LlamaBatch::new(1, 1);
        batch
            .add(vocab.bos(), 0, &[0], true)
            .map_err(|e| LlmError::Decode(e.to_string()))?;
        self.ctx
            .decode(&mut batch)
            .map_err(|e| LlmError::Decode(e.to_string()))?;
        self.ctx.clear_kv_cache();
        self.ctx.reset_timings();
        Ok(())
    }

    /// The prompt as the model's chat template renders it, ending where the assistant begins.
    pub fn render(&self, messages: &[Message]) -> Result<String, LlmError> {
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_owned(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LlmError::Template(e.to_string()))?;
        self.model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| {
                LlmError::Template(format!(
                    "llama.cpp cannot apply the model's chat template ({e})"
                ))
            })
    }

    /// Tokens of a rendered prompt (special tokens in the text are parsed as such).
    pub fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(text.as_bytes(), true, true)
    }

    /// Tokens of a rendered prompt. Where the prompt holds the previous reply verbatim, that span is the
    /// tokens the model generated rather than a fresh tokenization of the text (which often splits
    /// differently), so the KV cache matches through the whole reply and a follow-up reads only what is new.
    fn prompt_tokens(&self, prompt: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        if let Some((text, generated)) = &self.last_reply {
            if let Some(at) = prompt.rfind(text.as_str()).filter(|_| !text.is_empty()) {
                let mut tokens = vocab.tokenize(&prompt.as_bytes()[..at], true, true);
                tokens.extend_from_slice(generated);
                tokens.extend(vocab.tokenize(&prompt.as_bytes()[at + text.len()..], false, true));
                return tokens;
            }
        }
        self.tokenize(prompt)
    }

    /// Fits the conversation into the context, dropping the oldest exchanges if needed. Returns the
    /// prompt tokens and how many tokens the reply may have.
    fn fit(
        &self,
        messages: &[Message],
        max_tokens: usize,
        sink: &mut dyn FnMut(LlmEvent),
    ) -> Result<(Vec<LlamaToken>, usize), LlmError> {
        let n_ctx = self.ctx.n_ctx() as usize;
        let mut messages = messages.to_vec();
        loop {
            let tokens = self.prompt_tokens(&self.render(&messages)?);
            let room = n_ctx.saturating_sub(tokens.len());
            if max_tokens.min(MAX_RESERVE) <= room {
                return Ok((tokens, max_tokens.min(room)));
            }
            let oldest_pair = messages
                .windows(2)
                .position(|w| w[0].role == Role::User && w[1].role == Role::Assistant);
            match oldest_pair {
                Some(i) => {
                    messages.drain(i..i + 2);
                    sink(LlmEvent::Notice(format!(
                        "dropped the oldest exchange to fit the {n_ctx}-token context"
                    )));
                }
                None if MIN_REPLY.min(max_tokens) <= room => {
                    return Ok((tokens, max_tokens.min(room)));
                }
                None => {
                    return Err(LlmError::ContextFull {
                        prompt_tokens: tokens.len(),
                        ctx: n_ctx,
                    })
                }
            }
        }
    }

    /// Brings the KV cache to `tokens`, decoding only what differs from what is cached. Returns the
    /// number of tokens reused, or `None` when cancelled.
    fn eval_prompt(
        &mut self,
        tokens: &[LlamaToken],
        cancel: &AtomicBool,
        sink: &mut dyn FnMut(LlmEvent),
    ) -> Result<Option<usize>, LlmError> {
        let common = self
            .cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count();
        // At least the last prompt token is decoded again: its logits start the reply.
        let mut reuse = common.min(tokens.len().saturating_sub(1));
        if reuse < self.cached.len() {
            let removed = self
                .ctx
                .clear_kv_cache_seq(Some(0), Some(reuse as u32), None)
                .map_err(|e| LlmError::Decode(e.to_string()))?;
            if !removed {
                self.ctx.clear_kv_cache();
                reuse = 0;
            }
            self.cached.truncate(reuse);
        }
        let mut batch = LlamaBatch::new(BATCH, 1);
        let total = tokens.len();
        for (chunk_index, chunk) in tokens[reuse..].chunks(BATCH).enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            batch.clear();
            let start = reuse + chunk_index * BATCH;
            for (k, &tok) in chunk.iter().enumerate() {
                let pos = start + k;
                batch
                    .add(tok, pos as i32, &[0], pos + 1 == total)
                    .map_err(|e| LlmError::Decode(e.to_string()))?;
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| LlmError::Decode(format!("prompt decode failed: {e}")))?;
            self.cached.extend_from_slice(chunk);
            sink(LlmEvent::PromptProgress {
                done: start + chunk.len(),
                total,
            });
        }
        Ok(Some(reuse))
    }

    /// Picks the next token from the logits at batch index `idx`; `closing` (the lexical context of the
    /// reply so far) asks for the grammar-allowed token that best ends what is open.
    fn pick(
        &self,
        chain: &mut Chain,
        grammar: Option<&mut LlamaSampler>,
        idx: i32,
        closing: Option<Scan>,
    ) -> Result<LlamaToken, LlmError> {
        let no_token = || LlmError::Decode("the sampler chose no token".into());
        // What the chain can choose from: its top-k (sorted, so its own top-k keeps them all and the
        // draw is the same), not the whole vocabulary (1.5 MB per token for Llama 3's 128k tokens).
        let keep = chain.keep;
        let chain_candidates = || match keep {
            Some(k) => LlamaTokenDataArray::new(likeliest(self.ctx.get_logits_ith(idx), k), true),
            None => self.ctx.token_data_array_ith(idx),
        };
        let Some(grammar) = grammar else {
            let mut arr = chain_candidates();
            chain.sampler.apply(&mut arr);
            return arr.selected_token().ok_or_else(no_token);
        };
        if let Some(scan) = closing {
            let ends_it = |id: LlamaToken| {
                let c = self.closers.get(id.0 as usize).copied().unwrap_or_default();
                match scan {
                    Scan::Str(b'\'') => c.single_quote,
                    Scan::Str(_) => c.double_quote,
                    Scan::Comment => c.newline,
                    Scan::Code => c.bracket_or_quote,
                }
            };
            // The likeliest allowed token that ends what is open; if the grammar allows none, the
            // likeliest allowed token. (Checking the few closers first keeps this cheap.)
            let all = self.ctx.token_data_array_ith(idx);
            let closers = all
                .data
                .iter()
                .filter(|d| ends_it(d.id()))
                .copied()
                .collect();
            for mut candidates in [LlamaTokenDataArray::new(closers, false), all] {
                grammar.apply(&mut candidates);
                let best = candidates
                    .data
                    .iter()
                    .filter(|d| d.logit().is_finite())
                    .max_by(|a, b| a.logit().total_cmp(&b.logit()));
                if let Some(best) = best {
                    return Ok(best.id());
                }
            }
            return Err(no_token());
        }
        let mut arr = chain_candidates();
        chain.sampler.apply(&mut arr);
        let token = arr.selected_token().ok_or_else(no_token)?;
        let mut single =
            LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        grammar.apply(&mut single);
        if single.data.first().is_some_and(|d| d.logit().is_finite()) {
            return Ok(token);
        }
        let mut arr = self.ctx.token_data_array_ith(idx);
        grammar.apply(&mut arr);
        chain.sampler.apply(&mut arr);
        arr.selected_token().ok_or_else(no_token)
    }

    /// Feeds `reply` through the canvas grammar token by token, as if the model had written it, and
    /// checks that the turn may end there. `Err` says where the grammar would have stepped in.
    pub fn grammar_check(&self, reply: &str) -> Result<(), String> {
        let mut grammar = LlamaSampler::grammar(&self.model, &canvas_gbnf(), "root")
            .map_err(|e| format!("canvas grammar: {e}"))?;
        let vocab = self.model.vocab();
        let mut offset = 0;
        let allowed = |g: &mut LlamaSampler, t: LlamaToken| {
            let mut single =
                LlamaTokenDataArray::new(vec![LlamaTokenData::new(t, 1.0, 0.0)], false);
            g.apply(&mut single);
            single.data.first().is_some_and(|d| d.logit().is_finite())
        };
        for token in vocab.tokenize(reply.as_bytes(), false, false) {
            let piece =
                String::from_utf8_lossy(&vocab.token_to_piece(token, false, None)).into_owned();
            if !allowed(&mut grammar, token) {
                return Err(format!("rejected {piece:?} at byte {offset}"));
            }
            grammar
                .try_accept(token)
                .map_err(|e| format!("at byte {offset}: {e}"))?;
            offset += piece.len();
        }
        if !allowed(&mut grammar, vocab.eos()) {
            return Err("the reply may not end here".into());
        }
        Ok(())
    }
}

/// Which closing characters a token's text holds.
#[derive(Clone, Copy, Debug, Default)]
struct Closers {
    single_quote: bool,
    double_quote: bool,
    newline: bool,
    /// `)`, `]`, a quote or a backtick: what ends a call, a list, a string or the code block.
    bracket_or_quote: bool,
}

fn closers_by_token(model: &LlamaModel) -> Vec<Closers> {
    let vocab = model.vocab();
    (0..model.n_vocab())
        .map(|id| {
            let piece = vocab.token_to_piece(LlamaToken(id), false, None);
            let has = |c: u8| piece.contains(&c);
            Closers {
                single_quote: has(b'\''),
                double_quote: has(b'"'),
                newline: has(b'\n'),
                bracket_or_quote: piece
                    .iter()
                    .any(|b| matches!(b, b'\'' | b'"' | b')' | b']' | b'`')),
            }
        })
        .collect()
}

/// Where the reply's Python text stands: in code, in a string (opened by this quote), or in a comment.
/// The canvas grammar only allows single-line strings, so this small scanner is exact for it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scan {
    Code,
    Str(u8),
    Comment,
}

/// Follows the lexical context across generated text.
#[derive(Default)]
struct Scanner {
    state: Option<Scan>,
    escaped: bool,
}

impl Scanner {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let state = self.state.unwrap_or(Scan::Code);
            self.state = Some(match state {
                Scan::Code => match b {
                    b'#' => Scan::Comment,
                    b'\'' | b'"' => Scan::Str(b),
                    _ => Scan::Code,
                },
                Scan::Comment if b == b'\n' => Scan::Code,
                Scan::Comment => Scan::Comment,
                Scan::Str(q) if self.escaped => {
                    self.escaped = false;
                    Scan::Str(q)
                }
                Scan::Str(q) if b == b'\\' => {
                    self.escaped = true;
                    Scan::Str(q)
                }
                Scan::Str(q) if b == q => Scan::Code,
                Scan::Str(q) => Scan::Str(q),
            });
        }
    }

    fn scan(&self) -> Scan {
        self.state.unwrap_or(Scan::Code)
    }
}

/// A llama.cpp sampler chain and how many of the likeliest tokens it can ever choose from.
struct Chain {
    sampler: LlamaSampler,
    /// 1 for greedy, k for a chain with top-k; `None` when any token may be drawn.
    keep: Option<usize>,
}

/// Omost's sampling as a llama.cpp chain: temperature, then top-k, then top-p (transformers' order),
/// then a seeded draw; greedy at temperature 0.
fn sampler_chain(s: &Sampling) -> Chain {
    if s.temperature <= 0.0 {
        return Chain {
            sampler: LlamaSampler::greedy(),
            keep: Some(1),
        };
    }
    Chain {
        sampler: LlamaSampler::chain_simple([
            LlamaSampler::temp(s.temperature),
            LlamaSampler::top_k(s.top_k.max(0)),
            LlamaSampler::top_p(s.top_p, 1),
            LlamaSampler::dist(s.seed),
        ]),
        keep: usize::try_from(s.top_k).ok().filter(|&k| k > 0),
    }
}

/// The `k` likeliest tokens of `logits`, likeliest first (the lower id first among equals, as
/// llama.cpp's greedy sampler picks), in one pass and without an array of the whole vocabulary.
fn likeliest(logits: &[f32], k: usize) -> Vec<LlamaTokenData> {
    let mut best: Vec<LlamaTokenData> = Vec::with_capacity(k + 1);
    for (id, &logit) in logits.iter().enumerate() {
        if best.len() == k && best.last().is_none_or(|last| logit <= last.logit()) {
            continue;
        }
        let at = best.partition_point(|d| d.logit() >= logit);
        best.insert(at, LlamaTokenData::new(LlamaToken(id as i32), logit, 0.0));
        best.truncate(k);
    }
    best
}

/// Fails early, with a clear reason, on what is not a GGUF file at all.
pub(super) fn check_gguf_header(path: &Path) -> Result<(), LlmError> {
    let fail = |reason: String| LlmError::Load {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(crate::fsutil::io_reason(&e)))?;
    if meta.is_dir() {
        return Err(fail("is a directory, not a GGUF file".into()));
    }
    let mut header = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut header))
        .map_err(|e| fail(crate::fsutil::io_reason(&e)))?;
    if n < 8 || &header[..4] != b"GGUF" {
        return Err(fail(if meta.len() == 0 {
            "the file is empty".into()
        } else {
            "not a GGUF file (no GGUF header)".into()
        }));
    }
    let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if !(2..=3).contains(&version) {
        return Err(fail(format!("unsupported GGUF version {version}")));
    }
    Ok(())
}

impl ChatEngine for LocalLlm {
    fn describe(&self) -> String {
        let name = self
            .info
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        format!(
            "{name} ({:.0}M params, llama.cpp)",
            self.info.parameters as f64 / 1e6
        )
    }

    fn generate(
        &mut self,
        messages: &[Message],
        sampling: &Sampling,
        cancel: &AtomicBool,
        sink: &mut dyn FnMut(LlmEvent),
    ) -> Result<Reply, LlmError> {
        let start = Instant::now();
        let (tokens, budget) = self.fit(messages, sampling.max_tokens, sink)?;
        let mut stats = ReplyStats {
            prompt_tokens: tokens.len(),
            ..ReplyStats::default()
        };
        let Some(reused) = self.eval_prompt(&tokens, cancel, sink)? else {
            stats.stop = StopReason::Cancelled;
            return Ok(Reply {
                text: String::new(),
                stats,
            });
        };
        stats.reused_tokens = reused;
        stats.evaluated_tokens = tokens.len() - reused;
        stats.prompt_ms = start.elapsed().as_secs_f64() * 1e3;

        let mut grammar = if sampling.grammar {
            Some(
                LlamaSampler::grammar(&self.model, &canvas_gbnf(), "root")
                    .map_err(|e| LlmError::Grammar(e.to_string()))?,
            )
        } else {
            None
        };
        let mut chain = sampler_chain(sampling);
        // The last tokens of the budget are spent closing what is open (at least 128, at most 256).
        let reserve = (budget / 4).clamp(128.min(budget / 2), 256);
        let closing_from = budget - reserve;
        let mut scanner = Scanner::default();
        let gen_start = Instant::now();
        let mut text = String::new();
        let mut utf8 = Utf8Stream::default();
        let mut batch = LlamaBatch::new(1, 1);
        let mut generated = Vec::new();
        let mut idx = (tokens.len() - reused - 1) as i32 % BATCH as i32;
        stats.stop = StopReason::Length;
        let vocab = self.model.vocab();
        for n in 0..budget {
            if cancel.load(Ordering::Relaxed) {
                stats.stop = StopReason::Cancelled;
                break;
            }
            let closing = (n >= closing_from).then(|| scanner.scan());
            let picking = Instant::now();
            let token = self.pick(&mut chain, grammar.as_mut(), idx, closing)?;
            if vocab.is_eog(token) {
                stats.stop = StopReason::EndOfTurn;
                break;
            }
            if let Some(g) = grammar.as_mut() {
                g.try_accept(token)
                    .map_err(|e| LlmError::Grammar(format!("grammar rejected a token: {e}")))?;
            }
            chain.sampler.accept(token);
            stats.sampling_ms += picking.elapsed().as_secs_f64() * 1e3;
            let bytes = vocab.token_to_piece(token, false, None);
            scanner.feed(&bytes);
            let piece = utf8.push(&bytes);
            if stats.generated_tokens == 0 {
                stats.ttft_ms = start.elapsed().as_secs_f64() * 1e3;
            }
            stats.generated_tokens += 1;
            if !piece.is_empty() {
                text.push_str(&piece);
                sink(LlmEvent::Text(piece));
            }
            batch.clear();
            let pos = self.cached.len() as i32;
            batch
                .add(token, pos, &[0], true)
                .map_err(|e| LlmError::Decode(e.to_string()))?;
            self.ctx
                .decode(&mut batch)
                .map_err(|e| LlmError::Decode(format!("decode failed at position {pos}: {e}")))?;
            self.cached.push(token);
            generated.push(token);
            idx = 0;
        }
        let rest = utf8.finish();
        if !rest.is_empty() {
            text.push_str(&rest);
            sink(LlmEvent::Text(rest));
        }
        stats.generation_ms = gen_start.elapsed().as_secs_f64() * 1e3;
        self.last_reply = Some((text.clone(), generated));
        Ok(Reply { text, stats })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likeliest_equals_a_full_sort_and_greedy_ties() {
        // Logits with many ties, in a fixed pseudo-random order.
        let logits: Vec<f32> = (0..5000u64)
            .map(|i| (crate::chunk_rng::splitmix64(i) % 300) as f32 / 7.0)
            .collect();
        let mut sorted: Vec<(f32, i32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (l, i as i32))
            .collect();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for k in [1, 2, 50, 5000, 6000] {
            let got: Vec<(f32, i32)> = likeliest(&logits, k)
                .iter()
                .map(|d| (d.logit(), d.id().0))
                .collect();
            assert_eq!(got, sorted[..k.min(5000)], "k = {k}");
        }
        // k = 1 is llama.cpp's greedy choice: the first of the largest logits.
        let max = logits.iter().copied().fold(f32::MIN, f32::max);
        let first = logits.iter().position(|&l| l == max).unwrap() as i32;
        assert_eq!(likeliest(&logits, 1)[0].id().0, first);
    }
}
