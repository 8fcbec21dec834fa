//! The terminal app: chat with the LLM on the left, the canvas as a coloured grid with its regions in
//! the middle, the preview on the right. State and key handling are pure ([`app`]); this module owns the
//! terminal, the workers (LLM, renderer) and the loop between them.

pub mod app;
pub mod edit;
pub mod input;
pub mod keymap;
pub mod preview;
pub mod settings;
pub mod theme;
pub mod ui;
pub mod versions;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use candle_core::{DType, Device};
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event, KeyCode, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::canvas::Canvas;
use crate::cli::CliError;
use crate::llm::worker::LlmWorker;
use crate::llm::Sampling;
use crate::render::pipeline::Pooled;
use crate::render::worker::{RenderRequest, RenderWorker};
use crate::session::Session;
use app::{App, Command, Models};
use preview::PreviewCache;
use ratatui_image::picker::{Picker, ProtocolType};
use theme::Theme;

/// How the app was started.
pub struct TuiOptions {
    /// The local model or the server, when one is configured.
    pub llm: Option<crate::llm::EngineChoice>,
    pub sdxl: Option<String>,
    pub device: Device,
    pub dtype: DType,
    /// A canvas to start from (reply, code or JSON).
    pub canvas: Option<Canvas>,
    pub theme: Theme,
    /// Where rendered images go (default: beside the session file).
    pub images: Option<PathBuf>,
    /// The session file, loaded when it exists and autosaved after every change.
    pub session: PathBuf,
    /// Render settings to start with.
    pub settings: crate::render::pipeline::RenderSettings,
    /// The negative prompt to start with (an opened PNG's), instead of Omost's.
    pub negative: Option<String>,
    /// Force an image protocol instead of detecting one.
    pub image_protocol: Option<ProtocolType>,
    /// Capture the mouse (wheel scrolls the chat). Off by default: capture stops the terminal's own
    /// select-to-copy.
    pub mouse: bool,
    /// Which keys do what (defaults with the config file's `[keys]`).
    pub keymap: keymap::Keymap,
}

/// The image protocol for the preview. Outside tmux the terminal is asked (escape sequences; needs
/// the alternate screen) and half blocks are used when it does not answer. Inside tmux it is never
/// asked — tmux does not answer for the outer terminal, and a query that times out swallows the user's
/// first keys — so half blocks are used unless `--image-protocol` names one (sent through tmux's
/// passthrough, which needs `set -g allow-passthrough on`).
fn image_picker(forced: Option<ProtocolType>) -> Picker {
    let mut picker = if std::env::var_os("TMUX").is_some() {
        Picker::halfblocks()
    } else {
        Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks())
    };
    if let Some(p) = forced {
        picker.set_protocol_type(p);
    }
    picker
}

/// Whether the terminal says it shows 24-bit colour.
pub fn truecolor() -> bool {
    matches!(
        std::env::var("COLORTERM").as_deref(),
        Ok("truecolor" | "24bit")
    )
}

fn enter(mouse: bool) -> std::io::Result<ratatui::DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    execute!(std::io::stdout(), EnableBracketedPaste)?;
    if mouse {
        execute!(std::io::stdout(), EnableMouseCapture)?;
    }
    Ok(terminal)
}

fn leave() {
    let _ = execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture
    );
    ratatui::restore();
}

/// Runs the app until the user quits.
pub fn run(opts: TuiOptions) -> Result<(), CliError> {
    let _log = crate::logging::init_file_logging();
    let llm = match &opts.llm {
        Some(engine) => {
            let engine = engine.clone();
            Some(
                LlmWorker::spawn(move || engine.start(|_| true))
                    .map_err(|e| CliError::runtime(format!("cannot start the LLM thread: {e}")))?,
            )
        }
        None => None,
    };
    let renderer = match &opts.sdxl {
        Some(sdxl) => Some(
            RenderWorker::spawn(sdxl.clone(), opts.device.clone(), opts.dtype)
                .map_err(|e| CliError::runtime(format!("cannot start the render thread: {e}")))?,
        ),
        None => None,
    };
    let models = Models {
        llm: None,
        sdxl: None,
        llm_loading: llm.is_some(),
        sdxl_loading: renderer.is_some(),
    };
    let session = Session::load(&opts.session).map_err(|e| CliError::input(e.to_string()))?;
    let mut app = match (&session.app, &opts.canvas) {
        (Some(state), None) => App::restore(session.conversation.clone(), state, models)
            .map_err(|e| CliError::input(format!("session {}: {e}", opts.session.display())))?,
        _ => {
            let mut app = App::new(opts.canvas.clone().unwrap_or_default(), models);
            app.conversation = session.conversation.clone();
            app.settings = opts.settings.clone();
            if let Some(negative) = &opts.negative {
                app.negative = negative.clone();
            }
            app
        }
    };
    app.keymap = opts.keymap.clone();
    app.status = format!("session {}", opts.session.display());
    let mut terminal = enter(opts.mouse)
        .map_err(|e| CliError::runtime(format!("cannot set up the terminal: {e}")))?;
    let mut cache = PreviewCache::with_picker(image_picker(opts.image_protocol));
    tracing::info!(protocol = cache.protocol_name(), "image preview");
    let result = event_loop(
        &mut terminal,
        &mut app,
        &opts,
        llm.as_ref(),
        renderer.as_ref(),
        &mut cache,
    );
    leave();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    opts: &TuiOptions,
    llm: Option<&LlmWorker>,
    renderer: Option<&RenderWorker>,
    cache: &mut PreviewCache,
) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::runtime(format!("terminal: {e}"));
    let mut rendered = 0usize;
    let mut saved = String::new();
    let mut session_path = opts.session.clone();
    let mut hits = ui::Hits::default();
    loop {
        autosave(app, &session_path, &mut saved);
        terminal
            .draw(|f| hits = ui::draw(f, app, &opts.theme, cache))
            .map_err(io)?;
        let mut commands = Vec::new();
        if event::poll(Duration::from_millis(40)).map_err(io)? {
            // Take everything that is waiting, so a paste or fast typing costs one frame.
            loop {
                match event::read().map_err(io)? {
                    Event::Key(k) if k.kind != KeyEventKind::Release => {
                        if k.code == KeyCode::Char('z')
                            && k.modifiers.contains(KeyModifiers::CONTROL)
                        {
                            suspend(terminal, opts.mouse).map_err(io)?;
                        } else {
                            commands.extend(app.key(k));
                        }
                    }
                    Event::Paste(text) => app.paste(&text),
                    Event::Mouse(m) => match m.kind {
                        MouseEventKind::ScrollUp => app.scroll_chat(3),
                        MouseEventKind::ScrollDown => app.scroll_chat(-3),
                        MouseEventKind::Down(MouseButton::Left) => {
                            app.click(hits.at(m.column, m.row))
                        }
                        _ => {}
                    },
                    Event::Resize(..) => terminal.clear().map_err(io)?,
                    _ => {}
                }
                if !event::poll(Duration::ZERO).map_err(io)? {
                    break;
                }
            }
        }
        if let Some(w) = llm {
            while let Ok(e) = w.events().try_recv() {
                app.llm_event(e);
            }
        }
        if let Some(w) = renderer {
            while let Ok(e) = w.events().try_recv() {
                app.render_event(e);
            }
        }
        for command in commands {
            match command {
                Command::Quit => {
                    autosave(app, &session_path, &mut saved);
                    return Ok(());
                }
                Command::Chat(messages) => {
                    if let Some(w) = llm {
                        if let Err(e) = w.chat(messages, Sampling::default()) {
                            app.llm_event(crate::llm::LlmEvent::Error(e));
                        }
                    }
                }
                Command::CancelChat => {
                    if let Some(w) = llm {
                        w.cancel();
                    }
                }
                Command::Render {
                    canvas,
                    settings,
                    negative,
                } => {
                    if let Some(w) = renderer {
                        rendered += 1;
                        let stamp = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0);
                        let images = opts
                            .images
                            .clone()
                            .unwrap_or_else(|| session_path.with_extension("").join("images"));
                        let output = images.join(format!("omost-{stamp}-{rendered:03}.png"));
                        let request = RenderRequest {
                            canvas: *canvas,
                            settings: *settings,
                            negative,
                            pooled: Pooled::Projected,
                            output,
                        };
                        if let Err(e) = w.render(request) {
                            app.render_event(crate::render::worker::RenderEvent::Error(e));
                        }
                    }
                }
                Command::CancelRender => {
                    if let Some(w) = renderer {
                        w.cancel();
                    }
                }
                Command::ListSessions => app.show_sessions(crate::session::list_sessions()),
                Command::OpenImage(path) => {
                    let read = std::fs::read(&path)
                        .map_err(|e| crate::fsutil::io_reason(&e))
                        .and_then(|bytes| crate::render::metadata::open_png(&bytes));
                    app.image_opened(path, read);
                }
                Command::OpenSession(path) => {
                    open_session(app, &mut session_path, &path, &mut saved)
                }
                Command::Copy(text) => {
                    copy_osc52(&text);
                    app.status = format!("copied {} lines (OSC 52)", text.lines().count());
                }
            }
        }
    }
}

/// Switches the app to the session at `path` (the current one is already saved).
fn open_session(app: &mut App, current: &mut PathBuf, path: &std::path::Path, saved: &mut String) {
    let opened = Session::load(path)
        .map_err(|e| e.to_string())
        .and_then(|s| match &s.app {
            Some(state) => App::restore(s.conversation.clone(), state, app.models.clone()),
            None => {
                let mut fresh = App::new(Canvas::default(), app.models.clone());
                fresh.conversation = s.conversation.clone();
                Ok(fresh)
            }
        });
    match opened {
        Ok(mut next) => {
            next.status = format!("session {}", path.display());
            next.keymap = app.keymap.clone();
            *app = next;
            *current = path.to_owned();
            saved.clear();
        }
        Err(e) => app.status = format!("cannot open {}: {e}", path.display()),
    }
}

/// Writes the session when it changed since the last write; a failure is shown, never fatal.
fn autosave(app: &mut App, path: &std::path::Path, saved: &mut String) {
    let session = Session {
        format: crate::session::FORMAT,
        conversation: app.conversation.clone(),
        app: Some(app.saved_state()),
    };
    let json = serde_json::to_string(&session).unwrap_or_default();
    if json == *saved {
        return;
    }
    match session.save(path) {
        Ok(()) => *saved = json,
        Err(e) => app.status = format!("could not save the session: {e}"),
    }
}

/// Ctrl-Z: give the terminal back, stop, and take it again when resumed.
fn suspend(terminal: &mut ratatui::DefaultTerminal, mouse: bool) -> std::io::Result<()> {
    leave();
    // SAFETY: raising SIGTSTP on ourselves is what a shell's job control expects; no memory involved.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    *terminal = enter(mouse)?;
    terminal.clear()
}

/// Puts `text` on the clipboard with OSC 52: works over SSH, and in tmux (which forwards it to the
/// outer terminal with `set-clipboard on`).
fn copy_osc52(text: &str) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = out
        .write_all(format!("\x1b]52;c;{encoded}\x07").as_bytes())
        .and_then(|_| out.flush());
}
