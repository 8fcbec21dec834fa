//! `omost chat --llm PATH [PROMPT]`: one reply from the local LLM, streamed to stdout, with the figures on
//! stderr. Exits 0 only when a valid canvas came out (with `--no-grammar`: when a reply came out).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::output::write_atomic;
use super::{CliError, CliResult};
use crate::canvas;
use crate::llm::worker::LlmWorker;
use crate::llm::{EngineChoice, LlmEvent, ReplyStats, Sampling, StopReason};
use crate::session::{session_path, Session};

/// What `omost chat` was asked to do.
pub struct ChatOptions {
    /// The local model or the server.
    pub engine: EngineChoice,
    pub prompt: Option<String>,
    pub out: Option<PathBuf>,
    pub session: Option<String>,
    pub sampling: Sampling,
}

/// Ctrl-C sets this; loading and generation watch it.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // If a handler is already installed (tests calling twice), the flag simply stays unset.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::Relaxed));
    flag
}

fn read_prompt(prompt: Option<String>) -> Result<String, CliError> {
    let text = match prompt {
        Some(p) => p,
        None if std::io::stdin().is_terminal() => {
            return Err(CliError::input("give a prompt as an argument or on stdin"));
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| CliError::input(format!("cannot read the prompt from stdin: {e}")))?;
            s
        }
    };
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(CliError::input("the prompt is empty"));
    }
    Ok(text)
}

/// Runs `omost chat`.
pub fn chat(opts: ChatOptions) -> CliResult {
    let prompt = read_prompt(opts.prompt)?;
    let session_file = opts
        .session
        .as_deref()
        .map(session_path)
        .transpose()
        .map_err(|e| CliError::input(e.to_string()))?;
    let mut session = match &session_file {
        Some(path) => Session::load(path).map_err(|e| CliError::input(e.to_string()))?,
        None => Session::default(),
    };
    let log = crate::logging::init_file_logging();
    let interrupted = interrupt_flag();
    let worker = start_engine(&opts.engine, interrupted.clone(), log.as_deref())?;
    worker
        .chat(
            session.conversation.messages(&prompt),
            opts.sampling.clone(),
        )
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let reply = stream_reply(&worker, &interrupted)?;
    crate::note!("{}", stats_line(&reply.stats));
    if reply.stats.stop == StopReason::Cancelled {
        return Err(CliError::runtime("interrupted; the reply was not saved"));
    }
    if reply.text.trim().is_empty() {
        return Err(CliError::runtime("the model gave an empty reply"));
    }
    let canvas = canvas::parse(&reply.text);
    if let Some(path) = &session_file {
        session.conversation.push(prompt, reply.text.clone());
        session
            .save(path)
            .map_err(|e| CliError::runtime(e.to_string()))?;
    }
    match canvas {
        Ok(parsed) => {
            for w in &parsed.warnings {
                crate::note!("warning: reply: {w}");
            }
            if let Some(out) = &opts.out {
                write_canvas(out, &parsed.canvas)?;
            }
            Ok(())
        }
        Err(e) if opts.sampling.grammar || opts.out.is_some() => {
            let why = match reply.stats.stop {
                StopReason::Length => format!(
                    "{e} (the reply hit the {}-token limit)",
                    opts.sampling.max_tokens
                ),
                _ => e.to_string(),
            };
            Err(CliError::runtime(format!(
                "the reply holds no valid canvas: {why}"
            )))
        }
        Err(_) => Ok(()),
    }
}

/// Loads the model (or connects to the server) on the LLM thread, showing progress on a terminal;
/// Ctrl-C aborts the load.
fn start_engine(
    engine: &EngineChoice,
    interrupted: Arc<AtomicBool>,
    log: Option<&Path>,
) -> Result<LlmWorker, CliError> {
    let show = std::io::stderr().is_terminal();
    let engine = engine.clone();
    let worker = LlmWorker::spawn(move || {
        engine.start(move |p| {
            if show {
                eprint!("\rloading model… {:>3.0}%", p * 100.0);
                let _ = std::io::stderr().flush();
            }
            !interrupted.load(Ordering::Relaxed)
        })
    })
    .map_err(|e| CliError::runtime(format!("cannot start the LLM thread: {e}")))?;
    let ready = worker.events().recv();
    if show {
        eprint!("\r\x1b[K");
    }
    match ready {
        Ok(LlmEvent::Ready(_)) => Ok(worker),
        Ok(LlmEvent::Error(e)) => {
            let hint = log
                .map(|l| format!(" (details in {})", l.display()))
                .unwrap_or_default();
            Err(CliError::input(format!("{e}{hint}")))
        }
        _ => Err(CliError::runtime("the LLM thread stopped unexpectedly")),
    }
}

/// Prints the reply as it streams; returns it when done.
fn stream_reply(
    worker: &LlmWorker,
    interrupted: &AtomicBool,
) -> Result<crate::llm::Reply, CliError> {
    let progress = std::io::stderr().is_terminal();
    let mut stdout = std::io::stdout().lock();
    let mut cancelled = false;
    loop {
        if interrupted.load(Ordering::Relaxed) && !cancelled {
            worker.cancel();
            cancelled = true;
        }
        let event = match worker
            .events()
            .recv_timeout(std::time::Duration::from_millis(50))
        {
            Ok(e) => e,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(CliError::runtime("the LLM thread stopped unexpectedly"))
            }
        };
        match event {
            LlmEvent::PromptProgress { done, total } if progress => {
                eprint!("\rreading prompt {done}/{total}\x1b[K");
                if done == total {
                    eprint!("\r\x1b[K");
                }
            }
            LlmEvent::PromptProgress { .. } => {}
            LlmEvent::Text(t) => {
                // A closed stdout (`| head`) must not stop the reply from being saved.
                let _ = stdout.write_all(t.as_bytes()).and_then(|_| stdout.flush());
            }
            LlmEvent::Notice(n) => crate::note!("note: {n}"),
            LlmEvent::Done(reply) => {
                let _ = writeln!(stdout);
                return Ok(reply);
            }
            LlmEvent::Error(e) => return Err(CliError::runtime(e.to_string())),
            LlmEvent::Ready(_) => {}
        }
    }
}

/// One line of figures for stderr.
pub fn stats_line(s: &ReplyStats) -> String {
    let stop = match s.stop {
        StopReason::EndOfTurn => "end of turn",
        StopReason::Length => "token limit",
        StopReason::Cancelled => "interrupted",
    };
    format!(
        "prompt {} tokens ({} reused, {} read at {:.0} tok/s) · reply {} tokens at {:.1} tok/s · first token after {:.2} s · {stop}",
        s.prompt_tokens,
        s.reused_tokens,
        s.evaluated_tokens,
        s.prompt_tokens_per_second(),
        s.generated_tokens,
        s.tokens_per_second(),
        s.ttft_ms / 1e3,
    )
}

/// Writes the canvas: JSON for `.json`, canonical Omost code otherwise.
fn write_canvas(path: &Path, canvas: &canvas::Canvas) -> CliResult {
    let text = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        canvas::to_json(canvas) + "\n"
    } else {
        canvas::to_code(canvas)
    };
    write_atomic(path, text.as_bytes())
}
