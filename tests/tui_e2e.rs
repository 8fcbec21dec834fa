//! The terminal app as a person uses it: the real binary inside tmux, with the real test LLM and a
//! tiny random SDXL. Type a prompt, wait for the canvas, edit it by keyboard, render, see the preview
//! and the saved PNG, quit — and the terminal is handed back clean.

mod common;
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let session = format!("omost-e2e-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(format!(
                "COLORTERM=truecolor {command}; echo OMOST-EXITED-$?; sleep 30"
            ))
            .status()
            .expect("tmux runs (scripts/setup installs it)");
        assert!(status.success());
        Tmux { session }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux")
                .args(["send-keys", "-t", &self.session, k])
                .status()
                .unwrap();
            assert!(ok.success());
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn text(&self, text: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-l", text])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn screen(&self, colours: bool) -> String {
        let mut cmd = Command::new("tmux");
        cmd.args(["capture-pane", "-p", "-t", &self.session]);
        if colours {
            cmd.arg("-e");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    }

    /// Waits until the screen contains `needle`.
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.poll_for(needle, timeout, Duration::from_millis(200))
    }

    fn poll_for(&self, needle: &str, timeout: Duration, every: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen(false);
            if s.contains(needle) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for `{needle}`; the screen:\n{s}"
            );
            std::thread::sleep(every);
        }
    }

    /// Sends `key` and measures how long until `needle` is on the screen (printed, not asserted: a
    /// figure for the notes on how the app responds while the LLM or the renderer works).
    fn latency(&self, key: &str, needle: &str) -> Duration {
        let start = Instant::now();
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, key])
            .status()
            .unwrap();
        assert!(ok.success());
        self.poll_for(needle, Duration::from_secs(10), Duration::from_millis(2));
        start.elapsed()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "png"))
                .collect()
        })
        .unwrap_or_default()
}

/// One app at a time: the tests measure how quickly keys show.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn chat_edit_render_quit_in_tmux() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("omost-tui-e2e-{}", std::process::id()));
    let images = dir.join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_omost");
    assert!(Command::new(bin)
        .args(["dev", "tiny-sdxl"])
        .arg(&dir)
        .status()
        .unwrap()
        .success());
    let command = format!(
        "XDG_STATE_HOME={state} XDG_DATA_HOME={data} XDG_CONFIG_HOME={data} {bin} --llm {llm} --sdxl {sdxl} --images {images} --width 128 --height 128 --steps 4",
        state = dir.join("state").display(),
        data = dir.join("data").display(),
        llm = common::test_model().display(),
        sdxl = dir.join("diffusers").display(),
        images = images.display(),
    );
    let tmux = Tmux::start("local", 140, 42, &command);
    tmux.wait_for("LLM SmolLM2", Duration::from_secs(120));
    tmux.wait_for("SDXL diffusers", Duration::from_secs(60));

    // Ask for a canvas; the grammar makes the small test model write a valid one.
    tmux.text("a red boat on a calm sea");
    tmux.keys(&["Enter"]);
    tmux.wait_for("omost is writing", Duration::from_secs(30));
    // Typing while the reply streams: the key shows at once (then is taken back).
    let typing = tmux.latency("z", "┃z▏");
    tmux.keys(&["BSpace"]);
    println!(
        "key to screen while the LLM streams: {} ms",
        typing.as_millis()
    );
    let s = tmux.wait_for("canvas v2", Duration::from_secs(240));
    assert!(s.contains("Canvas v2"), "{s}");

    // Keyboard revision: to the canvas, add a region, move it left, undo the move.
    tmux.keys(&["Tab", "n"]);
    tmux.wait_for("added a region", Duration::from_secs(5));
    tmux.keys(&["H"]);
    tmux.wait_for("moved New region on the left", Duration::from_secs(5));
    tmux.keys(&["u"]);
    tmux.wait_for("undo: canvas v3", Duration::from_secs(5));
    // The grid is painted in colour (truecolor background escapes).
    assert!(
        tmux.screen(true).contains("\x1b[48;2;"),
        "no colour in the grid"
    );

    // Render and see it.
    tmux.keys(&["r"]);
    tmux.wait_for("rendering", Duration::from_secs(10));
    let help = tmux.latency("?", "any other key closes");
    tmux.keys(&["x"]);
    println!("key to screen while rendering: {} ms", help.as_millis());
    let s = tmux.wait_for("saved ", Duration::from_secs(120));
    assert!(s.contains("Preview 1/1"), "{s}");
    let saved = pngs(&images);
    assert_eq!(saved.len(), 1, "{saved:?}");
    let bytes = std::fs::read(&saved[0]).unwrap();
    let chunks = omost_tui::render::metadata::read_text_chunks(&bytes).unwrap();
    let canvas_json = &chunks
        .iter()
        .find(|(k, _)| k == "omost-canvas")
        .expect("canvas in the PNG")
        .1;
    let canvas = omost_tui::canvas::parse(canvas_json).unwrap().canvas;
    assert!(canvas
        .regions
        .iter()
        .any(|r| r.description == "New region."));

    // Quit from the canvas pane; the shell sees a clean exit.
    tmux.keys(&["q"]);
    let s = tmux.wait_for("OMOST-EXITED-", Duration::from_secs(10));
    assert!(s.contains("OMOST-EXITED-0"), "{s}");
    drop(tmux);

    // The session was saved as we went: resume it and find it intact.
    let sessions: Vec<PathBuf> = std::fs::read_dir(dir.join("data/omost-tui/sessions"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    // The config file turns the mouse on and rebinds quit.
    std::fs::write(
        dir.join("data/omost-tui/config.toml"),
        "mouse = true\n[keys]\nquit = \"f10\"\n",
    )
    .unwrap();
    let tmux = Tmux::start("local", 140, 42, &format!("{command} --resume"));
    let s = tmux.wait_for("Canvas v3", Duration::from_secs(60));
    assert!(s.contains("a red boat on a calm sea"), "{s}");
    assert!(s.contains("Preview 1/1"), "{s}");
    assert!(s.contains("New region"), "{s}");
    // The session picker lists it.
    tmux.keys(&["C-o"]);
    let s = tmux.wait_for("Open a session", Duration::from_secs(5));
    assert!(
        s.contains("1 turns · 4 canvas versions · a red boat on a calm sea"),
        "{s}"
    );
    tmux.keys(&["Escape"]);
    // A click on the preview pane (an SGR mouse press and release at column 120, row 10) focuses it,
    // so `s` opens the settings instead of typing; the help shows the rebound quit.
    tmux.text("\x1b[<0;120;10M\x1b[<0;120;10m");
    tmux.keys(&["s"]);
    tmux.wait_for("Render settings", Duration::from_secs(5));
    tmux.keys(&["Escape", "?"]);
    tmux.wait_for("F10  quit", Duration::from_secs(5));
    tmux.keys(&["x", "q"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !tmux.screen(false).contains("OMOST-EXITED-"),
        "q is no longer quit"
    );
    // Delete a region, then open the saved PNG (Ctrl-P): its canvas comes back as a new version.
    tmux.keys(&["Tab", "Tab", "j", "x"]);
    tmux.wait_for("v4 · deleted", Duration::from_secs(5));
    tmux.keys(&["C-p"]);
    tmux.wait_for("Open a PNG made by omost", Duration::from_secs(5));
    tmux.text(saved[0].to_str().unwrap());
    tmux.keys(&["Enter"]);
    let name = saved[0].file_name().unwrap().to_str().unwrap();
    tmux.wait_for(&format!("v5 · opened {name}"), Duration::from_secs(5));
    tmux.keys(&["F10"]);
    let s = tmux.wait_for("OMOST-EXITED-", Duration::from_secs(10));
    assert!(s.contains("OMOST-EXITED-0"), "{s}");
}

#[test]
fn chat_with_a_remote_server_in_tmux() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = server::LlamaServer::start("tui", &[]);
    let dir = std::env::temp_dir().join(format!("omost-tui-e2e-remote-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let command = format!(
        "XDG_STATE_HOME={d} XDG_DATA_HOME={d} XDG_CONFIG_HOME={d} {bin} --llm-url {url}/v1",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_omost"),
        url = server.url(),
    );
    let tmux = Tmux::start("remote", 140, 42, &command);
    let s = tmux.wait_for("llama.cpp server, grammar on", Duration::from_secs(30));
    assert!(
        s.contains(&format!("at http://127.0.0.1:{}", server.port)),
        "{s}"
    );
    tmux.text("a red boat on a calm sea");
    tmux.keys(&["Enter"]);
    tmux.wait_for("omost is writing", Duration::from_secs(30));
    let typing = tmux.latency("z", "┃z▏");
    tmux.keys(&["BSpace"]);
    println!(
        "key to screen while a remote server streams: {} ms",
        typing.as_millis()
    );
    let s = tmux.wait_for("canvas v2", Duration::from_secs(120));
    assert!(s.contains("Canvas v2"), "{s}");
    tmux.keys(&["Tab", "q"]);
    let s = tmux.wait_for("OMOST-EXITED-", Duration::from_secs(10));
    assert!(s.contains("OMOST-EXITED-0"), "{s}");
}
