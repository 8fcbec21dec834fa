//! What the remote engine costs: the same greedy reply from `llama-server` read through our client,
//! timed by us, against the server's own timings for it (client overhead), and against the local
//! engine on the same model and threads in the same process. `cargo bench --bench remote_llm`; without
//! `--bench` (as `cargo test` runs it) one short smoke pass.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use omost_tui::llm::remote::{RemoteLlm, RemoteOptions};
use omost_tui::llm::{
    ChatEngine, Conversation, LlmEvent, LoadOptions, LocalLlm, ReplyStats, Sampling,
};

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/server/mod.rs"]
mod server;

/// One reply timed from outside: time to first text, time from first text to the end, and the
/// engine's own figures.
fn timed(engine: &mut dyn ChatEngine, prompt: &str, sampling: &Sampling) -> (f64, f64, ReplyStats) {
    let started = Instant::now();
    let mut first = None;
    let reply = engine
        .generate(
            &Conversation::default().messages(prompt),
            sampling,
            &AtomicBool::new(false),
            &mut |e| {
                if matches!(e, LlmEvent::Text(_)) && first.is_none() {
                    first = Some(Instant::now());
                }
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let first = first.expect("text came");
    let ttft = (first - started).as_secs_f64() * 1e3;
    let generation = first.elapsed().as_secs_f64() * 1e3;
    (ttft, generation, reply.stats)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, tokens) = if full { (5, 256) } else { (1, 16) };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let sampling = Sampling {
        temperature: 0.0,
        max_tokens: tokens,
        grammar: false,
        ..Sampling::default()
    };
    let prompt = "describe a lighthouse on a cliff at night in great detail";

    let server = server::LlamaServer::start("bench", &[]);
    let mut remote = RemoteLlm::connect(&RemoteOptions::new(server.url())).expect("connects");
    let (mut client_tps, mut server_tps, mut client_ttft, mut server_prompt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // The server's own figures for the reply come back in its stats.
        let (ttft, generation, stats) = timed(&mut remote, prompt, &sampling);
        client_ttft.push(ttft);
        client_tps.push((stats.generated_tokens - 1) as f64 / (generation / 1e3));
        server_prompt.push(stats.prompt_ms);
        server_tps.push(stats.tokens_per_second());
    }
    let (ctps, stps) = (median(client_tps), median(server_tps));
    println!(
        "remote: {ctps:.1} tok/s as our client reads the stream vs {stps:.1} tok/s by llama-server's own timing: {:.2}x; first text after {:.0} ms (server prompt {:.0} ms)",
        ctps / stps,
        median(client_ttft),
        median(server_prompt)
    );
    drop(server);

    let mut local = LocalLlm::load(
        &common::test_model(),
        &LoadOptions {
            threads: Some(threads),
            ..LoadOptions::default()
        },
        |_| true,
    )
    .expect("the test model loads");
    let mut local_tps = Vec::new();
    for _ in 0..rounds {
        local.clear_cache();
        let (_, generation, stats) = timed(&mut local, prompt, &sampling);
        local_tps.push((stats.generated_tokens - 1) as f64 / (generation / 1e3));
    }
    let ltps = median(local_tps);
    println!(
        "local engine: {ltps:.1} tok/s on {threads} threads; remote (llama-server on the same machine, 2 threads) / local: {:.2}x",
        ctps / ltps
    );
}
