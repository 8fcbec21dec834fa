//! A remote chat engine: any OpenAI-compatible `/v1/chat/completions` server (llama.cpp's
//! `llama-server`, vLLM, Ollama, hosted APIs), streamed over server-sent events. It takes the same
//! messages (Omost's system prompt and the whole history) and sampling settings as the local engine,
//! sends the canvas grammar where the server takes one, and reports the same events.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::grammar::canvas_gbnf;
use super::http::{Client, Endpoint, HttpError, Response};
use super::{ChatEngine, LlmError, LlmEvent, Message, Reply, ReplyStats, Sampling, StopReason};

/// How the canvas grammar travels with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrammarMode {
    /// Ask the server what it is (llama.cpp's `/props`, vLLM's `/version`, Ollama's `/api/version`).
    Auto,
    /// llama.cpp server: a GBNF `grammar` field.
    Llama,
    /// vLLM: `structured_outputs: {grammar}` (GBNF through xgrammar).
    Vllm,
    /// Nothing is sent; replies are checked afterwards.
    None,
}

impl GrammarMode {
    /// Parses `auto`, `llama`, `vllm` or `none`.
    pub fn parse(text: &str) -> Result<GrammarMode, String> {
        match text {
            "auto" => Ok(GrammarMode::Auto),
            "llama" | "llama.cpp" => Ok(GrammarMode::Llama),
            "vllm" => Ok(GrammarMode::Vllm),
            "none" | "off" => Ok(GrammarMode::None),
            other => Err(format!(
                "the grammar mode must be auto, llama, vllm or none, not `{other}`"
            )),
        }
    }
}

/// What kind of server answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    LlamaCpp,
    Vllm,
    Ollama,
    /// Any other OpenAI-compatible server.
    Other,
}

impl ServerKind {
    fn name(self) -> &'static str {
        match self {
            ServerKind::LlamaCpp => "llama.cpp server",
            ServerKind::Vllm => "vLLM",
            ServerKind::Ollama => "Ollama",
            ServerKind::Other => "OpenAI-compatible server",
        }
    }

    /// Whether the server takes a `top_k` field (OpenAI's own API rejects unknown fields).
    fn takes_top_k(self) -> bool {
        self != ServerKind::Other
    }
}

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// `http(s)://host:port`, optionally with a path prefix such as `/v1` or `/api/openai/v1`.
    pub url: String,
    /// The model to ask for; by default the first one the server lists.
    pub model: Option<String>,
    pub api_key: Option<String>,
    pub grammar: GrammarMode,
    pub connect_timeout: Duration,
    /// Longest wait for the next streamed byte (the first one included).
    pub read_timeout: Duration,
    /// Extra trusted certificates (PEM) for a server with its own CA.
    pub ca_file: Option<PathBuf>,
}

impl RemoteOptions {
    /// Options for `url` with the defaults: detection, 10 s to connect, 300 s between bytes.
    pub fn new(url: impl Into<String>) -> RemoteOptions {
        RemoteOptions {
            url: url.into(),
            model: None,
            api_key: None,
            grammar: GrammarMode::Auto,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(300),
            ca_file: None,
        }
    }
}

/// A chat engine on a server.
pub struct RemoteLlm {
    client: Client,
    /// The path of the chat endpoint under the URL.
    chat_path: String,
    model: String,
    kind: ServerKind,
    grammar: GrammarMode,
}

/// What a server's error body says: OpenAI's `{"error": {"message"}}`, `{"error": "…"}`, FastAPI's
/// `{"detail": …}`, `{"message": …}`, or the first line of the text.
fn server_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        v.pointer("/error/message")
            .and_then(text)
            .or_else(|| v.get("error").and_then(text))
            .or_else(|| v.get("detail").and_then(text))
            .or_else(|| v.get("message").and_then(text))
    });
    let message = from_json.unwrap_or_else(|| body.lines().next().unwrap_or("").to_owned());
    message.trim().chars().take(300).collect()
}

impl RemoteLlm {
    /// Connects: checks the URL, asks what the server is (for the grammar and `top_k`) and which model
    /// to use. Fails with one line when the server cannot be reached or refuses.
    pub fn connect(options: &RemoteOptions) -> Result<RemoteLlm, LlmError> {
        let endpoint = Endpoint::parse(&options.url).map_err(LlmError::Remote)?;
        // `…/v1` or a full `…/chat/completions` URL work as well as the server's root.
        let (endpoint, chat_path) = if endpoint.base.ends_with("/chat/completions") {
            let base = endpoint
                .base
                .trim_end_matches("/chat/completions")
                .to_owned();
            (
                Endpoint { base, ..endpoint },
                "/chat/completions".to_owned(),
            )
        } else if endpoint.base.ends_with("/v1") {
            (endpoint, "/chat/completions".to_owned())
        } else {
            (endpoint, "/v1/chat/completions".to_owned())
        };
        let client = Client {
            endpoint,
            connect_timeout: options.connect_timeout,
            // Finding out what the server is must be quick; replies get the read timeout.
            idle_timeout: options.connect_timeout,
            api_key: options.api_key.clone(),
            ca_file: options.ca_file.clone(),
        };
        let idle = AtomicBool::new(false);
        // The servers' own endpoints (`/props`, `/version`) sit at the root, beside `/v1`.
        let root = Client {
            endpoint: Endpoint {
                base: client
                    .endpoint
                    .base
                    .strip_suffix("/v1")
                    .unwrap_or(&client.endpoint.base)
                    .to_owned(),
                ..client.endpoint.clone()
            },
            ..client.clone()
        };
        let kind = detect(&root, &idle)?;
        let models_path = chat_path.replace("/chat/completions", "/models");
        let model = match &options.model {
            Some(m) => m.clone(),
            None => first_model(&client, &models_path, &idle)?,
        };
        let grammar = match options.grammar {
            GrammarMode::Auto => match kind {
                ServerKind::LlamaCpp => GrammarMode::Llama,
                ServerKind::Vllm => GrammarMode::Vllm,
                ServerKind::Ollama | ServerKind::Other => GrammarMode::None,
            },
            chosen => chosen,
        };
        Ok(RemoteLlm {
            client: Client {
                idle_timeout: options.read_timeout,
                ..client
            },
            chat_path,
            model,
            kind,
            grammar,
        })
    }

    /// How the grammar is sent (after detection).
    pub fn grammar_mode(&self) -> GrammarMode {
        self.grammar
    }

    /// What kind of server it is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    fn body(&self, messages: &[Message], sampling: &Sampling) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": messages
                .iter()
                .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                .collect::<Vec<_>>(),
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": sampling.seed,
            "max_tokens": sampling.max_tokens,
        });
        if self.kind.takes_top_k() {
            body["top_k"] = json!(sampling.top_k);
        }
        if sampling.grammar {
            match self.grammar {
                GrammarMode::Llama => body["grammar"] = json!(canvas_gbnf()),
                GrammarMode::Vllm => body["structured_outputs"] = json!({"grammar": canvas_gbnf()}),
                GrammarMode::Auto | GrammarMode::None => {}
            }
        }
        body
    }
}

fn remote_error(client: &Client, what: &str, e: HttpError) -> LlmError {
    match e {
        HttpError::Cancelled => LlmError::Remote(format!("{what}: cancelled")),
        HttpError::Failed(m) => {
            LlmError::Remote(format!("{}: {what}: {m}", client.endpoint.url("")))
        }
    }
}

/// A GET: the status, and the JSON answer when the status is 200.
fn get_json(
    client: &Client,
    path: &str,
    cancel: &AtomicBool,
) -> Result<(u16, Option<Value>), LlmError> {
    let response = client
        .request("GET", path, None, cancel)
        .map_err(|e| remote_error(client, "cannot reach the server", e))?;
    let status = response.status;
    if status != 200 {
        return Ok((status, None));
    }
    let text = response
        .text(1 << 20)
        .map_err(|e| remote_error(client, "cannot read the answer", e))?;
    Ok((status, serde_json::from_str(&text).ok()))
}

/// How long to wait for a server that is still loading its model (HTTP 503).
const LOADING_WAIT: Duration = Duration::from_secs(120);

/// Asks the server what it is; the first request also proves it can be reached. A server still
/// loading its model (503) is waited for.
fn detect(client: &Client, cancel: &AtomicBool) -> Result<ServerKind, LlmError> {
    let started = Instant::now();
    let props = loop {
        match get_json(client, "/props", cancel)? {
            (503, _) if started.elapsed() < LOADING_WAIT => {
                std::thread::sleep(Duration::from_millis(500))
            }
            (503, _) => {
                return Err(LlmError::Remote(format!(
                    "{}: still loading its model after {} s",
                    client.endpoint.url(""),
                    LOADING_WAIT.as_secs()
                )))
            }
            (_, props) => break props,
        }
    };
    let has = |v: Option<Value>, key: &str| v.is_some_and(|v| v.get(key).is_some());
    if has(props, "default_generation_settings") {
        return Ok(ServerKind::LlamaCpp);
    }
    if has(get_json(client, "/api/version", cancel)?.1, "version") {
        return Ok(ServerKind::Ollama);
    }
    if has(get_json(client, "/version", cancel)?.1, "version") {
        return Ok(ServerKind::Vllm);
    }
    Ok(ServerKind::Other)
}

/// The first model `/v1/models` lists.
fn first_model(client: &Client, path: &str, cancel: &AtomicBool) -> Result<String, LlmError> {
    let response = client
        .request("GET", path, None, cancel)
        .map_err(|e| remote_error(client, "cannot list the models", e))?;
    let status = response.status;
    let text = response
        .text(1 << 20)
        .map_err(|e| remote_error(client, "cannot list the models", e))?;
    if status != 200 {
        return Err(LlmError::Remote(format!(
            "{}: listing the models: HTTP {status}: {} (name one with --llm-model)",
            client.endpoint.url(path),
            server_message(&text)
        )));
    }
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/data/0/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            LlmError::Remote(format!(
                "{} lists no model; name one with --llm-model",
                client.endpoint.url(path)
            ))
        })
}

/// Reads the event stream of a chat completion into `text` and `stats`. True when the reply is
/// complete (`[DONE]` or a finish reason), false when the stream ended before.
fn read_stream(
    response: &mut Response,
    text: &mut String,
    stats: &mut ReplyStats,
    started: Instant,
    sink: &mut dyn FnMut(LlmEvent),
) -> Result<bool, HttpError> {
    let mut first_token: Option<Instant> = None;
    let mut finished = false;
    let mut data = String::new();
    while let Some(line) = response.next_line()? {
        if let Some(rest) = line.strip_prefix("data:") {
            data.push_str(rest.trim_start());
            continue;
        }
        if let Some(rest) = line.strip_prefix("error:") {
            return Err(HttpError::Failed(server_message(rest.trim())));
        }
        if !line.is_empty() || data.is_empty() {
            continue;
        }
        // A blank line ends an event.
        let event = std::mem::take(&mut data);
        if event == "[DONE]" {
            return Ok(true);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&event) else {
            continue;
        };
        if chunk.get("error").is_some() {
            return Err(HttpError::Failed(server_message(&event)));
        }
        if let Some(piece) = chunk
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            if first_token.is_none() {
                first_token = Some(Instant::now());
                stats.ttft_ms = started.elapsed().as_secs_f64() * 1e3;
            }
            stats.generated_tokens += 1;
            text.push_str(piece);
            sink(LlmEvent::Text(piece.to_owned()));
        }
        match chunk
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
        {
            Some("length") => {
                stats.stop = StopReason::Length;
                finished = true;
            }
            Some(_) => {
                stats.stop = StopReason::EndOfTurn;
                finished = true;
            }
            None => {}
        }
        let count = |p: &str| chunk.pointer(p).and_then(Value::as_u64).map(|n| n as usize);
        if let Some(n) = count("/usage/completion_tokens") {
            stats.generated_tokens = n;
        }
        if let Some(n) = count("/usage/prompt_tokens") {
            stats.prompt_tokens = n;
            stats.evaluated_tokens = n;
        }
        // llama.cpp's server says how much of the prompt it had cached and how long each part took.
        if let Some(t) = chunk.get("timings") {
            let ms = |k: &str| t.get(k).and_then(Value::as_f64);
            if let (Some(cached), Some(read)) =
                (count("/timings/cache_n"), count("/timings/prompt_n"))
            {
                stats.reused_tokens = cached;
                stats.evaluated_tokens = read;
                stats.prompt_tokens = cached + read;
            }
            stats.prompt_ms = ms("prompt_ms").unwrap_or(stats.prompt_ms);
            stats.generation_ms = ms("predicted_ms").unwrap_or(stats.generation_ms);
        }
        if let Some(t) = first_token {
            if chunk.get("timings").is_none() {
                stats.generation_ms = t.elapsed().as_secs_f64() * 1e3;
            }
        }
    }
    Ok(finished)
}

impl ChatEngine for RemoteLlm {
    fn describe(&self) -> String {
        let grammar = match self.grammar {
            GrammarMode::Llama | GrammarMode::Vllm => "grammar on",
            GrammarMode::Auto | GrammarMode::None => "no grammar: replies are checked",
        };
        // llama-server names its model by the file's whole path.
        let model = self.model.rsplit('/').next().unwrap_or(&self.model);
        format!(
            "{model} at {} ({}, {grammar})",
            self.client.endpoint.url(""),
            self.kind.name()
        )
    }

    fn generate(
        &mut self,
        messages: &[Message],
        sampling: &Sampling,
        cancel: &AtomicBool,
        sink: &mut dyn FnMut(LlmEvent),
    ) -> Result<Reply, LlmError> {
        let started = Instant::now();
        let body = self.body(messages, sampling).to_string();
        let mut text = String::new();
        let mut stats = ReplyStats {
            stop: StopReason::EndOfTurn,
            ..ReplyStats::default()
        };
        let cancelled = |text: String, mut stats: ReplyStats| {
            stats.stop = StopReason::Cancelled;
            Ok(Reply { text, stats })
        };
        let mut response = match self
            .client
            .request("POST", &self.chat_path, Some(&body), cancel)
        {
            Ok(r) => r,
            Err(HttpError::Cancelled) => return cancelled(text, stats),
            Err(e) => return Err(remote_error(&self.client, "the request failed", e)),
        };
        if response.status != 200 {
            let (status, reason) = (response.status, response.reason.clone());
            let body = response.text(1 << 16).unwrap_or_default();
            return Err(LlmError::Remote(format!(
                "{} answered HTTP {status} {reason}: {}",
                self.client.endpoint.url(&self.chat_path),
                server_message(&body)
            )));
        }
        match read_stream(&mut response, &mut text, &mut stats, started, sink) {
            Ok(true) => {}
            Ok(false) => {
                return Err(LlmError::Remote(format!(
                    "the server closed the stream mid-reply after {} characters (the partial reply is kept)",
                    text.chars().count()
                )))
            }
            Err(HttpError::Cancelled) => return cancelled(text, stats),
            Err(HttpError::Failed(m)) => {
                return Err(LlmError::Remote(format!(
                    "the reply stopped after {} characters: {m} (the partial reply is kept)",
                    text.chars().count()
                )))
            }
        }
        // Cut by the token limit: keep the complete calls rather than lose the canvas (the local engine
        // spends its last tokens closing; a server cannot be asked to).
        if sampling.grammar && stats.stop == StopReason::Length {
            if let Some((closed, dropped)) = crate::canvas::close_cut_reply(&text) {
                sink(LlmEvent::Notice(format!(
                    "the reply hit the {}-token limit; its unfinished end ({dropped} characters) was dropped",
                    sampling.max_tokens
                )));
                text = closed;
            }
        }
        if stats.generation_ms == 0.0 {
            stats.generation_ms = (started.elapsed().as_secs_f64() * 1e3 - stats.ttft_ms).max(0.0);
        }
        Ok(Reply { text, stats })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_come_out_of_every_error_shape() {
        for (body, want) in [
            (
                r#"{"error":{"code":400,"message":"the request exceeds the available context size"}}"#,
                "the request exceeds the available context size",
            ),
            (r#"{"error":"model not found"}"#, "model not found"),
            (r#"{"detail":"Not Found"}"#, "Not Found"),
            (
                r#"{"object":"error","message":"bad grammar"}"#,
                "bad grammar",
            ),
            ("Bad Gateway\n<html>…", "Bad Gateway"),
        ] {
            assert_eq!(server_message(body), want);
        }
    }

    #[test]
    fn grammar_modes_parse() {
        assert_eq!(GrammarMode::parse("vllm"), Ok(GrammarMode::Vllm));
        assert!(GrammarMode::parse("gbnf").is_err());
    }
}
