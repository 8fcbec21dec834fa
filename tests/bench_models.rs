//! The benchmark models, used as the GPU benchmark uses them: `omost dev random-sdxl` writes a diffusers
//! folder our renderer loads and renders (the tiny topology here; the real one's shapes are checked in
//! `sdxl_shapes.rs`), and `omost dev random-gguf` writes a GGUF that llama.cpp loads and `omost chat`
//! writes a canvas with, its tokenizer copied from the test model.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn omost(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(args)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .output()
        .expect("omost runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omost-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn random_sdxl_renders_and_carries_what_diffusers_reads() {
    let dir = temp_dir("sdxl");
    let sdxl = dir.join("sdxl");
    let o = omost(&["dev", "random-sdxl", s(&sdxl), "--tiny"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "tokenizer/merges.txt",
        "tokenizer_2/tokenizer_config.json",
        "unet/config.json",
        "text_encoder_2/model.safetensors",
    ] {
        assert!(sdxl.join(file).is_file(), "{file} missing");
    }
    let vocab: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(sdxl.join("tokenizer/vocab.json")).unwrap())
            .expect("vocab.json");
    assert_eq!(vocab.len(), 49408);
    assert_eq!(vocab["<|endoftext|>"], 49407);
    let merges = std::fs::read_to_string(sdxl.join("tokenizer/merges.txt")).unwrap();
    assert_eq!(merges.lines().count(), 1 + 48894);

    let dragon = format!("{}/examples/dragon.md", env!("CARGO_MANIFEST_DIR"));
    let png = dir.join("out.png");
    let o = omost(
        &[
            "render",
            &dragon,
            "--sdxl",
            s(&sdxl),
            "-o",
            s(&png),
            "--width",
            "64",
            "--height",
            "64",
            "--steps",
            "2",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let image = image::open(&png).expect("a PNG").to_rgb8();
    assert_eq!(image.dimensions(), (64, 64));
    // Random weights still make an image, not a flat fill.
    let first = image.get_pixel(0, 0);
    assert!(image.pixels().any(|p| p != first));

    // The same seed writes the same weights.
    let again = dir.join("again");
    let o = omost(&["dev", "random-sdxl", s(&again), "--tiny"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let weights = "unet/diffusion_pytorch_model.safetensors";
    assert_eq!(
        std::fs::read(sdxl.join(weights)).unwrap(),
        std::fs::read(again.join(weights)).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn random_gguf_loads_in_llama_cpp_and_writes_a_canvas() {
    let dir = temp_dir("gguf");
    let model = dir.join("tiny-random.gguf");
    let vocab = common::test_model();
    let o = omost(
        &[
            "dev",
            "random-gguf",
            s(&model),
            "--shape",
            "tiny",
            "--vocab",
            s(&vocab),
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("49152 tokens, Q4_K_M"),
        "{}",
        stderr(&o)
    );

    let canvas = dir.join("canvas.json");
    let o = omost(
        &[
            "chat",
            "--llm",
            s(&model),
            "a cat on a sofa",
            "--max-tokens",
            "3000",
            "--out",
            s(&canvas),
            "--threads",
            "2",
        ],
        &dir,
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // llama.cpp read the prompt with the copied tokenizer; under the grammar even random weights
    // write a whole canvas, which is what the GPU benchmark times.
    assert!(err.contains("end of turn"), "{err}");
    let text = std::fs::read_to_string(&canvas).expect("canvas written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("canvas JSON");
    assert!(json.is_object(), "{json}");

    // A file without a tokenizer is a one-line error naming it.
    let o = omost(
        &[
            "dev",
            "random-gguf",
            s(&dir.join("x.gguf")),
            "--vocab",
            s(&canvas),
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("canvas.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
