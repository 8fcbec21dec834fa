//! The CLIP tokenizer and Omost's bagging against `transformers`' CLIPTokenizer and Omost's own packing
//! (`scripts/oracle/make_clip_tokenizer_fixture.py`).

use omost_tui::render::bags::{chunks, padded};
use omost_tui::render::tokenizer::{ClipTokenizer, EOS};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/clip_tokens.json")).expect("fixture")
}

#[test]
fn tokenizes_like_transformers() {
    let tok = ClipTokenizer::new().expect("vocabulary");
    let fixture = fixture();
    let cases = fixture["tokenized"].as_array().expect("cases");
    assert!(cases.len() >= 15);
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let want: Vec<u32> = serde_json::from_value(case["ids"].clone()).expect("ids");
        assert_eq!(tok.encode(text), want, "{text:?}");
    }
}

#[test]
fn packs_the_dragon_like_omost() {
    let tok = ClipTokenizer::new().expect("vocabulary");
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/reference/omost_test_vectors.json"),
        )
        .expect("oracle vectors"),
    )
    .expect("JSON");
    let fixture = fixture();
    let want = fixture["dragon_chunks_clip_l"].as_array().expect("chunks");
    let conditions = vectors["readme_dragon_bag_of_conditions"]
        .as_array()
        .expect("conditions");
    for (cond, want) in conditions.iter().zip(want) {
        let strings =
            |k: &str| -> Vec<String> { serde_json::from_value(cond[k].clone()).expect("strings") };
        let got: Vec<[u32; 77]> = chunks(&tok, &strings("prefixes"), &strings("suffixes"))
            .iter()
            .map(|c| padded(c, EOS))
            .collect();
        let want: Vec<Vec<u32>> = serde_json::from_value(want.clone()).expect("want");
        let got: Vec<Vec<u32>> = got.iter().map(|c| c.to_vec()).collect();
        assert_eq!(got, want);
    }
}
