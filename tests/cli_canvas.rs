//! `omost canvas …` as a user runs it: the real binary, real files, bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use omost_tui::canvas;

fn omost(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("COLORTERM")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("omost runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("writes stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("omost finishes")
}

fn dragon() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/dragon.md")
        .to_string_lossy()
        .into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 stderr")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omost-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn inspect_json_is_the_comfyui_condition_list() {
    let o = omost(&["canvas", "inspect", &dragon(), "--json"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let conds: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let conds = conds.as_array().expect("array");
    assert_eq!(conds.len(), 5);
    assert_eq!(conds[0]["rect"], serde_json::json!([0, 90, 0, 90]));
    assert_eq!(conds[0]["color"], serde_json::json!([47, 79, 79]));
    assert_eq!(conds[1]["rect"], serde_json::json!([0, 45, 0, 90]));
    assert_eq!(conds[4]["prefixes"][1], "A debris-covered battlefield.");
}

#[test]
fn inspect_text_reads_stdin() {
    let reply = std::fs::read(dragon()).expect("dragon");
    let o = omost(&["canvas", "inspect", "-"], Some(&reply));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("global\n  rect [0, 90, 0, 90]  color darkslategray (47, 79, 79)"),
        "{text}"
    );
    assert!(text.contains("region 3 (on the top, no offset, a large horizontal area; distance 10)"));
}

#[test]
fn fmt_is_canonical_and_idempotent() {
    let first = omost(&["canvas", "fmt", &dragon()], None);
    assert!(first.status.success(), "{}", stderr(&first));
    let code = stdout(&first);
    assert!(code
        .starts_with("# Initialize the canvas\ncanvas = Canvas()\n\n# Set a global description"));
    let second = omost(&["canvas", "fmt", "-"], Some(code.as_bytes()));
    assert_eq!(stdout(&second), code);
    let original =
        canvas::parse(&std::fs::read_to_string(dragon()).expect("dragon")).expect("parses");
    assert_eq!(
        canvas::parse(&code).expect("reparses").canvas,
        original.canvas
    );
    // JSON round trip through the CLI too.
    let json = omost(&["canvas", "fmt", &dragon(), "--json"], None);
    let back = omost(&["canvas", "fmt", "-"], Some(&json.stdout));
    assert_eq!(stdout(&back), code);
}

#[test]
fn sketch_writes_a_scaled_png() {
    let dir = temp_dir("sketch");
    let out = dir.join("sketch.png");
    let o = omost(
        &[
            "canvas",
            "sketch",
            &dragon(),
            "-o",
            out.to_str().expect("path"),
            "--scale",
            "4",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let decoder = png::Decoder::new(std::fs::File::open(&out).expect("png exists"));
    let mut reader = decoder.read_info().expect("valid PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("frame");
    assert_eq!((info.width, info.height), (360, 360));
    let sketch = canvas::parse(&std::fs::read_to_string(dragon()).expect("dragon"))
        .expect("parses")
        .canvas
        .sketch()
        .expect("sketch");
    for (x, y) in [(0, 0), (45, 45), (89, 89), (10, 60)] {
        let k = (y * 4 * 360 + x * 4) * 3;
        assert_eq!(buf[k..k + 3], sketch.pixel(x, y), "pixel {x},{y}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn grid_plain_and_coloured() {
    let plain = omost(
        &[
            "canvas",
            "grid",
            &dragon(),
            "--columns",
            "30",
            "--color",
            "never",
        ],
        None,
    );
    assert!(plain.status.success());
    let text = stdout(&plain);
    assert!(!text.contains('\x1b'));
    assert!(text.contains(" 3 A stormy sky"), "{text}");
    assert!(text.contains(
        "2 in the center, no offset, a large square area, distance 7  firebrick  A mighty dragon."
    ));
    let truecolor = stdout(&omost(
        &["canvas", "grid", &dragon(), "--color", "truecolor"],
        None,
    ));
    assert!(
        truecolor.contains("\x1b[48;2;25;25;112m"),
        "midnightblue sky"
    );
    let palette = stdout(&omost(
        &["canvas", "grid", &dragon(), "--color", "256"],
        None,
    ));
    assert!(palette.contains("\x1b[48;5;") && !palette.contains("48;2;"));
    // Not a terminal: auto means plain.
    let auto = stdout(&omost(&["canvas", "grid", &dragon()], None));
    assert!(!auto.contains('\x1b'));
}

/// Every bad input: exit code 2 (1 for a failed write), one line on stderr, no panic.
#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let dir = temp_dir("bad");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("fixture");
        p.to_string_lossy().into_owned()
    };
    let good = std::fs::read_to_string(dragon()).expect("dragon");
    let cut = write("cut.md", &good.as_bytes()[..good.len() / 2]);
    let syntax = write(
        "syntax.py",
        b"canvas = Canvas()\ncanvas.set_global_description(description='a' + 'b')\n",
    );
    let colour = write(
        "colour.py",
        b"canvas = Canvas()\ncanvas.set_global_description(description='a', detailed_descriptions=[], tags='', HTML_web_color_name='qqq')\n",
    );
    let no_global = write("noglobal.py", b"canvas = Canvas()\n");
    let not_utf8 = write("latin1.txt", b"canvas = Canvas()\n# caf\xe9\n");
    let empty = write("empty.md", b"");
    let bad_json = write("bad.json", b"{\"global\": 5}");
    let conditions = write("conds.json", b"[{\"rect\": [0, 90, 0, 90]}]");
    let exec = write(
        "exec.py",
        b"canvas = Canvas()\n__import__('os').system('echo pwned')\n",
    );
    let missing = dir.join("missing.md").to_string_lossy().into_owned();
    let dir_arg = dir.to_string_lossy().into_owned();
    let dragon = dragon();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["canvas", "inspect", &cut],
            "is never closed (the reply was cut off)",
        ),
        (vec!["canvas", "inspect", &syntax], "line 2:"),
        (
            vec!["canvas", "fmt", &colour],
            "The value [qqq] is not valid!",
        ),
        (
            vec!["canvas", "inspect", &no_global],
            "no global description",
        ),
        (
            vec!["canvas", "sketch", &no_global, "-o", "/tmp/x.png"],
            "no global description",
        ),
        (vec!["canvas", "grid", &not_utf8], "not UTF-8"),
        (
            vec!["canvas", "inspect", &empty],
            "Response does not contain codes!",
        ),
        (vec!["canvas", "inspect", &bad_json], "canvas JSON:"),
        (vec!["canvas", "inspect", &conditions], "condition list"),
        (vec!["canvas", "inspect", &exec], "line 2:1:"),
        (vec!["canvas", "inspect", &missing], "cannot read"),
        (vec!["canvas", "inspect", &dir_arg], "cannot read"),
        (
            vec![
                "canvas",
                "sketch",
                &dragon,
                "-o",
                "/tmp/x.png",
                "--scale",
                "0",
            ],
            "--scale",
        ),
        (
            vec!["canvas", "grid", &dragon, "--columns", "1"],
            "--columns",
        ),
    ];
    for (args, expect) in cases {
        let o = omost(&args, None);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(expect),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"));
    }
    // A write that fails is a runtime failure (exit 1), and leaves no file behind.
    let out = dir.join("no-such-dir/out.png");
    let o = omost(
        &[
            "canvas",
            "sketch",
            &dragon,
            "-o",
            out.to_str().expect("path"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn corrections_are_reported_as_warnings() {
    let code = "canvas = Canvas()\ncanvas.set_global_description(description='a', detailed_descriptions=[], tags='', HTML_web_color_name='Sky Blue')\n";
    let o = omost(&["canvas", "inspect", "-", "--json"], Some(code.as_bytes()));
    assert!(o.status.success());
    assert_eq!(
        stderr(&o).trim(),
        "warning: <stdin>: line 2:103: Automatically corrected [sky blue] -> [skyblue]."
    );
}
