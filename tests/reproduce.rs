//! Getting back to an image: `omost render IMAGE.png` re-renders from the canvas and settings the PNG
//! carries (the same pixels without overrides), the canvas commands read a PNG, and `--noise` /
//! `--save-noise` start from and keep the initial noise — including files written by numpy and by
//! Python's `safetensors` (fixtures from `scripts/oracle/make_noise_fixtures.py`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use omost_tui::render::noise_file;

fn omost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omost"))
        .args(args)
        .output()
        .expect("omost runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omost-repro-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The tiny SDXL (diffusers folder) written by the binary's own `omost dev tiny-sdxl`.
fn tiny() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("tiny");
        ok(omost(&["dev", "tiny-sdxl", s(&dir)]));
        dir.join("diffusers")
    })
}

/// Renders the dragon canvas at 64×64 in 3 steps with `extra` options.
fn render_dragon(out: &Path, extra: &[&str]) -> Output {
    let dragon = manifest("examples/dragon.md");
    let mut args = vec!["render", s(&dragon), "--sdxl", s(tiny()), "-o", s(out)];
    args.extend_from_slice(&["--width", "64", "--height", "64", "--steps", "3"]);
    args.extend_from_slice(extra);
    omost(&args)
}

fn pixels(path: &Path) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::Cursor::new(std::fs::read(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    buf
}

fn stored(path: &Path) -> omost_tui::render::metadata::StoredRender {
    omost_tui::render::metadata::read_render(&std::fs::read(path).unwrap()).unwrap()
}

fn chunk(path: &Path, key: &str) -> String {
    omost_tui::render::metadata::read_text_chunks(&std::fs::read(path).unwrap())
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key}"))
        .1
}

fn assert_one_line_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "expected `{needle}` in: {err}");
}

#[test]
fn a_png_re_renders_identically_and_takes_overrides() {
    let dir = temp_dir("reopen");
    let first = dir.join("first.png");
    // The SDE sampler draws noise at every step: the seed must drive the whole run again.
    ok(render_dragon(
        &first,
        &["--sampler", "dpmpp-2m-sde", "--cfg", "4.5", "--seed", "77"],
    ));

    // No --sdxl, no settings: all from the PNG.
    let again = dir.join("again.png");
    let o = ok(omost(&["render", s(&first), "-o", s(&again)]));
    assert!(
        stderr(&o).contains("64×64 · 3 steps · cfg 4.5 · seed 77 · dpmpp-2m-sde"),
        "{}",
        stderr(&o)
    );
    assert_eq!(pixels(&again), pixels(&first), "the re-render differs");
    assert_eq!(stored(&again), stored(&first));
    assert_eq!(chunk(&again, "omost-canvas"), chunk(&first, "omost-canvas"));

    // One override; everything else stays.
    let fewer = dir.join("fewer.png");
    ok(omost(&[
        "render",
        s(&first),
        "-o",
        s(&fewer),
        "--steps",
        "2",
    ]));
    assert_ne!(pixels(&fewer), pixels(&first));
    let (a, b) = (stored(&first), stored(&fewer));
    assert_eq!(b.settings.steps, 2);
    assert_eq!(
        (
            b.settings.seed,
            b.settings.cfg,
            b.settings.sampler,
            &b.negative
        ),
        (
            a.settings.seed,
            a.settings.cfg,
            a.settings.sampler,
            &a.negative
        )
    );

    // The canvas commands read the PNG's canvas.
    let dragon = manifest("examples/dragon.md");
    for args in [["canvas", "fmt"], ["canvas", "inspect"]] {
        let from_png = ok(omost(&[args[0], args[1], s(&first)])).stdout;
        let from_reply = ok(omost(&[args[0], args[1], s(&dragon)])).stdout;
        assert_eq!(from_png, from_reply, "{args:?}");
    }
    ok(omost(&["canvas", "grid", s(&first), "--color", "never"]));
    let sketch = dir.join("sketch.png");
    ok(omost(&["canvas", "sketch", s(&first), "-o", s(&sketch)]));
    // A PNG without our metadata (the sketch is one) is a clear error, for every command.
    assert_one_line_error(
        &omost(&["canvas", "inspect", s(&sketch)]),
        "no omost-canvas metadata",
    );
    assert_one_line_error(
        &omost(&["render", s(&sketch), "-o", s(&dir.join("x.png"))]),
        "no omost-canvas metadata",
    );
    assert!(!dir.join("x.png").exists());
}

#[test]
fn saved_noise_given_back_gives_the_same_pixels() {
    let dir = temp_dir("noise");
    for name in ["start.npy", "start.safetensors"] {
        let (noise, seeded, given) = (
            dir.join(name),
            dir.join("seeded.png"),
            dir.join("given.png"),
        );
        ok(render_dragon(&seeded, &["--save-noise", s(&noise)]));
        let read = noise_file::decode(&std::fs::read(&noise).unwrap()).unwrap();
        assert_eq!(read.shape, [1, 4, 8, 8]);
        // Another seed: only the given noise can make the same image (DPM++ 2M draws nothing else).
        ok(render_dragon(
            &given,
            &["--noise", s(&noise), "--seed", "999"],
        ));
        assert_eq!(pixels(&given), pixels(&seeded), "{name}");
        let record = stored(&given).noise.expect("the noise is recorded");
        let sha = noise_file::sha256_hex(&std::fs::read(&noise).unwrap());
        assert_eq!((record.file.as_str(), &record.sha256), (name, &sha));
        assert!(chunk(&given, "parameters").contains(&format!("Initial noise: sha256 {sha}")));

        // Re-rendering that PNG without the noise says it cannot be the same.
        let o = ok(omost(&["render", s(&given), "-o", s(&dir.join("re.png"))]));
        assert!(
            stderr(&o).contains("started from an external noise"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn noise_written_by_numpy_and_python_safetensors_loads() {
    let expected: Vec<f32> = (0..256).map(|i| ((i % 17) - 8) as f32 / 8.0).collect();
    let numpy = manifest("tests/fixtures/noise/numpy.npy");
    let python = manifest("tests/fixtures/noise/python.safetensors");
    for path in [&numpy, &python] {
        let noise = noise_file::decode(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(noise.shape, [1, 4, 8, 8], "{path:?}");
        assert_eq!(noise.values, expected, "{path:?}");
    }
    // What we write is what numpy writes, byte for byte.
    let ours = noise_file::encode(
        &noise_file::Noise {
            shape: vec![1, 4, 8, 8],
            values: expected,
        },
        noise_file::Format::Npy,
    )
    .unwrap();
    assert_eq!(ours, std::fs::read(&numpy).unwrap());

    let dir = temp_dir("fixtures");
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    ok(render_dragon(&a, &["--noise", s(&numpy)]));
    ok(render_dragon(&b, &["--noise", s(&python)]));
    assert_eq!(pixels(&a), pixels(&b));

    // Wrong dtype, wrong shape, not a tensor file: one line each, nothing written.
    let out = dir.join("never.png");
    assert_one_line_error(
        &render_dragon(
            &out,
            &["--noise", s(&manifest("tests/fixtures/noise/float64.npy"))],
        ),
        "<f8 in the .npy file; expected float32",
    );
    let dragon = manifest("examples/dragon.md");
    assert_one_line_error(
        &omost(&[
            "render",
            s(&dragon),
            "--sdxl",
            s(tiny()),
            "-o",
            s(&out),
            "--width",
            "128",
            "--height",
            "64",
            "--noise",
            s(&numpy),
        ]),
        "shape [1, 4, 8, 8] does not fit a 128×64 render: expected [1, 4, 8, 16]",
    );
    assert_one_line_error(
        &render_dragon(&out, &["--noise", s(&manifest("examples/dragon.md"))]),
        "neither a .npy nor a safetensors file",
    );
    assert!(!out.exists());
}
