//! `omost chat` as a user runs it: the real binary, the real test model, sessions on disk, bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use omost_tui::canvas;

/// The tests share two cores: one model at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn test_model() -> String {
    common::test_model().to_string_lossy().into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omost-chat-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn omost(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(args)
        // Keep logs and default session folders inside the test's own folder.
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .output()
        .expect("omost runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn chat_writes_a_canvas_and_a_session_revises_it() {
    let _one = ONE_AT_A_TIME.lock();
    let dir = temp_dir("session");
    let model = test_model();
    let out1 = dir.join("first.json");
    let first = omost(
        &[
            "chat",
            "--llm",
            &model,
            "a castle on a hill",
            "--session",
            "castle",
            "--max-tokens",
            "400",
            "--out",
            out1.to_str().expect("path"),
        ],
        &dir,
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let stdout = String::from_utf8(first.stdout.clone()).expect("UTF-8");
    assert!(stdout.starts_with("```python\n"), "{stdout}");
    // Figures on stderr, one line.
    let err = stderr(&first);
    assert!(
        err.contains("prompt ") && err.contains("tok/s") && err.contains("first token"),
        "{err}"
    );
    let first_canvas = canvas::parse(&std::fs::read_to_string(&out1).expect("canvas written"))
        .expect("valid JSON canvas");

    let out2 = dir.join("second.py");
    let second = omost(
        &[
            "chat",
            "--llm",
            &model,
            "add a dragon in the sky",
            "--session",
            "castle",
            "--max-tokens",
            "400",
            "--out",
            out2.to_str().expect("path"),
            "--seed",
            "9",
        ],
        &dir,
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let code = std::fs::read_to_string(&out2).expect("code written");
    assert!(
        code.starts_with("# Initialize the canvas\ncanvas = Canvas()\n"),
        "canonical code"
    );
    let second_canvas = canvas::parse(&code).expect("valid code").canvas;
    assert_ne!(second_canvas, first_canvas.canvas);

    let session: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("data/omost-tui/sessions/castle.json"))
            .expect("session saved"),
    )
    .expect("JSON");
    let turns = session["conversation"]["turns"].as_array().expect("turns");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1]["user"], "add a dragon in the sky");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn free_form_replies_with_no_grammar() {
    let _one = ONE_AT_A_TIME.lock();
    let dir = temp_dir("free");
    let o = omost(
        &[
            "chat",
            "--llm",
            &test_model(),
            "What is the capital of France?",
            "--no-grammar",
            "--temperature",
            "0",
            "--max-tokens",
            "40",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).trim().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_chat_input_is_one_line_and_exit_2() {
    let _one = ONE_AT_A_TIME.lock();
    let dir = temp_dir("bad");
    let not_model = dir.join("notes.gguf");
    std::fs::write(&not_model, "hello").expect("write");
    let damaged = dir.join("damaged.json");
    std::fs::write(&damaged, "{oops").expect("write");
    let model = test_model();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["chat", "--llm", not_model.to_str().expect("path"), "a cat"],
            "not a GGUF file",
        ),
        (
            vec!["chat", "--llm", "/no/such/model.gguf", "a cat"],
            "No such file",
        ),
        (vec!["chat", "--llm", &model, "   "], "the prompt is empty"),
        (
            vec![
                "chat",
                "--llm",
                &model,
                "a cat",
                "--session",
                damaged.to_str().expect("path"),
            ],
            "is damaged",
        ),
        (
            vec!["chat", "--llm", &model, "a cat", "--session", ".bad"],
            "invalid session name",
        ),
    ];
    for (args, expect) in cases {
        let o = omost(&args, &dir);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    // The damaged session was left as it was.
    assert_eq!(std::fs::read_to_string(&damaged).expect("kept"), "{oops");
    std::fs::remove_dir_all(dir).ok();
}
