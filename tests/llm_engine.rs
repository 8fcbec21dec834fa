//! The LLM engine with a real model: SmolLM2-135M-Instruct (fetched by `scripts/fetch-test-model`).
//! It writes nonsense, but with the canvas grammar every reply must be a canvas Omost accepts.

mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use omost_tui::canvas;
use omost_tui::llm::worker::LlmWorker;
use omost_tui::llm::{
    ChatEngine, Conversation, LlmError, LlmEvent, LoadOptions, LocalLlm, Message, Role, Sampling,
    StopReason, SYSTEM_PROMPT,
};

/// The tests share two cores: one model at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn load(opts: LoadOptions) -> LocalLlm {
    LocalLlm::load(&common::test_model(), &opts, |_| true).expect("the test model loads")
}

fn options() -> LoadOptions {
    LoadOptions {
        threads: Some(2),
        ctx: 4096,
        ..LoadOptions::default()
    }
}

fn generate(
    llm: &mut LocalLlm,
    messages: &[Message],
    sampling: &Sampling,
) -> (omost_tui::llm::Reply, String) {
    let mut streamed = String::new();
    let reply = llm
        .generate(messages, sampling, &AtomicBool::new(false), &mut |e| {
            if let LlmEvent::Text(t) = e {
                streamed.push_str(&t);
            }
        })
        .expect("generates");
    (reply, streamed)
}

#[test]
fn renders_the_exact_system_prompt_with_the_models_template_and_others() {
    let _one = ONE_AT_A_TIME.lock();
    let messages = [
        Message::new(Role::System, SYSTEM_PROMPT),
        Message::new(Role::User, "a cat"),
    ];
    let own = load(options());
    assert_eq!(
        own.render(&messages).expect("renders"),
        format!("<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\na cat<|im_end|>\n<|im_start|>assistant\n")
    );
    // The Omost fine-tunes: Llama-3 (omost-llama-3-8b), ChatML (Dolphin), Phi-3 (omost-phi-3-mini).
    let with = |name: &str| {
        load(LoadOptions {
            chat_template: Some(name.into()),
            ..options()
        })
        .render(&messages)
        .expect("renders")
    };
    assert_eq!(
        with("llama3"),
        format!(
            "<|start_header_id|>system<|end_header_id|>\n\n{SYSTEM_PROMPT}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\na cat<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        )
    );
    assert_eq!(
        with("phi3"),
        format!("<|system|>\n{SYSTEM_PROMPT}<|end|>\n<|user|>\na cat<|end|>\n<|assistant|>\n")
    );
    assert_eq!(with("chatml"), own.render(&messages).expect("renders"));
    assert_eq!(SYSTEM_PROMPT.len(), 1269);
}

#[test]
fn the_grammar_accepts_real_omost_replies_token_by_token() {
    let _one = ONE_AT_A_TIME.lock();
    let llm = load(options());
    let transcript = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/omost_transcript.md"),
    )
    .expect("transcript");
    // Each assistant reply is its ```python block (the file has prose after the last one).
    let replies: Vec<&str> = transcript
        .split("### Assistant\n\n")
        .skip(1)
        .map(|p| {
            let start = p.find("```python\n").expect("a code block");
            let end = start + 10 + p[start + 10..].find("\n```").expect("closed") + 4;
            &p[start..end]
        })
        .collect();
    assert_eq!(replies.len(), 2);
    for reply in replies {
        assert!(reply.starts_with("```python\n") && reply.ends_with("```"));
        llm.grammar_check(reply)
            .expect("the grammar accepts the real model's reply");
    }
    // And it rejects what Omost would reject.
    let bad_colour = include_str!("../examples/dragon.md")
        .split("**Assistant:**\n\n")
        .nth(1)
        .expect("reply")
        .trim_end()
        .replace("'darkslategray'", "'dark slate'");
    assert!(llm.grammar_check(&bad_colour).is_err());
}

#[test]
fn every_reply_under_the_grammar_is_a_valid_canvas() {
    let _one = ONE_AT_A_TIME.lock();
    let mut llm = load(options());
    let prompts = [
        "generate an image of the fierce battle of warriors and the dragon",
        "a cat sleeping on a red sofa in a sunny living room",
        "a lighthouse on a cliff at night, stormy sea",
    ];
    let mut valid = 0;
    for prompt in prompts {
        for seed in 0..10 {
            let sampling = Sampling {
                seed,
                max_tokens: 400,
                ..Sampling::default()
            };
            let messages = Conversation::default().messages(prompt);
            let (reply, streamed) = generate(&mut llm, &messages, &sampling);
            assert_eq!(streamed, reply.text, "streamed text is the reply");
            let parsed = canvas::parse(&reply.text)
                .unwrap_or_else(|e| panic!("seed {seed}, {prompt:?}: {e}\n{}", reply.text));
            parsed.canvas.conditions().expect("processes");
            assert_ne!(reply.stats.stop, StopReason::Cancelled);
            valid += 1;
        }
    }
    assert_eq!(valid, 30);
}

#[test]
fn a_second_turn_revises_and_reads_only_the_new_tokens() {
    let _one = ONE_AT_A_TIME.lock();
    let mut llm = load(options());
    let sampling = Sampling {
        max_tokens: 400,
        ..Sampling::default()
    };
    let mut conversation = Conversation::default();
    let first_prompt = "a red fox in a snowy forest";
    let (first, _) = generate(&mut llm, &conversation.messages(first_prompt), &sampling);
    let first_canvas = canvas::parse(&first.text).expect("valid").canvas;
    assert_eq!(first.stats.reused_tokens, 0);
    conversation.push(first_prompt, first.text.clone());

    let (second, _) = generate(
        &mut llm,
        &conversation.messages("make the fox blue"),
        &sampling,
    );
    let second_canvas = canvas::parse(&second.text).expect("valid").canvas;
    assert_ne!(second_canvas, first_canvas, "the canvas was revised");
    assert!(second.stats.prompt_tokens > first.stats.prompt_tokens);
    assert!(
        second.stats.reused_tokens >= first.stats.prompt_tokens,
        "the first turn's prompt and reply stay in the cache: {:?}",
        second.stats
    );
    assert!(
        second.stats.evaluated_tokens < first.stats.evaluated_tokens,
        "{:?} vs {:?}",
        second.stats,
        first.stats
    );
}

#[test]
fn cancel_stops_within_a_token_on_the_worker() {
    let _one = ONE_AT_A_TIME.lock();
    let worker =
        LlmWorker::spawn(|| Ok(Box::new(load(options())) as Box<dyn ChatEngine>)).expect("thread");
    assert!(matches!(worker.events().recv(), Ok(LlmEvent::Ready(_))));
    let sampling = Sampling {
        grammar: false,
        max_tokens: 2000,
        ..Sampling::default()
    };
    worker
        .chat(
            Conversation::default().messages("tell me a very long story"),
            sampling,
        )
        .expect("sent");
    let mut texts = 0;
    loop {
        match worker
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("events flow")
        {
            LlmEvent::Text(_) => {
                texts += 1;
                if texts == 5 {
                    worker.cancel();
                }
            }
            LlmEvent::Done(reply) => {
                assert_eq!(reply.stats.stop, StopReason::Cancelled);
                assert!(reply.stats.generated_tokens <= 7, "{:?}", reply.stats);
                break;
            }
            LlmEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    }
}

#[test]
fn a_long_history_drops_old_turns_and_a_huge_prompt_is_a_clear_error() {
    let _one = ONE_AT_A_TIME.lock();
    let mut llm = load(LoadOptions {
        ctx: 1024,
        ..options()
    });
    let mut conversation = Conversation::default();
    let long = "a very long earlier answer about dragons and castles ".repeat(30);
    for i in 0..4 {
        conversation.push(format!("request {i}"), long.clone());
    }
    let sampling = Sampling {
        max_tokens: 300,
        ..Sampling::default()
    };
    let mut notices = 0;
    let reply = llm
        .generate(
            &conversation.messages("a small boat"),
            &sampling,
            &AtomicBool::new(false),
            &mut |e| {
                if matches!(e, LlmEvent::Notice(_)) {
                    notices += 1;
                }
            },
        )
        .expect("fits after dropping turns");
    assert!(notices >= 1);
    canvas::parse(&reply.text).expect("still a valid canvas");

    let huge = "word ".repeat(2000);
    let err = llm
        .generate(
            &Conversation::default().messages(&huge),
            &sampling,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .expect_err("cannot fit");
    assert!(matches!(err, LlmError::ContextFull { .. }), "{err}");
}

#[test]
fn broken_model_files_are_clear_errors() {
    let _one = ONE_AT_A_TIME.lock();
    let dir = std::env::temp_dir().join(format!("omost-bad-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let real = std::fs::read(common::test_model()).expect("model bytes");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.gguf", vec![], "the file is empty"),
        (
            "text.gguf",
            b"this is not a model\n".to_vec(),
            "not a GGUF file",
        ),
        (
            "header-only.gguf",
            real[..4096].to_vec(),
            "llama.cpp could not load it",
        ),
        (
            "truncated.gguf",
            real[..real.len() * 6 / 10].to_vec(),
            "llama.cpp could not load it",
        ),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        let err = LocalLlm::load(&path, &options(), |_| true)
            .err()
            .expect("must fail");
        let msg = err.to_string();
        assert!(
            msg.contains(expect) && msg.contains(name) && !msg.contains('\n'),
            "{name}: {msg}"
        );
    }
    let missing = LocalLlm::load(&dir.join("missing.gguf"), &options(), |_| true)
        .err()
        .expect("must fail");
    assert!(missing.to_string().contains("No such file"), "{missing}");
    let as_dir = LocalLlm::load(&dir, &options(), |_| true)
        .err()
        .expect("must fail");
    assert!(as_dir.to_string().contains("is a directory"), "{as_dir}");
    std::fs::remove_dir_all(dir).ok();
}
