//! The app's state and everything a key, a paste or a worker event does to it — pure: no terminal, no
//! threads. Side effects (start a reply, render, copy) come back as [`Command`]s for the event loop.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::edit::{self, Direction, Edit, Field};
use super::input::TextInput;
use super::keymap::{Action, Keymap, Scope};
use super::settings::{Row, Settings};
use super::versions::{Origin, Versions};
use crate::canvas::{self, Canvas, ColorName};
use crate::llm::{Conversation, LlmEvent, Message};
use crate::render::metadata::StoredRender;
use crate::render::pipeline::{RenderSettings, Stage};
use crate::render::sampler::Sampler;
use crate::render::worker::RenderEvent;
use crate::session::{AppState, SavedEntry, SavedSettings, SavedVersion, SessionSummary};

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Chat,
    Canvas,
    Preview,
}

impl Focus {
    fn next(self, step: i32) -> Focus {
        const ORDER: [Focus; 3] = [Focus::Chat, Focus::Canvas, Focus::Preview];
        let i = ORDER.iter().position(|&f| f == self).unwrap_or(0) as i32;
        ORDER[(i + step).rem_euclid(3) as usize]
    }
}

/// What is selected in the canvas pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    Global,
    /// Index into `canvas.regions`.
    Region(usize),
}

impl Selection {
    fn target(self) -> Option<usize> {
        match self {
            Selection::Global => None,
            Selection::Region(i) => Some(i),
        }
    }
}

/// What a mouse click on part of the screen means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    /// A pane or its tab: focus it.
    Pane(Focus),
    /// A region in the grid or a line of the region list: select it.
    Select(Selection),
}

/// Who wrote a chat entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    User,
    Assistant,
    /// The app itself (errors, notices).
    App,
}

/// One entry of the chat pane.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatEntry {
    pub speaker: Speaker,
    pub text: String,
    /// A line under the entry: "✓ canvas v3 · 5 regions", the reason a reply had no canvas, figures.
    pub note: Option<String>,
}

/// A modal overlay that takes the keyboard.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    /// Every key; `scroll` lines scrolled down.
    Help { scroll: usize },
    /// Editing one text field of the selection.
    Field {
        target: Option<usize>,
        field: Field,
        buffer: TextInput,
    },
    /// Fuzzy colour search.
    Colors {
        target: Option<usize>,
        query: String,
        choice: usize,
    },
    /// The render settings panel; `editing` holds the text typed for the selected row.
    Settings { row: usize, editing: Option<String> },
    /// The path of a PNG to open.
    OpenImage { path: TextInput },
    /// Saved sessions to open, newest first.
    Sessions {
        items: Vec<SessionSummary>,
        choice: usize,
    },
}

/// What the LLM or the renderer is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum Activity {
    Idle,
    /// A reply is streaming; characters so far.
    Replying {
        chars: usize,
        started: std::time::Instant,
    },
    Rendering {
        stage: Option<Stage>,
        started: std::time::Instant,
    },
}

/// Side effects for the event loop.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Start a reply.
    Chat(Vec<Message>),
    CancelChat,
    Render {
        canvas: Box<Canvas>,
        settings: Box<RenderSettings>,
        negative: String,
    },
    CancelRender,
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// List the saved sessions (answered with [`App::show_sessions`]).
    ListSessions,
    /// Switch to this session file.
    OpenSession(std::path::PathBuf),
    /// Read this PNG's canvas and settings (answered with [`App::image_opened`]).
    OpenImage(std::path::PathBuf),
    Quit,
}

/// Models known to the app, for the status bar and for what keys can do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Models {
    /// `Some(description)` once loaded; `None` when no LLM is configured.
    pub llm: Option<String>,
    pub sdxl: Option<String>,
    /// Still loading.
    pub llm_loading: bool,
    pub sdxl_loading: bool,
}

/// The whole app state.
pub struct App {
    pub versions: Versions,
    pub selection: Selection,
    pub focus: Focus,
    pub chat: Vec<ChatEntry>,
    pub conversation: Conversation,
    /// The message being typed.
    pub input: TextInput,
    /// Lines scrolled up from the bottom of the chat; 0 follows new text.
    pub chat_scroll: usize,
    /// The chat entry chosen with Alt-↑/↓ (for copying).
    pub selected_message: Option<usize>,
    pub overlay: Option<Overlay>,
    pub activity: Activity,
    pub models: Models,
    /// The last status message.
    pub status: String,
    pub settings: RenderSettings,
    /// The negative prompt for renders.
    pub negative: String,
    /// Pick a new seed for every render.
    pub random_seed: bool,
    /// Images rendered this session, oldest first, and the one shown.
    pub images: Vec<PathBuf>,
    pub shown_image: Option<usize>,
    /// The request the streaming reply answers.
    pending_prompt: Option<String>,
    /// The last prompt sent (Up on an empty input recalls it).
    last_prompt: Option<String>,
    /// The request whose reply failed (retry sends it again).
    failed_prompt: Option<String>,
    /// The canvas was edited by hand since the last reply.
    edited_since_reply: bool,
    /// Ctrl-C was pressed once while idle.
    quit_armed: bool,
    /// Which keys do what.
    pub keymap: Keymap,
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

impl App {
    /// A session starting from `canvas`.
    pub fn new(canvas: Canvas, models: Models) -> Self {
        let selection = if canvas.regions.is_empty() {
            Selection::Global
        } else {
            Selection::Region(0)
        };
        App {
            versions: Versions::new(canvas),
            selection,
            focus: Focus::Chat,
            chat: Vec::new(),
            conversation: Conversation::default(),
            input: TextInput::default(),
            chat_scroll: 0,
            selected_message: None,
            overlay: None,
            activity: Activity::Idle,
            models,
            status: String::new(),
            settings: RenderSettings::default(),
            negative: crate::render::pipeline::DEFAULT_NEGATIVE.to_owned(),
            random_seed: false,
            images: Vec::new(),
            shown_image: None,
            pending_prompt: None,
            last_prompt: None,
            failed_prompt: None,
            edited_since_reply: false,
            quit_armed: false,
            keymap: Keymap::default(),
        }
    }

    /// The canvas shown now.
    pub fn canvas(&self) -> &Canvas {
        self.versions.current()
    }

    /// Regions in the order the list shows them: far → near (Omost's layering).
    pub fn region_order(&self) -> Vec<usize> {
        self.canvas().depth_order()
    }

    /// Whether typed characters go into the chat input.
    fn typing(&self) -> bool {
        self.focus == Focus::Chat && self.overlay.is_none()
    }

    /// A pasted text (bracketed paste): into the field being edited or the chat input, never sent.
    pub fn paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        match &mut self.overlay {
            Some(Overlay::Field { buffer, .. }) => buffer.insert(&text),
            Some(Overlay::Colors { query, .. }) => query.push_str(text.trim()),
            Some(Overlay::OpenImage { path }) => path.insert(text.trim()),
            _ => {
                self.focus = Focus::Chat;
                self.input.insert(&text);
            }
        }
    }

    /// Handles one key press.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Command> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && k.code == KeyCode::Char('c') {
            return self.interrupt();
        }
        self.quit_armed = false;
        if let Some(overlay) = self.overlay.take() {
            return self.overlay_key(overlay, k);
        }
        let scope = match self.focus {
            Focus::Chat => None,
            Focus::Canvas => Some(Scope::Canvas),
            Focus::Preview => Some(Scope::Preview),
        };
        match self.keymap.action(&k, scope, self.typing()) {
            Some(action) => self.act(action),
            None if self.typing() => self.input_key(k),
            None => vec![],
        }
    }

    /// Does what a key bound to `action` does.
    fn act(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::NextPane => self.focus = self.focus.next(1),
            Action::PreviousPane => self.focus = self.focus.next(-1),
            Action::Stop => return self.stop(),
            Action::Render => return self.render(),
            Action::Retry => return self.retry(),
            Action::NewChat => return self.new_chat(),
            Action::Sessions if self.ensure_idle() => return vec![Command::ListSessions],
            Action::Sessions => {}
            Action::OpenImage => {
                self.overlay = Some(Overlay::OpenImage {
                    path: TextInput::default(),
                })
            }
            Action::ReuseImage => match self.shown_image.and_then(|i| self.images.get(i)) {
                Some(path) => return vec![Command::OpenImage(path.clone())],
                None => self.status = "no image yet".into(),
            },
            Action::Undo => return self.undo(),
            Action::Redo => return self.redo(),
            Action::CopyCanvas => return vec![Command::Copy(canvas::to_code(self.canvas()))],
            Action::CopyMessage => return self.copy_message(),
            Action::PreviousMessage => self.select_message(-1),
            Action::NextMessage => self.select_message(1),
            Action::ScrollUp => self.scroll_chat(10),
            Action::ScrollDown => self.scroll_chat(-10),
            Action::FocusChat => self.focus = Focus::Chat,
            Action::Settings => {
                self.overlay = Some(Overlay::Settings {
                    row: 0,
                    editing: None,
                })
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Quit => return vec![Command::Quit],
            Action::PreviousImage => self.step_image(-1),
            Action::NextImage => self.step_image(1),
            canvas_action => self.canvas_action(canvas_action),
        }
        vec![]
    }
    /// Ctrl-C: stop what runs; when idle, the second press quits.
    fn interrupt(&mut self) -> Vec<Command> {
        if self.activity != Activity::Idle || self.overlay.is_some() {
            self.quit_armed = false;
            self.overlay = None;
            return self.stop();
        }
        if self.quit_armed {
            return vec![Command::Quit];
        }
        self.quit_armed = true;
        self.status = "press Ctrl-C again to quit".into();
        vec![]
    }

    /// Esc: stop a reply or a render.
    fn stop(&mut self) -> Vec<Command> {
        match self.activity {
            Activity::Replying { .. } => vec![Command::CancelChat],
            Activity::Rendering { .. } => vec![Command::CancelRender],
            Activity::Idle => vec![],
        }
    }

    fn input_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        match k.code {
            KeyCode::Enter if !alt => return self.send(),
            KeyCode::Up if self.input.is_empty() => {
                if let Some(p) = &self.last_prompt {
                    self.input.set(p.clone());
                }
            }
            KeyCode::End if self.input.is_empty() => self.chat_scroll = 0,
            _ => {
                self.input.key(&k);
            }
        }
        vec![]
    }

    /// A left click on `hit` (nothing when it missed everything): focuses the pane, selects the
    /// region; a click closes the help, and waits while another overlay is open.
    pub fn click(&mut self, hit: Option<Hit>) {
        match (&self.overlay, hit) {
            (Some(Overlay::Help { .. }), _) => self.overlay = None,
            (Some(_), _) | (None, None) => {}
            (None, Some(Hit::Pane(focus))) => self.focus = focus,
            (None, Some(Hit::Select(selection))) => {
                self.focus = Focus::Canvas;
                self.selection = selection;
            }
        }
    }

    /// Scrolls the chat by `lines` (positive: back in time).
    pub fn scroll_chat(&mut self, lines: i32) {
        self.chat_scroll = (self.chat_scroll as i64 + lines as i64).max(0) as usize;
    }

    /// Alt-↑/↓: choose a chat entry, starting from the newest.
    fn select_message(&mut self, step: i32) {
        let n = self.chat.len();
        if n == 0 {
            return;
        }
        let current = self.selected_message.map_or(n as i32, |i| i as i32);
        let next = (current + step).clamp(0, n as i32 - 1) as usize;
        self.selected_message = Some(next);
        self.status = format!(
            "message {} of {n} · y (Alt-y while typing) copies it",
            next + 1
        );
    }

    /// Copies the chosen chat entry, or the last reply.
    fn copy_message(&mut self) -> Vec<Command> {
        let entry = match self.selected_message {
            Some(i) => self.chat.get(i),
            None => self
                .chat
                .iter()
                .rev()
                .find(|e| e.speaker == Speaker::Assistant),
        };
        match entry {
            Some(e) => vec![Command::Copy(e.text.clone())],
            None => {
                self.status = "no message to copy".into();
                vec![]
            }
        }
    }

    /// True when nothing runs; otherwise says so in the status line.
    fn ensure_idle(&mut self) -> bool {
        let idle = self.activity == Activity::Idle;
        if !idle {
            let stop = self
                .keymap
                .short(Action::Stop, true)
                .unwrap_or("Ctrl-C".into());
            self.status = format!("busy: {stop} stops the current job");
        }
        idle
    }

    /// Ctrl-N: a new conversation about the current canvas (the LLM is shown it as the user's own).
    fn new_chat(&mut self) -> Vec<Command> {
        if !self.ensure_idle() {
            return vec![];
        }
        self.chat.clear();
        self.selected_message = None;
        self.failed_prompt = None;
        self.conversation = Conversation::default();
        self.edited_since_reply =
            self.canvas().global.is_some() || !self.canvas().regions.is_empty();
        self.status = "new chat; the canvas stays".into();
        vec![]
    }

    /// Ctrl-T: asks again for the last reply (Omost's "retry").
    fn retry(&mut self) -> Vec<Command> {
        if !self.ensure_idle() {
            return vec![];
        }
        // A reply that failed (a cut stream, a server error) was never added to the conversation.
        let request = match self.failed_prompt.take() {
            Some(prompt) => prompt,
            None => match self.conversation.turns.pop() {
                Some(turn) => turn.user,
                None => {
                    self.status = "nothing to retry".into();
                    return vec![];
                }
            },
        };
        // Drop the last exchange from the chat as shown (the reply and its request).
        while let Some(last) = self.chat.pop() {
            if last.speaker == Speaker::User {
                break;
            }
        }
        self.input.set(request);
        self.send()
    }

    /// Sends the input to the LLM.
    fn send(&mut self) -> Vec<Command> {
        let prompt = self.input.text().trim().to_owned();
        if prompt.is_empty() {
            return vec![];
        }
        if self.models.llm.is_none() {
            self.status = if self.models.llm_loading {
                "the LLM is still loading".into()
            } else {
                "no LLM configured: start with --llm MODEL.gguf (or set llm in the config file)"
                    .into()
            };
            return vec![];
        }
        if !self.ensure_idle() {
            return vec![];
        }
        if self.edited_since_reply {
            self.conversation
                .record_canvas_edit(self.versions.current());
            self.edited_since_reply = false;
        }
        let messages = self.conversation.messages(&prompt);
        self.chat.push(ChatEntry {
            speaker: Speaker::User,
            text: prompt.clone(),
            note: None,
        });
        self.chat.push(ChatEntry {
            speaker: Speaker::Assistant,
            text: String::new(),
            note: None,
        });
        self.input.clear();
        self.chat_scroll = 0;
        self.last_prompt = Some(prompt.clone());
        self.failed_prompt = None;
        self.pending_prompt = Some(prompt);
        self.activity = Activity::Replying {
            chars: 0,
            started: std::time::Instant::now(),
        };
        vec![Command::Chat(messages)]
    }

    /// An event from the LLM worker.
    pub fn llm_event(&mut self, event: LlmEvent) {
        match event {
            LlmEvent::Ready(desc) => {
                self.models.llm = Some(desc);
                self.models.llm_loading = false;
            }
            LlmEvent::PromptProgress { done, total } => {
                self.status = format!("reading prompt {done}/{total}")
            }
            LlmEvent::Text(t) => {
                if let Some(e) = self
                    .chat
                    .last_mut()
                    .filter(|e| e.speaker == Speaker::Assistant)
                {
                    e.text.push_str(&t);
                }
                if let Activity::Replying { chars, .. } = &mut self.activity {
                    *chars += t.chars().count();
                }
                self.status.clear();
            }
            LlmEvent::Notice(n) => self.status = n,
            LlmEvent::Done(reply) => {
                self.activity = Activity::Idle;
                let prompt = self.pending_prompt.take().unwrap_or_default();
                let note = match canvas::parse(&reply.text) {
                    Ok(parsed) => {
                        let regions = parsed.canvas.regions.len();
                        self.versions.push(parsed.canvas, Origin::Reply);
                        self.edited_since_reply = false;
                        self.clamp_selection();
                        format!(
                            "✓ canvas v{} · {regions} regions · {} tokens at {:.1} tok/s",
                            self.versions.number(),
                            reply.stats.generated_tokens,
                            reply.stats.tokens_per_second()
                        )
                    }
                    Err(e) => format!(
                        "✗ no canvas in this reply ({e}); the canvas stays v{}",
                        self.versions.number()
                    ),
                };
                if let Some(entry) = self
                    .chat
                    .last_mut()
                    .filter(|e| e.speaker == Speaker::Assistant)
                {
                    entry.text = reply.text.clone();
                    entry.note = Some(note);
                }
                self.conversation.push(prompt, reply.text);
            }
            LlmEvent::Error(e) => {
                let was_replying = matches!(self.activity, Activity::Replying { .. });
                self.activity = Activity::Idle;
                if self.models.llm_loading {
                    self.models.llm_loading = false;
                    self.chat.push(ChatEntry {
                        speaker: Speaker::App,
                        text: format!("the LLM did not load: {e}"),
                        note: None,
                    });
                } else if was_replying {
                    self.failed_prompt = self.pending_prompt.take();
                    if let Some(entry) = self
                        .chat
                        .last_mut()
                        .filter(|e| e.speaker == Speaker::Assistant)
                    {
                        entry.note = Some(format!("✗ {e}"));
                    }
                }
            }
        }
    }

    /// An event from the render worker.
    pub fn render_event(&mut self, event: RenderEvent) {
        match event {
            RenderEvent::Ready(desc) => {
                self.models.sdxl = Some(desc);
                self.models.sdxl_loading = false;
            }
            RenderEvent::Progress(stage) => {
                if let Activity::Rendering { stage: s, .. } = &mut self.activity {
                    *s = Some(stage);
                }
            }
            RenderEvent::Done { output, seconds } => {
                self.activity = Activity::Idle;
                self.status = format!("saved {} ({seconds:.1} s)", output.display());
                self.images.push(output);
                self.shown_image = Some(self.images.len() - 1);
            }
            RenderEvent::Cancelled => {
                self.activity = Activity::Idle;
                self.status = "render stopped".into();
            }
            RenderEvent::Error(e) => {
                self.activity = Activity::Idle;
                if self.models.sdxl_loading {
                    self.models.sdxl_loading = false;
                    self.status = format!("SDXL did not load: {e}");
                } else {
                    self.status = format!("render failed: {e}");
                }
            }
        }
    }

    fn render(&mut self) -> Vec<Command> {
        if self.models.sdxl.is_none() {
            self.status = if self.models.sdxl_loading {
                "SDXL is still loading".into()
            } else {
                "no SDXL model configured: start with --sdxl PATH".into()
            };
            return vec![];
        }
        if !self.ensure_idle() {
            return vec![];
        }
        if let Err(e) = self.canvas().conditions() {
            self.status = format!("cannot render this canvas: {e}");
            return vec![];
        }
        self.activity = Activity::Rendering {
            stage: None,
            started: std::time::Instant::now(),
        };
        if self.random_seed {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            self.settings.seed = crate::render::noise::NoiseRng::new(nanos).next_seed();
        }
        vec![Command::Render {
            canvas: Box::new(self.canvas().clone()),
            settings: Box::new(self.settings.clone()),
            negative: self.negative.clone(),
        }]
    }

    fn step_image(&mut self, step: i32) {
        if let Some(i) = self.shown_image {
            let n = self.images.len() as i32;
            self.shown_image = Some((i as i32 + step).clamp(0, n - 1) as usize);
        }
    }

    fn undo(&mut self) -> Vec<Command> {
        self.status = if self.versions.undo() {
            format!("undo: canvas v{}", self.versions.number())
        } else {
            "nothing to undo".into()
        };
        self.after_version_change();
        vec![]
    }

    fn redo(&mut self) -> Vec<Command> {
        self.status = if self.versions.redo() {
            format!("redo: canvas v{}", self.versions.number())
        } else {
            "nothing to redo".into()
        };
        self.after_version_change();
        vec![]
    }

    fn after_version_change(&mut self) {
        self.edited_since_reply = *self.versions.origin() != Origin::Reply;
        self.clamp_selection();
    }

    fn clamp_selection(&mut self) {
        let n = self.canvas().regions.len();
        if let Selection::Region(i) = self.selection {
            if i >= n {
                self.selection = if n == 0 {
                    Selection::Global
                } else {
                    Selection::Region(n - 1)
                };
            }
        }
    }

    /// Applies a canvas edit as a new version.
    fn edit(&mut self, e: Edit) {
        match edit::apply(self.canvas(), &e) {
            Ok((canvas, message)) => {
                if self.versions.push(canvas, Origin::Edit(message.clone())) {
                    self.edited_since_reply = true;
                }
                self.status = format!("v{} · {message}", self.versions.number());
            }
            Err(why) => self.status = why,
        }
    }

    fn canvas_action(&mut self, action: Action) {
        let order = self.region_order();
        let target = self.selection.target();
        let region_edit = |i: usize| match action {
            Action::MoveLeft => Some(Edit::Move(i, Direction::Left)),
            Action::MoveRight => Some(Edit::Move(i, Direction::Right)),
            Action::MoveUp => Some(Edit::Move(i, Direction::Up)),
            Action::MoveDown => Some(Edit::Move(i, Direction::Down)),
            Action::NextOffset => Some(Edit::CycleOffset(i, 1)),
            Action::PreviousOffset => Some(Edit::CycleOffset(i, -1)),
            Action::NextArea => Some(Edit::CycleArea(i, 1)),
            Action::PreviousArea => Some(Edit::CycleArea(i, -1)),
            Action::Nearer => Some(Edit::Distance(i, -0.5)),
            Action::Farther => Some(Edit::Distance(i, 0.5)),
            Action::Duplicate => Some(Edit::Duplicate(i)),
            Action::Delete => Some(Edit::Delete(i)),
            _ => None,
        };
        match action {
            Action::SelectNext => self.select_step(&order, 1),
            Action::SelectPrevious => self.select_step(&order, -1),
            Action::SelectGlobal => self.selection = Selection::Global,
            Action::NewRegion => {
                self.edit(Edit::NewRegion);
                self.selection = Selection::Region(self.canvas().regions.len().saturating_sub(1));
            }
            Action::Colour => {
                let current = match target {
                    Some(i) => self.canvas().regions.get(i).map(|r| r.color),
                    None => self.canvas().global.as_ref().map(|g| g.color),
                };
                let choice = current.map(|c| c.index()).unwrap_or(0);
                self.overlay = Some(Overlay::Colors {
                    target,
                    query: String::new(),
                    choice,
                });
            }
            Action::Edit => {
                let buffer =
                    TextInput::new(edit::field_text(self.canvas(), target, Field::Description));
                self.overlay = Some(Overlay::Field {
                    target,
                    field: Field::Description,
                    buffer,
                });
            }
            _ => match target {
                Some(i) => {
                    if let Some(e) = region_edit(i) {
                        self.edit(e);
                        self.clamp_selection();
                    }
                }
                None => {
                    let select = self
                        .keymap
                        .short(Action::SelectNext, false)
                        .unwrap_or_default();
                    self.status = format!("select a region first ({select})");
                }
            },
        }
    }

    fn select_step(&mut self, order: &[usize], step: i32) {
        // The list shows the global description first, then regions far → near.
        let mut items = vec![Selection::Global];
        items.extend(order.iter().map(|&i| Selection::Region(i)));
        let pos = items.iter().position(|&s| s == self.selection).unwrap_or(0) as i32;
        self.selection = items[(pos + step).clamp(0, items.len() as i32 - 1) as usize];
    }

    fn overlay_key(&mut self, overlay: Overlay, k: KeyEvent) -> Vec<Command> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match overlay {
            Overlay::Help { scroll } => {
                // Arrows, j/k and PgUp/PgDn scroll; any other key closes it.
                let last = self.keymap.help().len().saturating_sub(1);
                let scroll = match k.code {
                    KeyCode::Down | KeyCode::Char('j') => scroll + 1,
                    KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                    KeyCode::PageDown | KeyCode::Char(' ') => scroll + 10,
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => return vec![],
                };
                self.overlay = Some(Overlay::Help {
                    scroll: scroll.min(last),
                });
            }
            Overlay::Field {
                target,
                field,
                mut buffer,
            } => {
                let fields: &[Field] = if target.is_some() {
                    &Field::ALL
                } else {
                    &Field::ALL[..3]
                };
                let step = |f: Field, s: i32| {
                    let i = fields.iter().position(|&x| x == f).unwrap_or(0) as i32;
                    fields[(i + s).rem_euclid(fields.len() as i32) as usize]
                };
                match k.code {
                    KeyCode::Esc => return vec![],
                    KeyCode::Enter if !k.modifiers.contains(KeyModifiers::ALT) => {
                        self.commit_field(target, field, buffer.text());
                        return vec![];
                    }
                    KeyCode::Tab | KeyCode::BackTab => {
                        self.commit_field(target, field, buffer.text());
                        let next = step(field, if k.code == KeyCode::Tab { 1 } else { -1 });
                        let buffer = TextInput::new(edit::field_text(self.canvas(), target, next));
                        self.overlay = Some(Overlay::Field {
                            target,
                            field: next,
                            buffer,
                        });
                        return vec![];
                    }
                    _ => {
                        buffer.key(&k);
                    }
                }
                self.overlay = Some(Overlay::Field {
                    target,
                    field,
                    buffer,
                });
            }
            Overlay::Settings { row, editing } => return self.settings_key(row, editing, k),
            Overlay::OpenImage { mut path } => match k.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    // A dropped file arrives quoted in some terminals; `~` is the home folder.
                    let text = path.text().trim().trim_matches(['\'', '"']).to_owned();
                    let text = match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
                        (Some(rest), Some(home)) => {
                            PathBuf::from(home).join(rest).display().to_string()
                        }
                        _ => text,
                    };
                    if !text.is_empty() {
                        return vec![Command::OpenImage(PathBuf::from(text))];
                    }
                }
                _ => {
                    path.key(&k);
                    self.overlay = Some(Overlay::OpenImage { path });
                }
            },
            Overlay::Sessions { items, mut choice } => {
                match k.code {
                    KeyCode::Esc => return vec![],
                    KeyCode::Enter => {
                        return match items.get(choice) {
                            Some(s) if s.damaged => {
                                self.status =
                                    format!("{} is damaged; it is kept as it is", s.path.display());
                                vec![]
                            }
                            Some(s) => vec![Command::OpenSession(s.path.clone())],
                            None => vec![],
                        };
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        choice = (choice + 1).min(items.len().saturating_sub(1))
                    }
                    KeyCode::Up | KeyCode::Char('k') => choice = choice.saturating_sub(1),
                    _ => {}
                }
                self.overlay = Some(Overlay::Sessions { items, choice });
            }
            Overlay::Colors {
                target,
                mut query,
                mut choice,
            } => {
                let matches = color_matches(&query);
                match k.code {
                    KeyCode::Esc => return vec![],
                    KeyCode::Enter => {
                        if let Some(&c) = matches.get(choice.min(matches.len().saturating_sub(1))) {
                            self.edit(Edit::Color(target, c));
                        }
                        return vec![];
                    }
                    KeyCode::Down | KeyCode::Tab => {
                        choice = (choice + 1).min(matches.len().saturating_sub(1))
                    }
                    KeyCode::Up | KeyCode::BackTab => choice = choice.saturating_sub(1),
                    KeyCode::Backspace => {
                        query.pop();
                        choice = 0;
                    }
                    KeyCode::Char(c) if !ctrl => {
                        query.push(c);
                        choice = 0;
                    }
                    _ => {}
                }
                self.overlay = Some(Overlay::Colors {
                    target,
                    query,
                    choice,
                });
            }
        }
        vec![]
    }

    /// Shows the session picker with `items` (newest first).
    pub fn show_sessions(&mut self, items: Vec<SessionSummary>) {
        if items.is_empty() {
            self.status = "no saved sessions".into();
        } else {
            self.overlay = Some(Overlay::Sessions { items, choice: 0 });
        }
    }

    /// A PNG was read for [`Command::OpenImage`]: its canvas becomes a new version, its settings the
    /// render settings, and it is shown in the preview (added to the session's images).
    pub fn image_opened(&mut self, path: PathBuf, read: Result<(Canvas, StoredRender), String>) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let (canvas, stored) = match read {
            Ok(r) => r,
            Err(e) => {
                self.status = format!("cannot open {}: {e}", path.display());
                return;
            }
        };
        if self
            .versions
            .push(canvas, Origin::Edit(format!("opened {name}")))
        {
            self.edited_since_reply = true;
        }
        self.clamp_selection();
        self.settings = stored.settings;
        self.negative = stored.negative;
        self.random_seed = false;
        let index = match self.images.iter().position(|p| *p == path) {
            Some(i) => i,
            None => {
                self.images.push(path);
                self.images.len() - 1
            }
        };
        self.shown_image = Some(index);
        let render = self
            .keymap
            .short(Action::Render, false)
            .unwrap_or("–".into());
        self.status = format!(
            "v{} · opened {name}: its canvas and settings (seed {}); {render} renders it again",
            self.versions.number(),
            self.settings.seed
        );
        if let Some(n) = stored.noise {
            self.status += &format!(
                " (it began from the noise file {}; renders here start from the seed)",
                n.file
            );
        }
    }

    /// The panel's view of the settings.
    pub fn panel_settings(&self) -> Settings {
        Settings {
            render: self.settings.clone(),
            negative: self.negative.clone(),
            random_seed: self.random_seed,
        }
    }

    fn settings_key(&mut self, row: usize, editing: Option<String>, k: KeyEvent) -> Vec<Command> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let which = Row::ALL[row.min(Row::ALL.len() - 1)];
        let mut panel = self.panel_settings();
        let mut next = Some(Overlay::Settings { row, editing: None });
        match editing {
            Some(mut text) => match k.code {
                KeyCode::Esc => {}
                KeyCode::Enter => match panel.set(which, &text) {
                    Ok(()) => self.status = format!("{}: {}", which.label(), panel.value(which)),
                    Err(why) => {
                        self.status = why;
                        next = Some(Overlay::Settings {
                            row,
                            editing: Some(text),
                        });
                    }
                },
                KeyCode::Backspace => {
                    text.pop();
                    next = Some(Overlay::Settings {
                        row,
                        editing: Some(text),
                    });
                }
                KeyCode::Char('u') if ctrl => {
                    next = Some(Overlay::Settings {
                        row,
                        editing: Some(String::new()),
                    })
                }
                KeyCode::Char(c) if !ctrl => {
                    text.push(c);
                    next = Some(Overlay::Settings {
                        row,
                        editing: Some(text),
                    });
                }
                _ => {
                    next = Some(Overlay::Settings {
                        row,
                        editing: Some(text),
                    })
                }
            },
            None => match k.code {
                _ if k.code == KeyCode::Esc
                    || matches!(
                        self.keymap.action(&k, None, false),
                        Some(Action::Settings | Action::Quit)
                    ) =>
                {
                    next = None
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    next = Some(Overlay::Settings {
                        row: row.saturating_sub(1),
                        editing: None,
                    })
                }
                KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
                    next = Some(Overlay::Settings {
                        row: (row + 1).min(Row::ALL.len() - 1),
                        editing: None,
                    })
                }
                KeyCode::Left | KeyCode::Char('h') | KeyCode::Char('-') => panel.step(which, -1),
                KeyCode::Right | KeyCode::Char('l') | KeyCode::Char('+') => panel.step(which, 1),
                KeyCode::Enter => {
                    next = Some(Overlay::Settings {
                        row,
                        editing: Some(panel.value(which)),
                    })
                }
                _ => {}
            },
        }
        self.settings = panel.render;
        self.negative = panel.negative;
        self.random_seed = panel.random_seed;
        self.overlay = next;
        vec![]
    }

    fn commit_field(&mut self, target: Option<usize>, field: Field, buffer: &str) {
        if edit::field_text(self.canvas(), target, field) != buffer.trim() {
            self.edit(Edit::Text(target, field, buffer.to_owned()));
        }
    }

    /// What a session file keeps of this app.
    pub fn saved_state(&self) -> AppState {
        let canvases = self
            .versions
            .all()
            .iter()
            .map(|v| SavedVersion {
                canvas: serde_json::from_str(&canvas::to_json(&v.canvas)).unwrap_or_default(),
                origin: match &v.origin {
                    Origin::Start => "start".into(),
                    Origin::Reply => "reply".into(),
                    Origin::Edit(m) => m.clone(),
                },
            })
            .collect();
        let chat = self
            .chat
            .iter()
            .map(|e| SavedEntry {
                speaker: match e.speaker {
                    Speaker::User => "user",
                    Speaker::Assistant => "assistant",
                    Speaker::App => "app",
                }
                .into(),
                text: e.text.clone(),
                note: e.note.clone(),
            })
            .collect();
        let s = &self.settings;
        AppState {
            canvases,
            current: self.versions.number() - 1,
            chat,
            images: self.images.clone(),
            settings: SavedSettings {
                width: s.width,
                height: s.height,
                steps: s.steps,
                cfg: s.cfg,
                seed: s.seed,
                sampler: s.sampler.name().into(),
                negative: self.negative.clone(),
                random_seed: self.random_seed,
                hires: s.hires.map(|h| (h.scale, h.steps, h.denoise)),
            },
        }
    }

    /// Rebuilds the app from a saved session; a canvas that no longer parses is an error naming it.
    pub fn restore(
        conversation: Conversation,
        state: &AppState,
        models: Models,
    ) -> Result<App, String> {
        let mut versions = Vec::with_capacity(state.canvases.len());
        for (i, v) in state.canvases.iter().enumerate() {
            let canvas = canvas::from_json(&v.canvas.to_string())
                .map_err(|e| format!("canvas version {}: {e}", i + 1))?
                .canvas;
            let origin = match v.origin.as_str() {
                "start" => Origin::Start,
                "reply" => Origin::Reply,
                other => Origin::Edit(other.to_owned()),
            };
            versions.push(super::versions::Version { canvas, origin });
        }
        let versions = Versions::from_parts(versions, state.current).ok_or("no canvas versions")?;
        let mut app = App::new(versions.current().clone(), models);
        app.versions = versions;
        app.conversation = conversation;
        app.chat = state
            .chat
            .iter()
            .map(|e| ChatEntry {
                speaker: match e.speaker.as_str() {
                    "user" => Speaker::User,
                    "assistant" => Speaker::Assistant,
                    _ => Speaker::App,
                },
                text: e.text.clone(),
                note: e.note.clone(),
            })
            .collect();
        app.images = state.images.clone();
        app.shown_image = app.images.len().checked_sub(1);
        let s = &state.settings;
        let sampler = Sampler::from_name(&s.sampler)
            .ok_or_else(|| format!("unknown sampler {}", s.sampler))?;
        app.settings = RenderSettings {
            width: s.width,
            height: s.height,
            steps: s.steps,
            cfg: s.cfg,
            seed: s.seed,
            sampler,
            hires: s
                .hires
                .map(|(scale, steps, denoise)| crate::render::pipeline::Hires {
                    scale,
                    steps,
                    denoise,
                }),
            ..RenderSettings::default()
        };
        app.negative = s.negative.clone();
        app.random_seed = s.random_seed;
        app.edited_since_reply =
            *app.versions.origin() != Origin::Reply && app.conversation.turns.last().is_some();
        app.clamp_selection();
        Ok(app)
    }

    /// Typing `text` key by key (tests and scripted input).
    pub fn type_text(&mut self, text: &str) -> Vec<Command> {
        text.chars()
            .flat_map(|c| self.key(key(KeyCode::Char(c))))
            .collect()
    }
}

/// Colour names matching `query` as a subsequence (case-insensitive), best first: names starting with
/// the query, then containing it, then the rest, each alphabetically.
pub fn color_matches(query: &str) -> Vec<ColorName> {
    let q = query.to_lowercase().replace(' ', "");
    let subsequence = |name: &str| {
        let mut chars = name.chars();
        q.chars().all(|c| chars.any(|n| n == c))
    };
    let mut found: Vec<(u8, &'static str, ColorName)> = ColorName::all()
        .filter(|c| subsequence(c.name()))
        .map(|c| {
            let rank = if c.name().starts_with(&q) {
                0
            } else if c.name().contains(&q) {
                1
            } else {
                2
            };
            (rank, c.name(), c)
        })
        .collect();
    found.sort_by_key(|&(rank, name, _)| (rank, name));
    found.into_iter().map(|(_, _, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Reply, ReplyStats};

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        app.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(app: &mut App, c: char) -> Vec<Command> {
        app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn dragon_reply() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/dragon.md")).unwrap()
    }

    fn with_models() -> App {
        App::new(
            Canvas::default(),
            Models {
                llm: Some("test".into()),
                sdxl: Some("tiny".into()),
                ..Models::default()
            },
        )
    }

    fn reply(app: &mut App, text: &str) {
        app.llm_event(LlmEvent::Text(text[..10].to_owned()));
        app.llm_event(LlmEvent::Done(Reply {
            text: text.to_owned(),
            stats: ReplyStats::default(),
        }));
    }

    #[test]
    fn chat_turn_makes_a_canvas_version() {
        let mut app = with_models();
        assert!(app.type_text("a dragon").is_empty());
        let cmds = press(&mut app, KeyCode::Enter);
        let Some(Command::Chat(messages)) = cmds.first() else {
            panic!("{cmds:?}")
        };
        assert_eq!(messages.last().unwrap().content, "a dragon");
        assert!(matches!(app.activity, Activity::Replying { .. }));
        assert!(app.input.is_empty());
        reply(&mut app, &dragon_reply());
        assert_eq!(app.activity, Activity::Idle);
        assert_eq!(app.versions.number(), 2);
        assert_eq!(app.canvas().regions.len(), 4);
        assert!(app.chat[1]
            .note
            .as_deref()
            .unwrap()
            .starts_with("✓ canvas v2 · 4 regions"));
        assert_eq!(app.conversation.turns.len(), 1);

        // A reply without a canvas keeps the canvas and says why.
        app.type_text("again");
        press(&mut app, KeyCode::Enter);
        reply(&mut app, "I cannot draw that, sorry.");
        assert_eq!(app.versions.number(), 2);
        assert!(app.chat[3]
            .note
            .as_deref()
            .unwrap()
            .starts_with("✗ no canvas"));
        // Up on an empty input recalls the last prompt.
        press(&mut app, KeyCode::Up);
        assert_eq!(app.input.text(), "again");
    }

    #[test]
    fn without_an_llm_the_input_is_kept_and_the_reason_shown() {
        let mut app = App::new(Canvas::default(), Models::default());
        app.type_text("hello");
        assert!(press(&mut app, KeyCode::Enter).is_empty());
        assert_eq!(app.input.text(), "hello");
        assert!(app.status.contains("--llm"), "{}", app.status);
        assert!(app
            .key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL))
            .is_empty());
        assert!(app.status.contains("--sdxl"), "{}", app.status);
    }

    #[test]
    fn keyboard_edits_are_versions_and_undo_redo() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Canvas);
        // The list is global, then far → near; j from global selects the farthest region.
        press(&mut app, KeyCode::Char('g'));
        press(&mut app, KeyCode::Char('j'));
        let farthest = app.region_order()[0];
        assert_eq!(app.selection, Selection::Region(farthest));
        let before = app.canvas().regions[farthest].location;
        press(&mut app, KeyCode::Char('J'));
        press(&mut app, KeyCode::Char('a'));
        press(&mut app, KeyCode::Char('+'));
        assert_eq!(app.versions.number(), 5, "{}", app.status);
        press(&mut app, KeyCode::Char('u'));
        press(&mut app, KeyCode::Char('u'));
        press(&mut app, KeyCode::Char('u'));
        assert_eq!(app.canvas().regions[farthest].location, before);
        press(&mut app, KeyCode::Char('U'));
        assert_eq!(app.versions.number(), 3);
        ctrl(&mut app, 'y');
        assert_eq!(app.versions.number(), 4);

        // New, duplicate, delete.
        let n = app.canvas().regions.len();
        press(&mut app, KeyCode::Char('n'));
        assert_eq!(app.canvas().regions.len(), n + 1);
        assert_eq!(app.selection, Selection::Region(n));
        press(&mut app, KeyCode::Char('d'));
        assert_eq!(app.canvas().regions.len(), n + 2);
        press(&mut app, KeyCode::Char('x'));
        press(&mut app, KeyCode::Char('x'));
        assert_eq!(app.canvas().regions.len(), n);
    }

    #[test]
    fn rebound_keys_drive_the_same_actions_and_old_keys_stop() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        let overrides =
            toml::from_str("undo = \"f3\"\nrender = []\nnext_pane = \"ctrl-l\"").unwrap();
        app.keymap = Keymap::with_overrides(&overrides, std::path::Path::new("c.toml")).unwrap();
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Chat, "Tab is no longer bound");
        ctrl(&mut app, 'l');
        assert_eq!(app.focus, Focus::Canvas);
        press(&mut app, KeyCode::Char('J'));
        assert_eq!(app.versions.number(), 2);
        press(&mut app, KeyCode::Char('u'));
        assert_eq!(app.versions.number(), 2, "u is no longer undo");
        press(&mut app, KeyCode::F(3));
        assert_eq!(app.versions.number(), 1);
        assert!(press(&mut app, KeyCode::Char('r')).is_empty());
        assert!(ctrl(&mut app, 'r').is_empty());
    }

    #[test]
    fn page_keys_scroll_the_chat_even_while_typing() {
        let mut app = with_models();
        press(&mut app, KeyCode::PageUp);
        assert_eq!(app.chat_scroll, 10);
        press(&mut app, KeyCode::PageDown);
        assert_eq!(app.chat_scroll, 0);
        assert!(app.input.is_empty());
    }

    #[test]
    fn clicks_focus_and_select_but_wait_for_an_open_overlay() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        app.click(Some(Hit::Select(Selection::Region(1))));
        assert_eq!(
            (app.focus, app.selection),
            (Focus::Canvas, Selection::Region(1))
        );
        app.click(None);
        assert_eq!(app.focus, Focus::Canvas);
        press(&mut app, KeyCode::Char('c'));
        app.click(Some(Hit::Pane(Focus::Chat)));
        assert!(matches!(app.overlay, Some(Overlay::Colors { .. })));
        press(&mut app, KeyCode::Esc);
        press(&mut app, KeyCode::Char('?'));
        app.click(Some(Hit::Pane(Focus::Chat)));
        assert_eq!((app.overlay.is_none(), app.focus), (true, Focus::Canvas));
        app.click(Some(Hit::Pane(Focus::Chat)));
        assert_eq!(app.focus, Focus::Chat);
    }

    #[test]
    fn opening_an_image_restores_its_canvas_and_settings() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        let dragon = app.canvas().clone();
        // Change the canvas, then open an image of the dragon made with other settings.
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('x'));
        let before = app.versions.number();
        assert_eq!(before, 3);
        let settings = RenderSettings {
            width: 512,
            seed: 4242,
            steps: 9,
            sampler: Sampler::Euler,
            ..RenderSettings::default()
        };
        let stored = StoredRender {
            settings: settings.clone(),
            negative: "blurry".into(),
            pooled: crate::render::pipeline::Pooled::Projected,
            model: None,
            sdxl: None,
            device: None,
            dtype: None,
            noise: None,
        };
        ctrl(&mut app, 'p');
        app.paste("'~/pictures/dragon.png'");
        let home = std::env::var("HOME").unwrap();
        let path = PathBuf::from(format!("{home}/pictures/dragon.png"));
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            vec![Command::OpenImage(path.clone())]
        );
        app.image_opened(path.clone(), Ok((dragon.clone(), stored.clone())));
        assert_eq!(app.versions.number(), before + 1);
        assert_eq!(app.canvas(), &dragon);
        assert_eq!(
            (&app.settings, app.negative.as_str()),
            (&settings, "blurry")
        );
        assert_eq!(app.images, vec![path.clone()]);
        assert_eq!(app.shown_image, Some(0));
        assert!(app.status.contains("opened dragon.png"), "{}", app.status);

        // Enter on the preview re-opens the shown image; a failure keeps everything.
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Preview);
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            vec![Command::OpenImage(path.clone())]
        );
        app.image_opened(path, Err("not a PNG".into()));
        assert_eq!(app.versions.number(), before + 1);
        assert!(app.status.contains("not a PNG"), "{}", app.status);
    }

    #[test]
    fn colour_picker_and_field_editor() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        let Selection::Region(i) = app.selection else {
            panic!()
        };
        press(&mut app, KeyCode::Char('c'));
        app.type_text("tea");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.canvas().regions[i].color.name(), "teal");
        assert!(app.overlay.is_none());

        press(&mut app, KeyCode::Char('e'));
        ctrl(&mut app, 'u');
        app.type_text("A small red boat.");
        press(&mut app, KeyCode::Tab); // commits, moves to details
        ctrl(&mut app, 'u');
        app.type_text("It floats.");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.canvas().regions[i].description, "A small red boat.");
        assert_eq!(
            app.canvas().regions[i].detailed_descriptions,
            vec!["It floats."]
        );
        // Esc in the editor discards.
        press(&mut app, KeyCode::Char('e'));
        app.type_text(" more");
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.canvas().regions[i].description, "A small red boat.");
    }

    #[test]
    fn the_next_turn_revises_the_edited_canvas() {
        let mut app = with_models();
        app.type_text("a dragon");
        press(&mut app, KeyCode::Enter);
        reply(&mut app, &dragon_reply());
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('x'));
        press(&mut app, KeyCode::BackTab);
        app.type_text("make it stormy");
        let cmds = press(&mut app, KeyCode::Enter);
        let Some(Command::Chat(messages)) = cmds.first() else {
            panic!()
        };
        let shown = &messages[messages.len() - 2].content;
        assert_eq!(shown, &crate::llm::prompt::fenced_code(app.canvas()));
    }

    #[test]
    fn a_reply_cut_mid_stream_is_kept_marked_and_retried() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        app.type_text("make the dragon red");
        press(&mut app, KeyCode::Enter);
        app.llm_event(LlmEvent::Text("```python\ncanvas = Canv".into()));
        app.llm_event(LlmEvent::Error(crate::llm::LlmError::Remote(
            "the server closed the stream mid-reply (the partial reply is kept)".into(),
        )));
        let entry = app.chat.last().unwrap();
        assert_eq!(entry.text, "```python\ncanvas = Canv");
        assert!(entry
            .note
            .as_deref()
            .unwrap()
            .starts_with("✗ the server closed"));
        assert_eq!(
            app.conversation.turns.len(),
            1,
            "the cut reply is not history"
        );
        // Retry asks again for the failed request, not the turn before it.
        let cmds = ctrl(&mut app, 't');
        let Some(Command::Chat(messages)) = cmds.first() else {
            panic!("{cmds:?}")
        };
        assert_eq!(messages.last().unwrap().content, "make the dragon red");
        assert_eq!(app.conversation.turns.len(), 1);
    }

    #[test]
    fn stop_quit_paste_and_render() {
        let mut app = with_models();
        assert!(ctrl(&mut app, 'c').is_empty());
        assert_eq!(ctrl(&mut app, 'c'), vec![Command::Quit]);

        let mut app = with_models();
        app.paste("line one\r\nline two");
        assert_eq!(app.input.text(), "line one\nline two");
        let cmds = press(&mut app, KeyCode::Enter);
        assert!(matches!(cmds[0], Command::Chat(_)));
        assert_eq!(ctrl(&mut app, 'c'), vec![Command::CancelChat]);
        assert_eq!(press(&mut app, KeyCode::Esc), vec![Command::CancelChat]);
        app.llm_event(LlmEvent::Error(crate::llm::LlmError::Decode(
            "stopped".into(),
        )));
        assert_eq!(app.activity, Activity::Idle);

        reply(&mut app, &dragon_reply());
        press(&mut app, KeyCode::Tab);
        let cmds = press(&mut app, KeyCode::Char('r'));
        assert!(matches!(cmds[0], Command::Render { .. }), "{cmds:?}");
        app.render_event(RenderEvent::Progress(Stage::Step {
            hires: false,
            step: 3,
            steps: 25,
        }));
        assert!(matches!(
            app.activity,
            Activity::Rendering { stage: Some(_), .. }
        ));
        assert_eq!(press(&mut app, KeyCode::Esc), vec![Command::CancelRender]);
        app.render_event(RenderEvent::Done {
            output: "a.png".into(),
            seconds: 1.0,
        });
        assert_eq!(app.images.len(), 1);
        assert_eq!(app.shown_image, Some(0));
    }

    #[test]
    fn a_saved_session_restores_everything() {
        let mut app = with_models();
        app.type_text("a dragon");
        press(&mut app, KeyCode::Enter);
        reply(&mut app, &dragon_reply());
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('n'));
        press(&mut app, KeyCode::Char('u'));
        app.render_event(RenderEvent::Done {
            output: "x.png".into(),
            seconds: 1.0,
        });
        let state = app.saved_state();
        let json = serde_json::to_string(&state).unwrap();
        let back: AppState = serde_json::from_str(&json).unwrap();
        let restored = App::restore(app.conversation.clone(), &back, Models::default()).unwrap();
        assert_eq!(restored.versions, app.versions);
        assert_eq!(restored.chat, app.chat);
        assert_eq!(restored.images, app.images);
        assert_eq!(restored.settings, app.settings);
        assert_eq!(restored.saved_state(), state);
    }

    #[test]
    fn settings_panel_changes_what_renders() {
        let mut app = with_models();
        reply(&mut app, &dragon_reply());
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('s'));
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Down); // steps
        press(&mut app, KeyCode::Right);
        assert_eq!(app.settings.steps, 26);
        press(&mut app, KeyCode::Enter);
        ctrl(&mut app, 'u');
        app.type_text("abc");
        press(&mut app, KeyCode::Enter);
        assert!(app.status.contains("whole number"), "{}", app.status);
        ctrl(&mut app, 'u');
        app.type_text("30");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.settings.steps, 30);
        for _ in 0..5 {
            press(&mut app, KeyCode::Down); // negative prompt
        }
        press(&mut app, KeyCode::Enter);
        ctrl(&mut app, 'u');
        app.type_text("blurry");
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Esc);
        assert!(app.overlay.is_none());
        let cmds = press(&mut app, KeyCode::Char('r'));
        let Some(Command::Render {
            settings, negative, ..
        }) = cmds.first()
        else {
            panic!("{cmds:?}")
        };
        assert_eq!((settings.steps, negative.as_str()), (30, "blurry"));
        let restored = App::restore(
            app.conversation.clone(),
            &app.saved_state(),
            Models::default(),
        )
        .unwrap();
        assert_eq!(
            (restored.settings.steps, restored.negative.as_str()),
            (30, "blurry")
        );
    }

    #[test]
    fn retry_and_new_chat() {
        let mut app = with_models();
        app.type_text("a dragon");
        press(&mut app, KeyCode::Enter);
        reply(&mut app, "no canvas here");
        let cmds = ctrl(&mut app, 't');
        let Some(Command::Chat(messages)) = cmds.first() else {
            panic!("{cmds:?}")
        };
        assert_eq!(messages.len(), 2, "the failed exchange is not sent again");
        assert_eq!(messages[1].content, "a dragon");
        assert_eq!(app.chat.len(), 2);
        reply(&mut app, &dragon_reply());
        assert_eq!(app.conversation.turns.len(), 1);
        ctrl(&mut app, 'n');
        assert!(app.chat.is_empty() && app.conversation.turns.is_empty());
        app.type_text("more warriors");
        let cmds = press(&mut app, KeyCode::Enter);
        let Some(Command::Chat(messages)) = cmds.first() else {
            panic!()
        };
        // The canvas is shown to the LLM as the user's own.
        assert_eq!(
            messages[1].content,
            crate::llm::prompt::HAND_MADE_CANVAS_REQUEST
        );
        assert_eq!(
            messages[2].content,
            crate::llm::prompt::fenced_code(app.canvas())
        );
    }

    #[test]
    fn session_picker() {
        let mut app = with_models();
        assert_eq!(ctrl(&mut app, 'o'), vec![Command::ListSessions]);
        let summary = |name: &str, damaged| SessionSummary {
            path: format!("/s/{name}.json").into(),
            name: name.into(),
            first_prompt: Some("a dragon".into()),
            turns: 1,
            versions: 2,
            damaged,
        };
        app.show_sessions(vec![summary("new", false), summary("old", true)]);
        press(&mut app, KeyCode::Down);
        assert!(
            press(&mut app, KeyCode::Enter).is_empty(),
            "a damaged session is not opened"
        );
        assert!(app.status.contains("damaged"));
        app.show_sessions(vec![summary("new", false)]);
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            vec![Command::OpenSession("/s/new.json".into())]
        );
    }

    #[test]
    fn choose_and_copy_messages() {
        let mut app = with_models();
        app.type_text("a dragon");
        press(&mut app, KeyCode::Enter);
        reply(&mut app, &dragon_reply());
        let alt = |code| KeyEvent::new(code, KeyModifiers::ALT);
        // Nothing chosen: the last reply.
        assert_eq!(
            app.key(alt(KeyCode::Char('y'))),
            vec![Command::Copy(dragon_reply())]
        );
        app.key(alt(KeyCode::Up));
        app.key(alt(KeyCode::Up));
        assert_eq!(app.selected_message, Some(0));
        press(&mut app, KeyCode::Tab);
        assert_eq!(
            press(&mut app, KeyCode::Char('y')),
            vec![Command::Copy("a dragon".into())]
        );
    }

    #[test]
    fn colour_search_ranks_prefixes_first() {
        let m = color_matches("blue");
        assert_eq!(m[0].name(), "blue");
        assert!(m.iter().any(|c| c.name() == "aliceblue"));
        assert!(color_matches("zzz").is_empty());
    }
}
