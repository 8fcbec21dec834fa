//! Properties of the canvas engine on generated input: canonical code and JSON parse back to the same
//! canvas, and no input — however mangled — makes the parser panic.

use omost_tui::canvas::{
    self, safe_str, Area, Canvas, ColorName, GlobalDescription, GlobalPrefix, Location, Offset,
    Region,
};
use proptest::prelude::*;

/// Text as an LLM or a user might put in a field: quotes, backslashes, newlines, controls, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z ,.'\"]{0,20}",
        "\\PC{0,12}",
        proptest::collection::vec(
            prop_oneof![
                Just("'".to_owned()),
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("\n".to_owned()),
                Just("\r\t\u{7}\u{0}".to_owned()),
                Just("’".to_owned()),
                Just("\u{2028}\u{feff}".to_owned()),
                Just("'''".to_owned()),
                Just("```python".to_owned()),
                Just("...".to_owned()),
                "[a-z]{1,5}",
            ],
            0..6
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn distance() -> impl Strategy<Value = f64> {
    prop_oneof![
        (1i64..20).prop_map(|i| i as f64),
        (1e-6f64..1e6),
        Just(5.0),
        Just(1e300),
        Just(5e-324)
    ]
}

fn region() -> impl Strategy<Value = Region> {
    (
        (0usize..9, 0usize..9, 0usize..9, 0usize..149, distance()),
        (
            text(),
            proptest::collection::vec(text(), 0..4),
            text(),
            text(),
            text(),
            text(),
        ),
    )
        .prop_map(
            |((l, o, a, c, d), (description, detailed, tags, atmosphere, style, quality))| Region {
                location: Location::from_index(l).expect("location"),
                offset: Offset::from_index(o).expect("offset"),
                area: Area::from_index(a).expect("area"),
                distance_to_viewer: d,
                description,
                detailed_descriptions: detailed,
                tags,
                atmosphere,
                style,
                quality_meta: quality,
                color: ColorName::from_index(c).expect("colour"),
                global_prefix: GlobalPrefix::Current,
            },
        )
}

/// Canvases in every state a program can produce: regions added before the global description, after
/// it, and under an earlier global description that was later replaced.
fn canvas() -> impl Strategy<Value = Canvas> {
    let global = (
        text(),
        proptest::collection::vec(text(), 0..4),
        text(),
        0usize..149,
    )
        .prop_map(|(description, detailed, tags, c)| GlobalDescription {
            description,
            detailed_descriptions: detailed,
            tags,
            color: ColorName::from_index(c).expect("colour"),
        });
    (
        proptest::option::weighted(0.9, global),
        proptest::collection::vec((region(), 0u8..10, text()), 0..7),
        0usize..3,
    )
        .prop_map(|(global, regions, leading_without_prefix)| {
            let current = global.as_ref().map(|g| safe_str(&g.description));
            let regions = regions
                .into_iter()
                .enumerate()
                .map(|(i, (mut r, kind, earlier))| {
                    r.global_prefix = if global.is_none() || i < leading_without_prefix {
                        GlobalPrefix::None
                    } else if kind == 0 && Some(safe_str(&earlier)) != current {
                        GlobalPrefix::Captured(safe_str(&earlier))
                    } else {
                        GlobalPrefix::Current
                    };
                    r
                })
                .collect();
            Canvas { global, regions }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn canonical_code_parses_back_to_the_same_canvas(c in canvas()) {
        let code = canvas::to_code(&c);
        let parsed = canvas::parse(&code).map_err(|e| TestCaseError::fail(format!("{e}\n{code}")))?;
        prop_assert_eq!(&parsed.canvas, &c, "{}", code);
        prop_assert!(parsed.warnings.is_empty());
        // Formatting is idempotent.
        prop_assert_eq!(canvas::to_code(&parsed.canvas), code);
        // Processing the re-parsed canvas gives the same conditions and sketch.
        prop_assert_eq!(parsed.canvas.conditions(), c.conditions());
        prop_assert_eq!(parsed.canvas.sketch(), c.sketch());
    }

    #[test]
    fn json_parses_back_to_the_same_canvas(c in canvas()) {
        let json = canvas::to_json(&c);
        let parsed = canvas::parse(&json).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(&parsed.canvas, &c, "{}", json);
    }

    /// A small in-CI fuzzer: real replies cut, spliced and corrupted must give a canvas or an error —
    /// never a panic — and whatever parses must survive the canonical round trip.
    #[test]
    fn mangled_replies_never_panic(
        seed in 0usize..2,
        cut in 0usize..100_000,
        splice in "\\PC{0,8}|[()\\[\\],='\"\\\\#\n ]{1,4}",
        at in 0usize..100_000,
        drop_len in 0usize..40,
    ) {
        let replies = [include_str!("../examples/dragon.md"), SMALL_REPLY];
        let reply = replies[seed];
        let mut chars: Vec<char> = reply.chars().collect();
        let at = at % (chars.len() + 1);
        let end = (at + drop_len).min(chars.len());
        chars.splice(at..end, splice.chars());
        let cut = cut % (chars.len() + 1);
        for text in [chars.iter().collect::<String>(), chars[..cut].iter().collect::<String>()] {
            if let Ok(parsed) = canvas::parse(&text) {
                let _ = parsed.canvas.conditions();
                let _ = parsed.canvas.sketch();
                let again = canvas::parse(&canvas::to_code(&parsed.canvas)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(again.canvas, parsed.canvas);
            }
        }
    }
}

const SMALL_REPLY: &str = "```python\ncanvas = Canvas()\ncanvas.set_global_description('A', ['b', \"c\"], 't', 'red')\ncanvas.add_local_description('on the left', 'no offset', 'a small square area', 2, 'x', [], '', '', '', '', 'blue')\n```";
