//! LLM figures that need one process: time to first token of a follow-up turn with and without KV prefix
//! reuse, and the cost of the canvas grammar. `cargo bench --bench llm_turns` (model: $OMOST_BENCH_LLM,
//! else the test model). Without `--bench` (as `cargo test` runs it) it does one short smoke pass.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use omost_tui::llm::{ChatEngine, Conversation, LoadOptions, LocalLlm, Reply, Sampling};

#[path = "../tests/common/mod.rs"]
mod common;

fn model() -> PathBuf {
    std::env::var_os("OMOST_BENCH_LLM")
        .map(PathBuf::from)
        .unwrap_or_else(common::test_model)
}

fn run(
    llm: &mut LocalLlm,
    conversation: &Conversation,
    prompt: &str,
    sampling: &Sampling,
) -> Reply {
    llm.generate(
        &conversation.messages(prompt),
        sampling,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("generation failed: {e}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, tokens) = if full { (3, 1024) } else { (1, 24) };
    let path = model();
    let mut llm = LocalLlm::load(&path, &LoadOptions::default(), |_| true)
        .unwrap_or_else(|e| panic!("{e} (run scripts/fetch-test-model)"));
    println!("model {} on {} threads", path.display(), llm.info().threads);

    // Follow-up turn: time to first token with the previous turn in the KV cache, and without.
    let sampling = Sampling {
        temperature: 0.0,
        max_tokens: tokens,
        ..Sampling::default()
    };
    let (mut warm, mut cold) = (Vec::new(), Vec::new());
    let (mut warm_read, mut cold_read) = (0, 0);
    for _ in 0..rounds {
        llm.clear_cache();
        let mut conversation = Conversation::default();
        let first = run(
            &mut llm,
            &conversation,
            "generate an image of a cat on a sofa",
            &sampling,
        );
        conversation.push("generate an image of a cat on a sofa", first.text);
        let reused = run(&mut llm, &conversation, "make the cat black", &sampling);
        warm.push(reused.stats.ttft_ms);
        warm_read = reused.stats.evaluated_tokens;
        llm.clear_cache();
        let fresh = run(&mut llm, &conversation, "make the cat black", &sampling);
        cold.push(fresh.stats.ttft_ms);
        cold_read = fresh.stats.evaluated_tokens;
    }
    let (warm, cold) = (median(warm), median(cold));
    println!(
        "follow-up time to first token: {warm:.0} ms with prefix reuse ({warm_read} tokens read) vs {cold:.0} ms without ({cold_read} tokens read): {:.1}x faster",
        cold / warm
    );

    // Grammar cost: the time spent choosing each token, with and without the canvas grammar, as a share
    // of the time per generated token (the replies differ, so whole-reply speeds are not comparable).
    let mut per_token = |grammar: bool| {
        let stats: Vec<_> = (0..rounds)
            .map(|_| {
                llm.clear_cache();
                let s = Sampling {
                    grammar,
                    ..sampling.clone()
                };
                run(
                    &mut llm,
                    &Conversation::default(),
                    "a lighthouse on a cliff at night",
                    &s,
                )
                .stats
            })
            .collect();
        let sampling = median(
            stats
                .iter()
                .map(|s| s.sampling_ms / s.generated_tokens as f64)
                .collect(),
        );
        let total = median(
            stats
                .iter()
                .map(|s| s.generation_ms / s.generated_tokens as f64)
                .collect(),
        );
        (sampling, total)
    };
    let (free, free_total) = per_token(false);
    let (constrained, constrained_total) = per_token(true);
    println!(
        "token choice: {constrained:.3} ms/token with the canvas grammar vs {free:.3} ms/token without; \
         generation {constrained_total:.2} vs {free_total:.2} ms/token: grammar cost {:.1}% of a token",
        (constrained - free) / free_total * 100.0
    );
}
