//! The remote chat engine against a real OpenAI-compatible server: llama.cpp's `llama-server` (built by
//! `scripts/fetch-llama-server`) with the test model on 127.0.0.1. The grammar travels with the request
//! and gives valid canvases; cancelling closes the stream and frees the server; a server killed
//! mid-reply, a wrong port, a silent server, HTTP errors and TLS are each one clear line.

mod common;
mod server;

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use omost_tui::canvas;
use omost_tui::llm::remote::{GrammarMode, RemoteLlm, RemoteOptions, ServerKind};
use omost_tui::llm::{ChatEngine, Conversation, LlmError, LlmEvent, Reply, Sampling, StopReason};
use server::LlamaServer;

/// One server at a time on two cores; each test starts its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Omost's sampling without the grammar, for `max_tokens` tokens.
fn free_form(max_tokens: usize) -> Sampling {
    Sampling {
        max_tokens,
        grammar: false,
        ..Sampling::default()
    }
}

/// A reply, the text as it streamed, and the notices that came with it.
fn generate_noting(
    llm: &mut RemoteLlm,
    prompt: &str,
    sampling: &Sampling,
    cancel: &AtomicBool,
    on_text: &mut dyn FnMut(&str),
) -> (Result<Reply, LlmError>, String, Vec<String>) {
    let mut streamed = String::new();
    let mut notices = Vec::new();
    let messages = Conversation::default().messages(prompt);
    let result = llm.generate(&messages, sampling, cancel, &mut |e| match e {
        LlmEvent::Text(t) => {
            streamed.push_str(&t);
            on_text(&streamed);
        }
        LlmEvent::Notice(n) => notices.push(n),
        _ => {}
    });
    (result, streamed, notices)
}

fn generate(
    llm: &mut RemoteLlm,
    prompt: &str,
    sampling: &Sampling,
    cancel: &AtomicBool,
    on_text: &mut dyn FnMut(&str),
) -> (Result<Reply, LlmError>, String) {
    let (result, streamed, _) = generate_noting(llm, prompt, sampling, cancel, on_text);
    (result, streamed)
}

#[test]
fn grammar_on_the_server_gives_valid_canvases_with_stats() {
    let _one = one_at_a_time();
    let server = LlamaServer::start("grammar", &[]);
    let mut llm =
        RemoteLlm::connect(&RemoteOptions::new(format!("{}/v1", server.url()))).expect("connects");
    assert_eq!(llm.kind(), ServerKind::LlamaCpp);
    assert_eq!(llm.grammar_mode(), GrammarMode::Llama);
    assert!(llm.describe().contains("grammar on"), "{}", llm.describe());
    for (seed, prompt) in [
        (1, "a cat sleeping on a red sofa in a sunny living room"),
        (2, "a lighthouse on a cliff at night, stormy sea"),
    ] {
        let sampling = Sampling {
            seed,
            max_tokens: 1200,
            ..Sampling::default()
        };
        let (reply, streamed, notices) = generate_noting(
            &mut llm,
            prompt,
            &sampling,
            &AtomicBool::new(false),
            &mut |_| {},
        );
        let reply = reply.expect("a reply");
        let parsed = canvas::parse(&reply.text)
            .unwrap_or_else(|e| panic!("{prompt:?}: {e}\n{}", reply.text));
        parsed.canvas.conditions().expect("processes");
        let s = &reply.stats;
        // A reply that ran out of tokens keeps its complete calls, and says so.
        match s.stop {
            StopReason::EndOfTurn => {
                assert_eq!(streamed, reply.text, "streamed text is the reply");
                assert!(notices.is_empty(), "{notices:?}");
            }
            StopReason::Length => {
                assert!(streamed.starts_with(reply.text.trim_end_matches("```")));
                assert!(notices[0].contains("1200-token limit"), "{notices:?}");
            }
            StopReason::Cancelled => panic!("not cancelled"),
        }
        // Omost's system prompt went with it, and the server's own figures came back.
        assert!(s.prompt_tokens > 300, "{s:?}");
        assert!(s.generated_tokens > 20 && s.ttft_ms > 0.0, "{s:?}");
        assert!(s.tokens_per_second() > 0.0, "{s:?}");
    }
}

#[test]
fn omost_chat_takes_a_server_url() {
    let _one = one_at_a_time();
    let server = LlamaServer::start("cli", &[]);
    let dir = std::env::temp_dir().join(format!("omost-remote-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("canvas.json");
    let o = Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(["chat", "--llm-url", &server.url(), "a castle on a hill"])
        .args(["--max-tokens", "1200", "--out", out.to_str().unwrap()])
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_STATE_HOME", &dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("tok/s") && err.contains("first token"),
        "{err}"
    );
    canvas::parse(&std::fs::read_to_string(&out).unwrap()).expect("a valid canvas");

    // The doctor reaches it and says what it is.
    let o = Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(["doctor", "--llm-url", &server.url()])
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{report}");
    assert!(
        report.contains("(llama.cpp server, grammar on) — reached in")
            && report.contains("LLM server: a one-token reply in"),
        "{report}"
    );

    // Both engines at once, or a key variable that is not set: one line, exit 2.
    for args in [
        vec![
            "chat",
            "--llm",
            "x.gguf",
            "--llm-url",
            "http://127.0.0.1:1",
            "a cat",
        ],
        vec![
            "chat",
            "--llm-url",
            "http://127.0.0.1:1",
            "--llm-api-key-env",
            "OMOST_NO_SUCH_KEY_VAR",
            "a cat",
        ],
        vec!["chat", "--llm-url", "localhost:8080", "a cat"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_omost"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err.trim()
                .lines()
                .filter(|l| l.starts_with("error"))
                .count(),
            1,
            "{err}"
        );
    }
}

#[test]
fn cancelling_closes_the_stream_and_frees_the_server() {
    let _one = one_at_a_time();
    let server = LlamaServer::start("cancel", &[]);
    let mut llm = RemoteLlm::connect(&RemoteOptions::new(server.url())).expect("connects");
    let cancel = AtomicBool::new(false);
    let mut cancelled_at = None;
    let long = free_form(4000);
    let (reply, streamed) = generate(
        &mut llm,
        "tell me a very long story about the sea",
        &long,
        &cancel,
        &mut |text| {
            if text.len() > 40 && cancelled_at.is_none() {
                cancel.store(true, Ordering::Relaxed);
                cancelled_at = Some(Instant::now());
            }
        },
    );
    let reply = reply.expect("a cancelled reply is a reply");
    let took = cancelled_at.expect("text streamed").elapsed();
    assert_eq!(reply.stats.stop, StopReason::Cancelled);
    assert_eq!(reply.text, streamed);
    assert!(
        took < Duration::from_millis(500),
        "stopped {took:?} after the flag"
    );
    println!("the reply stopped {took:?} after the cancel flag");
    // The server has one slot: a reply that still ran there would hold up this one.
    let short = free_form(4);
    let started = Instant::now();
    let (reply, _) = generate(&mut llm, "hi", &short, &AtomicBool::new(false), &mut |_| {});
    reply.expect("the next reply");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the server was still busy: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_server_killed_mid_reply_is_a_clear_error_and_the_partial_text_is_kept() {
    let _one = one_at_a_time();
    let mut server = LlamaServer::start("kill", &[]);
    let mut llm = RemoteLlm::connect(&RemoteOptions::new(server.url())).expect("connects");
    let sampling = free_form(4000);
    let (reply, streamed) = generate(
        &mut llm,
        "tell me a very long story about the sea",
        &sampling,
        &AtomicBool::new(false),
        &mut |text| {
            if text.len() > 40 {
                server.kill();
            }
        },
    );
    let err = reply.expect_err("the stream was cut").to_string();
    assert!(streamed.len() > 40, "{streamed:?}");
    assert!(
        err.contains("mid-reply") || err.contains("stopped after"),
        "{err}"
    );
    assert!(err.contains("partial reply is kept"), "{err}");
    // And the next request says the server is gone.
    let (reply, _) = generate(
        &mut llm,
        "hi",
        &sampling,
        &AtomicBool::new(false),
        &mut |_| {},
    );
    let err = reply.expect_err("no server").to_string();
    assert!(err.contains("connection refused"), "{err}");
}

#[test]
fn wrong_port_silent_server_and_http_errors_are_one_line() {
    let _one = one_at_a_time();
    // Nothing listens: refused at once.
    let started = Instant::now();
    let port = server::free_port();
    let err = RemoteLlm::connect(&RemoteOptions::new(format!("http://127.0.0.1:{port}")))
        .err()
        .expect("no server")
        .to_string();
    assert!(
        err.contains("connection refused") && err.contains(&port.to_string()),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A server that accepts and never answers: the timeout, not a hang.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        let (mut conn, _) = silent.accept().unwrap();
        let mut sink = [0u8; 4096];
        let _ = conn.read(&mut sink);
        std::thread::sleep(Duration::from_secs(3));
    });
    let mut options = RemoteOptions::new(url);
    options.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = RemoteLlm::connect(&options)
        .err()
        .expect("silent")
        .to_string();
    assert!(err.contains("no answer for"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    holder.join().unwrap();

    // The server's own message for a bad path and for a prompt beyond its context.
    let server = LlamaServer::start("errors", &[]);
    let mut options = RemoteOptions::new(format!("{}/nope/v1", server.url()));
    options.model = Some("any".into());
    let mut llm = RemoteLlm::connect(&options).expect("connects");
    let sampling = Sampling::default();
    let (reply, _) = generate(
        &mut llm,
        "a cat",
        &sampling,
        &AtomicBool::new(false),
        &mut |_| {},
    );
    let err = reply.expect_err("404").to_string();
    assert!(
        err.contains("HTTP 404") && err.contains("File Not Found"),
        "{err}"
    );

    let mut llm = RemoteLlm::connect(&RemoteOptions::new(server.url())).expect("connects");
    let huge = "a very detailed forest ".repeat(2000);
    let (reply, _) = generate(
        &mut llm,
        &huge,
        &sampling,
        &AtomicBool::new(false),
        &mut |_| {},
    );
    let err = reply.expect_err("too long").to_string();
    assert!(err.contains("HTTP 400") && err.contains("context"), "{err}");
}

#[test]
fn tls_with_the_servers_own_certificate() {
    let _one = one_at_a_time();
    let dir = std::env::temp_dir().join(format!("omost-remote-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A team's own CA, and the server's certificate signed by it.
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    for args in [
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=omost-test-ca -keyout ca.key -out ca.pem",
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out server.csr",
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out cert.pem",
    ] {
        let args: Vec<String> = args
            .split(' ')
            .map(|a| match a {
                "ca.key" | "ca.pem" | "key.pem" | "server.csr" | "cert.pem" | "san.ext" => path(a),
                other => other.to_owned(),
            })
            .collect();
        let o = Command::new("openssl")
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("openssl (scripts/setup installs it)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (ca, cert, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    let server = LlamaServer::start(
        "tls",
        &[
            "--ssl-key-file",
            key.to_str().unwrap(),
            "--ssl-cert-file",
            cert.to_str().unwrap(),
        ],
    );
    let url = format!("https://localhost:{}", server.port);

    // Not trusted without its certificate.
    let err = RemoteLlm::connect(&RemoteOptions::new(url.clone()))
        .err()
        .expect("untrusted")
        .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    let mut options = RemoteOptions::new(url);
    options.ca_file = Some(ca);
    let mut llm = RemoteLlm::connect(&options).expect("TLS connects");
    let sampling = free_form(8);
    let (reply, streamed) = generate(
        &mut llm,
        "hi",
        &sampling,
        &AtomicBool::new(false),
        &mut |_| {},
    );
    let reply = reply.expect("a reply over TLS");
    assert!(!streamed.is_empty());
    assert_eq!(reply.stats.stop, StopReason::Length);
}
