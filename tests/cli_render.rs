//! `omost render` as a user runs it: the real binary on the tiny random SDXL in both file layouts,
//! PNG metadata, the hi-res fix and sketch start, Ctrl-C, and bad input (one line, nothing written).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn omost(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_omost"));
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("omost runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn dragon() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/dragon.md")
        .to_string_lossy()
        .into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omost-render-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The tiny SDXL written by the binary's own `omost dev tiny-sdxl`.
fn tiny() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("tiny");
        let o = omost(&["dev", "tiny-sdxl", dir.to_str().unwrap()], &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    })
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn render(sdxl: &Path, out: &Path, extra: &[&str]) -> Output {
    let dragon = dragon();
    let mut args = vec!["render", &dragon, "--sdxl", s(sdxl), "-o", s(out)];
    args.extend_from_slice(&["--width", "64", "--height", "64", "--steps", "3"]);
    args.extend_from_slice(extra);
    omost(&args, &[])
}

fn decode(png_path: &Path) -> (u32, u32, Vec<u8>, Vec<(String, String)>) {
    let bytes = std::fs::read(png_path).expect("png written");
    let chunks = omost_tui::render::metadata::read_text_chunks(&bytes).expect("text chunks");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf, chunks)
}

#[test]
fn both_layouts_render_the_same_image_with_metadata() {
    let dir = temp_dir("layouts");
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    let o = render(&tiny().join("diffusers"), &a, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("step 3/3"), "{}", stderr(&o));
    let o = render(&tiny().join("tiny-sdxl.safetensors"), &b, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (wa, ha, pa, meta) = decode(&a);
    let (_, _, pb, _) = decode(&b);
    assert_eq!((wa, ha), (64, 64));
    assert_eq!(pa, pb, "diffusers folder and single file differ");
    let pixels: std::collections::HashSet<&u8> = pa.iter().collect();
    assert!(pixels.len() > 16, "a flat image");

    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} chunk"))
    };
    let params = get("parameters");
    assert!(
        params.starts_with("A fierce battle between warriors and a dragon."),
        "{params}"
    );
    assert!(
        params.contains(
            "\nNegative prompt: lowres, bad anatomy, bad hands, cropped, worst quality\n"
        ),
        "{params}"
    );
    assert!(
        params
            .contains("Steps: 3, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 12345, Size: 64x64"),
        "{params}"
    );
    let canvas = omost_tui::canvas::parse(&get("omost-canvas"))
        .expect("canvas JSON parses")
        .canvas;
    let original = omost_tui::canvas::parse(&std::fs::read_to_string(dragon()).unwrap())
        .unwrap()
        .canvas;
    assert_eq!(canvas, original);
    let settings: serde_json::Value =
        serde_json::from_str(&get("omost-render")).expect("settings JSON");
    assert_eq!(settings["seed"], 12345);
    assert_eq!(settings["sampler"], "dpmpp-2m");

    // Another seed, another image; the same seed, the same image.
    let c = dir.join("c.png");
    let o = render(&tiny().join("diffusers"), &c, &["--seed", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(decode(&c).2, pa);
    let o = render(&tiny().join("diffusers"), &c, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(decode(&c).2, pa);
}

#[test]
fn hires_fix_sketch_start_and_other_samplers() {
    let dir = temp_dir("hires");
    let out = dir.join("hires.png");
    let o = render(
        &tiny().join("diffusers"),
        &out,
        &["--hires-scale", "1.5", "--hires-steps", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("hi-res step 2/2"), "{}", stderr(&o));
    // 64 · 1.5 / 64 = 1.5 rounds half-to-even to 2: 128 pixels.
    let (w, h, _, meta) = decode(&out);
    assert_eq!((w, h), (128, 128));
    assert!(meta
        .iter()
        .any(|(k, v)| k == "parameters" && v.contains("Hires upscale: 1.5, Hires steps: 2")));

    for extra in [
        &["--from-sketch", "0.9"][..],
        &["--sampler", "euler"],
        &["--sampler", "dpmpp-2m-sde", "--pooled", "omost"],
    ] {
        let o = render(&tiny().join("diffusers"), &out, extra);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
    }
}

#[test]
fn a_repo_id_resolves_from_the_hugging_face_cache() {
    let hub = temp_dir("hub");
    let repo = hub.join("models--someone--tiny-sdxl");
    let snapshot = repo.join("snapshots/0123abcd");
    std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd\n").unwrap();
    std::os::unix::fs::symlink(tiny().join("diffusers"), &snapshot).unwrap();
    let out = hub.join("out.png");
    let dragon = dragon();
    let args = [
        "render",
        &dragon,
        "--sdxl",
        "someone/tiny-sdxl",
        "-o",
        s(&out),
        "--width",
        "64",
        "--height",
        "64",
        "--steps",
        "1",
    ];
    let o = omost(&args, &[("HF_HUB_CACHE", &hub)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(decode(&out)
        .3
        .iter()
        .any(|(k, v)| k == "parameters" && v.contains("Model: someone/tiny-sdxl")));
    let o = omost(
        &["render", &dragon, "--sdxl", "someone/absent", "-o", s(&out)],
        &[("HF_HUB_CACHE", &hub)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not in the Hugging Face cache"),
        "{}",
        stderr(&o)
    );
}

fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "expected `{needle}` in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn bad_weights_and_settings_are_one_line_errors_and_write_nothing() {
    let dir = temp_dir("bad");
    let out = dir.join("never.png");

    // A truncated single file.
    let full = std::fs::read(tiny().join("tiny-sdxl.safetensors")).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    assert_one_line_error(&render(&truncated, &out, &[]), 2, "truncated.safetensors");

    // A diffusers folder whose UNet lacks a tensor.
    let broken = dir.join("broken");
    for sub in ["unet", "vae", "text_encoder", "text_encoder_2"] {
        std::fs::create_dir_all(broken.join(sub)).unwrap();
        for f in std::fs::read_dir(tiny().join("diffusers").join(sub)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, broken.join(sub).join(f.file_name().unwrap())).unwrap();
        }
    }
    let unet_file = broken.join("unet/diffusion_pytorch_model.safetensors");
    let mut tensors =
        candle_core::safetensors::load(&unet_file, &candle_core::Device::Cpu).unwrap();
    tensors.remove("mid_block.attentions.0.proj_in.weight");
    candle_core::safetensors::save(&tensors, &unet_file).unwrap();
    assert_one_line_error(
        &render(&broken, &out, &[]),
        2,
        "mid_block.attentions.0.proj_in.weight",
    );

    // A misshapen tensor.
    let vae_file = broken.join("vae/diffusion_pytorch_model.safetensors");
    std::fs::copy(
        tiny().join("diffusers/unet/diffusion_pytorch_model.safetensors"),
        &unet_file,
    )
    .unwrap();
    let mut tensors = candle_core::safetensors::load(&vae_file, &candle_core::Device::Cpu).unwrap();
    let t = tensors.remove("decoder.conv_in.weight").unwrap();
    tensors.insert("decoder.conv_in.weight".into(), t.narrow(0, 0, 8).unwrap());
    candle_core::safetensors::save(&tensors, &vae_file).unwrap();
    assert_one_line_error(&render(&broken, &out, &[]), 2, "decoder.conv_in.weight");

    assert_one_line_error(&render(&dir.join("absent"), &out, &[]), 2, "absent");
    assert_one_line_error(
        &render(&tiny().join("diffusers"), &out, &["--width", "100"]),
        2,
        "--width",
    );
    assert_one_line_error(
        &render(&tiny().join("diffusers"), &out, &["--dtype", "f8"]),
        2,
        "--dtype",
    );
    assert_one_line_error(
        &render(
            &tiny().join("diffusers"),
            &dir.join("no/such/dir/x.png"),
            &[],
        ),
        2,
        "does not exist",
    );
    if !cfg!(feature = "cuda") {
        assert_one_line_error(
            &render(&tiny().join("diffusers"), &out, &["--device", "cuda"]),
            2,
            "without CUDA",
        );
    }
    assert!(!out.exists());
}

#[test]
fn ctrl_c_stops_cleanly_and_writes_nothing() {
    let dir = temp_dir("interrupt");
    let out = dir.join("never.png");
    let dragon = dragon();
    let sdxl = tiny().join("diffusers");
    let child = Command::new(env!("CARGO_BIN_EXE_omost"))
        .args([
            "render",
            &dragon,
            "--sdxl",
            s(&sdxl),
            "-o",
            s(&out),
            "--width",
            "256",
            "--height",
            "256",
            "--steps",
            "1000",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("omost runs");
    // Wait for sampling to start, then interrupt.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    assert_one_line_error(&o, 1, "interrupted");
    assert!(!out.exists());
}
