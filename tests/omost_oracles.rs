//! The canvas engine against Omost's own numbers: the oracle files in `../shared/reference/` and the
//! cases recorded from Omost's `canvas.py` by `scripts/oracle/make_canvas_fixtures.py`.

use std::path::PathBuf;

use base64::Engine;
use omost_tui::canvas::{
    self, closest_name, greedy_partition, safe_str, Area, CanvasError, ColorName, Location, Offset,
    Rect,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn reference_dir() -> PathBuf {
    std::env::var_os("OMOST_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("reference")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the oracles live in ../shared/reference; set OMOST_SHARED_DIR to move them)",
            path.display()
        )
    })
}

fn reference_json(name: &str) -> Value {
    serde_json::from_str(&read(reference_dir().join(name))).expect("oracle JSON parses")
}

fn fixture_json(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&read(path)).expect("fixture JSON parses")
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn closest_name_vectors() {
    let vectors = reference_json("omost_test_vectors.json");
    let tables: [(&str, Vec<&str>); 4] = [
        ("location", Location::names().collect()),
        ("offset", Offset::names().collect()),
        ("area", Area::names().collect()),
        ("color", ColorName::names().collect()),
    ];
    let mut checked = 0;
    for key in ["closest_name", "closest_name_ties"] {
        for (table, names) in &tables {
            for case in vectors[key][*table].as_array().expect("cases") {
                let input = case["input"].as_str().expect("input");
                let got = closest_name(input, names.iter().copied())
                    .ok()
                    .map(|r| r.name);
                assert_eq!(got, case["output"].as_str(), "{table} {input:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 50, "only {checked} vectors");
}

#[test]
fn safe_str_and_greedy_partition_vectors() {
    let vectors = reference_json("omost_test_vectors.json");
    for case in vectors["safe_str"].as_array().expect("cases") {
        assert_eq!(
            safe_str(case["input"].as_str().expect("input")),
            case["output"].as_str().expect("output")
        );
    }
    for case in vectors["greedy_partition"].as_array().expect("cases") {
        let lengths: Vec<usize> = case["lengths"]
            .as_array()
            .expect("lengths")
            .iter()
            .map(|v| v.as_u64().expect("length") as usize)
            .collect();
        let bags: Vec<Vec<usize>> =
            greedy_partition(&lengths, case["max_sum"].as_i64().expect("max_sum"))
                .into_iter()
                .map(|bag| bag.into_iter().map(|i| lengths[i]).collect())
                .collect();
        let want: Vec<Vec<usize>> = serde_json::from_value(case["bags"].clone()).expect("bags");
        assert_eq!(bags, want);
    }
}

#[test]
fn all_729_rects() {
    let rects = reference_json("omost_rects.json");
    let rects = rects.as_array().expect("rect list");
    assert_eq!(rects.len(), 729);
    for case in rects {
        let get = |k: &str| case[k].as_str().expect("name");
        let rect = Rect::of(
            Location::from_name(get("location")).expect("location"),
            Offset::from_name(get("offset")).expect("offset"),
            Area::from_name(get("area")).expect("area"),
        );
        let want: [u8; 4] =
            serde_json::from_value(case["rect_top_bottom_left_right"].clone()).expect("rect");
        assert_eq!(rect.to_array(), want, "{case}");
    }
}

#[test]
fn colour_table_in_source_order() {
    let colors = reference_json("omost_colors.json");
    let colors = colors.as_object().expect("colour map");
    let ours: Vec<(&str, [u8; 3])> = ColorName::all().map(|c| (c.name(), c.rgb())).collect();
    let theirs: Vec<(&str, [u8; 3])> = colors
        .iter()
        .map(|(k, v)| (k.as_str(), serde_json::from_value(v.clone()).expect("rgb")))
        .collect();
    assert_eq!(ours, theirs);
}

/// The transcript's replies, in order.
fn transcript_replies() -> Vec<String> {
    let text = read(reference_dir().join("omost_transcript.md"));
    text.split("### Assistant")
        .skip(1)
        .map(|part| part.split("### User").next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn readme_dragon_conditions_and_order() {
    let vectors = reference_json("omost_test_vectors.json");
    let replies = transcript_replies();
    assert_eq!(replies.len(), 2);
    let parsed = canvas::parse(&replies[0]).expect("the dragon reply parses");
    assert!(parsed.warnings.is_empty());
    let conds = parsed.canvas.conditions().expect("processes");
    let want = vectors["readme_dragon_bag_of_conditions"]
        .as_array()
        .expect("conditions");
    assert_eq!(conds.len(), want.len());
    for (got, want) in conds.iter().zip(want) {
        let rect: [u8; 4] = serde_json::from_value(want["rect"].clone()).expect("rect");
        assert_eq!(got.rect.to_array(), rect);
        assert_eq!(got.prefixes, strs(&want["prefixes"]));
        assert_eq!(got.suffixes, strs(&want["suffixes"]));
        let color: [u8; 3] = serde_json::from_value(want["color"].clone()).expect("color");
        assert_eq!(got.color, color);
        assert_eq!(got.distance_to_viewer, want["distance_to_viewer"].as_f64());
    }
    // The revision parses too, and differs.
    let revised = canvas::parse(&replies[1]).expect("the revision parses");
    assert_ne!(revised.canvas, parsed.canvas);
}

/// Omost's message for an error, without our `line:col` prefix.
fn omost_message(e: &CanvasError) -> String {
    match e {
        CanvasError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[test]
fn recorded_omost_cases() {
    let fixture = fixture_json("omost_canvas_cases.json");
    let cases = fixture["cases"].as_array().expect("cases");
    let (mut ok, mut errors) = (0, 0);
    for (k, case) in cases.iter().enumerate() {
        let reply = case["reply"].as_str().expect("reply");
        let result =
            canvas::parse(reply).and_then(|p| Ok((p.canvas.conditions()?, p.canvas.sketch()?)));
        if let Some(want) = case["error"].as_str() {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("case {k}: Omost rejects ({want}) but we accept"));
            assert_eq!(omost_message(&err), want, "case {k}");
            errors += 1;
            continue;
        }
        let (conds, sketch) = result.unwrap_or_else(|e| panic!("case {k}: {e}\n{reply}"));
        let want = case["conditions"].as_array().expect("conditions");
        assert_eq!(conds.len(), want.len(), "case {k}");
        for (got, want) in conds.iter().zip(want) {
            let rect: [u8; 4] = serde_json::from_value(want["rect"].clone()).expect("rect");
            assert_eq!(got.rect.to_array(), rect, "case {k}");
            assert_eq!(got.prefixes, strs(&want["prefixes"]), "case {k}");
            assert_eq!(got.suffixes, strs(&want["suffixes"]), "case {k}");
        }
        let bytes = sketch.rgb_bytes();
        if let Some(full) = case["sketch_base64"].as_str() {
            let want = base64::engine::general_purpose::STANDARD
                .decode(full)
                .expect("base64");
            let first_diff = bytes.iter().zip(&want).position(|(a, b)| a != b);
            assert_eq!(
                first_diff, None,
                "case {k}: sketch differs at byte {first_diff:?}"
            );
        }
        let sha = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(
            sha,
            case["sketch_sha256"].as_str().expect("sha"),
            "case {k}: sketch differs"
        );
        ok += 1;
    }
    assert!(
        ok >= 150 && errors >= 20,
        "{ok} accepted, {errors} rejected"
    );
}
