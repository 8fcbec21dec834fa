//! Any text through the whole canvas path: extract, parse, validate, process, emit, re-parse.
//! Must never panic, and whatever parses must survive the canonical round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use omost_tui::canvas;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = canvas::parse(text) else { return };
    let _ = parsed.canvas.conditions();
    let _ = parsed.canvas.sketch();
    let code = canvas::to_code(&parsed.canvas);
    let again = canvas::parse(&code).expect("canonical code parses");
    assert_eq!(again.canvas, parsed.canvas);
    let json = canvas::to_json(&parsed.canvas);
    assert_eq!(canvas::parse(&json).expect("canvas JSON parses").canvas, parsed.canvas);
});
