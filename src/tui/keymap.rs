//! The keymap: every rebindable action, its default keys, and the `[keys]` table of the config file that
//! rebinds them. The help overlay and the status-bar hints are read from it, so they always show the
//! keys that work.
//!
//! Keys are written as in the config file: `r`, `H` (a capital is Shift), `?`, `ctrl-r`, `alt-up`,
//! `shift-left`, `tab`, `shift-tab`, `esc`, `enter`, `space`, `del`, `pgup`, `f2`… An action's entry
//! replaces its defaults: `render = "f5"`, `undo = ["u", "ctrl-z"]`, `quit = []` unbinds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// Where an action's keys work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every pane. While the chat input has the keyboard, only keys that type no text reach it
    /// (with Ctrl or Alt, Tab, Esc, PgUp/PgDn, F-keys).
    App,
    /// The canvas pane.
    Canvas,
    /// The preview pane.
    Preview,
}

macro_rules! actions {
    ($($variant:ident $name:literal $scope:ident [$($key:literal),*] $help:literal;)*) => {
        /// Something a key does.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action { $($variant,)* }

        impl Action {
            /// Every action, in the order the help lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in the config file's `[keys]` table.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// Where its keys work.
            pub fn scope(self) -> Scope {
                match self { $(Action::$variant => Scope::$scope,)* }
            }

            /// What it does, for the help overlay.
            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help,)* }
            }

            fn default_keys(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($key),*],)* }
            }
        }
    };
}

actions! {
    NextPane "next_pane" App ["tab"] "next pane";
    PreviousPane "previous_pane" App ["shift-tab"] "previous pane";
    Stop "stop" App ["esc"] "stop the reply or the render";
    Render "render" App ["ctrl-r", "r"] "render the current canvas";
    Retry "retry" App ["ctrl-t"] "retry the last reply";
    NewChat "new_chat" App ["ctrl-n"] "new chat (the canvas stays)";
    Sessions "sessions" App ["ctrl-o"] "open a saved session";
    OpenImage "open_image" App ["ctrl-p"] "open a PNG made by omost: its canvas and settings";
    Undo "undo" App ["u"] "undo (each edit is a canvas version)";
    Redo "redo" App ["ctrl-y", "U"] "redo";
    CopyCanvas "copy_canvas" App ["Y"] "copy the canvas code (OSC 52)";
    CopyMessage "copy_message" App ["alt-y", "y"] "copy the chosen message (the last reply if none)";
    PreviousMessage "previous_message" App ["alt-up"] "choose the previous chat message";
    NextMessage "next_message" App ["alt-down"] "choose the next chat message";
    ScrollUp "scroll_up" App ["pgup"] "scroll the chat up";
    ScrollDown "scroll_down" App ["pgdn"] "scroll the chat down";
    FocusChat "focus_chat" App ["i", "/"] "type in the chat";
    Settings "settings" App ["s"] "render settings (size, steps, CFG, seed, sampler, negative, hi-res)";
    Help "help" App ["?", "f1"] "this help";
    Quit "quit" App ["q"] "quit";
    SelectNext "select_next" Canvas ["j", "down"] "select the next region (far → near)";
    SelectPrevious "select_previous" Canvas ["k", "up"] "select the previous region";
    SelectGlobal "select_global" Canvas ["g"] "select the global description";
    MoveLeft "move_left" Canvas ["H", "left", "shift-left"] "move the region left on the 3×3 grid";
    MoveDown "move_down" Canvas ["J", "shift-down"] "move the region down";
    MoveUp "move_up" Canvas ["K", "shift-up"] "move the region up";
    MoveRight "move_right" Canvas ["L", "right", "shift-right"] "move the region right";
    NextOffset "next_offset" Canvas ["o"] "next offset";
    PreviousOffset "previous_offset" Canvas ["O"] "previous offset";
    NextArea "next_area" Canvas ["a"] "next area size";
    PreviousArea "previous_area" Canvas ["A"] "previous area size";
    Nearer "nearer" Canvas ["+", "="] "nearer to the viewer";
    Farther "farther" Canvas ["-"] "farther from the viewer";
    Colour "colour" Canvas ["c"] "colour (type to search, Enter picks)";
    Edit "edit" Canvas ["e", "enter"] "edit the text fields (Tab next field, Enter saves)";
    NewRegion "new_region" Canvas ["n"] "new region";
    Duplicate "duplicate" Canvas ["d"] "duplicate the region";
    Delete "delete" Canvas ["x", "del"] "delete the region";
    PreviousImage "previous_image" Preview ["["] "previous image of this session";
    NextImage "next_image" Preview ["]"] "next image of this session";
    ReuseImage "reuse_image" Preview ["enter"] "make the shown image's canvas and settings current";
}

/// Keys that are not rebindable, for the help overlay.
pub const FIXED_KEYS: &[(&str, &str)] = &[
    ("Ctrl-C", "stop what runs; twice when idle to quit"),
    ("Ctrl-Z", "suspend (fg resumes)"),
    ("Enter · Alt-Enter, Ctrl-J", "send · new line (chat input)"),
    ("Up (empty input)", "edit the last message"),
    ("End (empty input)", "follow new text"),
    (
        "←→ Home End, Ctrl-A/E/W/U/K",
        "move and delete in the message or a field",
    ),
];

/// One line of the help overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelpRow {
    Heading(&'static str),
    /// The keys as written, and what they do.
    Keys(String, &'static str),
}

/// One key with its modifiers, normalised: a character carries its own case, so Shift is dropped from
/// it; Shift-Tab is `BackTab`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

impl Key {
    /// The key a terminal event stands for.
    pub fn from_event(k: &KeyEvent) -> Key {
        let wanted = KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT;
        let mut mods = k.modifiers & wanted;
        if matches!(k.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        Key { code: k.code, mods }
    }

    /// Parses a key as written in the config file.
    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = |why: &str| format!("bad key \"{text}\": {why}");
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let Some((prefix, _)) = lower.split_once('-').filter(|(_, after)| !after.is_empty())
            else {
                break;
            };
            let m = match prefix {
                "ctrl" | "c" => KeyModifiers::CONTROL,
                "alt" | "meta" | "m" => KeyModifiers::ALT,
                "shift" | "s" => KeyModifiers::SHIFT,
                _ => break,
            };
            mods |= m;
            rest = &rest[prefix.len() + 1..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => {
                if mods.contains(KeyModifiers::SHIFT) && c.is_alphabetic() {
                    mods.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
                } else {
                    KeyCode::Char(c)
                }
            }
            (None, _) => return Err(bad("no key after the modifiers")),
            _ => match rest.to_ascii_lowercase().as_str() {
                "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "esc" | "escape" => KeyCode::Esc,
                "enter" | "return" => KeyCode::Enter,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "del" | "delete" => KeyCode::Delete,
                "ins" | "insert" => KeyCode::Insert,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad("unknown key name (see the keys section of the README)")),
                },
            },
        };
        Ok(Key::from_event(&KeyEvent::new(code, mods)))
    }

    /// Whether the key types nothing into a text input, so it may act while the chat input has the
    /// keyboard.
    pub fn types_no_text(&self) -> bool {
        self.mods
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            || matches!(
                self.code,
                KeyCode::Tab
                    | KeyCode::BackTab
                    | KeyCode::Esc
                    | KeyCode::PageUp
                    | KeyCode::PageDown
                    | KeyCode::F(_)
            )
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (m, name) in [
            (KeyModifiers::CONTROL, "Ctrl-"),
            (KeyModifiers::ALT, "Alt-"),
            (KeyModifiers::SHIFT, "Shift-"),
        ] {
            if self.mods.contains(m) {
                f.write_str(name)?;
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Insert => f.write_str("Ins"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One action's keys in the config file: a key or a list of keys.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

/// Which keys do what.
#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    /// Each action's keys, in `Action::ALL` order.
    bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with_overrides(&BTreeMap::new(), Path::new("defaults"))
            .unwrap_or_else(|e| unreachable!("the default keymap is valid: {e}"))
    }
}

impl Keymap {
    /// The defaults with the config file's `[keys]` table applied; `source` names the file in errors.
    /// Unknown actions, bad keys, Ctrl-C and two actions sharing a key where both work are rejected.
    pub fn with_overrides(
        overrides: &BTreeMap<String, KeySpec>,
        source: &Path,
    ) -> Result<Keymap, String> {
        let at = |msg: String| format!("{}: [keys] {msg}", source.display());
        for name in overrides.keys() {
            if !Action::ALL.iter().any(|a| a.name() == name) {
                return Err(at(format!(
                    "unknown action \"{name}\" (the help overlay, ?, lists them)"
                )));
            }
        }
        let mut bindings = Vec::new();
        for &action in Action::ALL {
            let texts: Vec<String> = match overrides.get(action.name()) {
                Some(KeySpec::One(k)) => vec![k.clone()],
                Some(KeySpec::Many(ks)) => ks.clone(),
                None => action
                    .default_keys()
                    .iter()
                    .map(|k| k.to_string())
                    .collect(),
            };
            let mut keys = Vec::new();
            for text in &texts {
                let key = Key::parse(text).map_err(|e| at(format!("{}: {e}", action.name())))?;
                if key.mods == KeyModifiers::CONTROL && matches!(key.code, KeyCode::Char('c' | 'z'))
                {
                    return Err(at(format!(
                        "{}: {key} is reserved (Ctrl-C stops what runs, Ctrl-Z suspends)",
                        action.name()
                    )));
                }
                keys.push(key);
            }
            bindings.push((action, keys));
        }
        let map = Keymap { bindings };
        map.check_conflicts().map_err(at)?;
        Ok(map)
    }

    fn check_conflicts(&self) -> Result<(), String> {
        let overlaps = |a: Scope, b: Scope| a == b || a == Scope::App || b == Scope::App;
        for (i, (a, a_keys)) in self.bindings.iter().enumerate() {
            for (b, b_keys) in &self.bindings[i + 1..] {
                if !overlaps(a.scope(), b.scope()) {
                    continue;
                }
                if let Some(k) = a_keys.iter().find(|k| b_keys.contains(k)) {
                    return Err(format!(
                        "{k} is bound to both {} and {}",
                        a.name(),
                        b.name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// What `key` does in `scope` (or anywhere, for [`Scope::App`] actions); `typing` limits app-wide
    /// actions to keys that type no text.
    pub fn action(&self, key: &KeyEvent, scope: Option<Scope>, typing: bool) -> Option<Action> {
        let key = Key::from_event(key);
        self.bindings.iter().find_map(|(action, keys)| {
            let applies = match action.scope() {
                Scope::App => !typing || key.types_no_text(),
                s => !typing && Some(s) == scope,
            };
            (applies && keys.contains(&key)).then_some(*action)
        })
    }

    /// The keys bound to `action`.
    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// `action`'s keys as the help writes them (`j, ↓`), or `–` when unbound.
    pub fn describe(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "–".into();
        }
        keys.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every key, grouped by where it works, for the help overlay.
    pub fn help(&self) -> Vec<HelpRow> {
        let mut rows = Vec::new();
        for (heading, scope) in [
            (
                "anywhere (in the chat input only keys that type no text)",
                Scope::App,
            ),
            ("canvas pane", Scope::Canvas),
            ("preview pane", Scope::Preview),
        ] {
            rows.push(HelpRow::Heading(heading));
            for &action in Action::ALL.iter().filter(|a| a.scope() == scope) {
                rows.push(HelpRow::Keys(self.describe(action), action.help()));
            }
        }
        rows.push(HelpRow::Heading("always"));
        for &(keys, what) in FIXED_KEYS {
            rows.push(HelpRow::Keys(keys.into(), what));
        }
        rows
    }

    /// The shortest key of `action` for the status-bar hints; while `typing`, one that types no text.
    pub fn short(&self, action: Action, typing: bool) -> Option<String> {
        self.keys(action)
            .iter()
            .filter(|k| !typing || k.types_no_text())
            .map(Key::to_string)
            .min_by_key(|k| k.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_and_writes_keys() {
        for (text, shown) in [
            ("r", "r"),
            ("H", "H"),
            ("shift-h", "H"),
            ("?", "?"),
            ("-", "-"),
            ("ctrl-r", "Ctrl-R"),
            ("Ctrl-Shift-Left", "Ctrl-Shift-←"),
            ("alt-up", "Alt-↑"),
            ("shift-tab", "Shift-Tab"),
            ("pgdn", "PgDn"),
            ("f5", "F5"),
            ("space", "Space"),
            ("ctrl--", "Ctrl--"),
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), shown, "{text}");
        }
        for bad in ["", "ctrl-", "hyper-x", "f13", "enterr"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_match_their_written_keys() {
        let map = Keymap::default();
        // Terminals send a capital with Shift, and Shift-Tab as BackTab with Shift.
        let shifted_h = ev(KeyCode::Char('H'), KeyModifiers::SHIFT);
        assert_eq!(
            map.action(&shifted_h, Some(Scope::Canvas), false),
            Some(Action::MoveLeft)
        );
        let back = ev(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(map.action(&back, None, true), Some(Action::PreviousPane));
        let up = ev(KeyCode::Up, KeyModifiers::NONE);
        let shift_up = ev(KeyCode::Up, KeyModifiers::SHIFT);
        assert_eq!(
            map.action(&up, Some(Scope::Canvas), false),
            Some(Action::SelectPrevious)
        );
        assert_eq!(
            map.action(&shift_up, Some(Scope::Canvas), false),
            Some(Action::MoveUp)
        );
        // While typing, `r` is text and Ctrl-R renders; canvas keys never act outside the canvas.
        let r = ev(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(map.action(&r, None, true), None);
        assert_eq!(map.action(&r, None, false), Some(Action::Render));
        let ctrl_r = ev(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(map.action(&ctrl_r, None, true), Some(Action::Render));
        let a = ev(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(map.action(&a, Some(Scope::Preview), false), None);
    }

    #[test]
    fn the_config_rebinds_and_rejects_conflicts_naming_the_file() {
        let source = Path::new("/home/u/.config/omost-tui/config.toml");
        let table = |pairs: &[(&str, KeySpec)]| -> BTreeMap<String, KeySpec> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let one = |s: &str| KeySpec::One(s.into());
        let map = Keymap::with_overrides(
            &table(&[
                ("render", one("f5")),
                ("quit", KeySpec::Many(vec![])),
                ("undo", KeySpec::Many(vec!["u".into(), "ctrl-x".into()])),
            ]),
            source,
        )
        .unwrap();
        let f5 = ev(KeyCode::F(5), KeyModifiers::NONE);
        assert_eq!(map.action(&f5, None, true), Some(Action::Render));
        let r = ev(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(map.action(&r, None, false), None);
        assert_eq!(map.describe(Action::Quit), "–");
        assert_eq!(map.describe(Action::Undo), "u, Ctrl-X");

        let conflict = Keymap::with_overrides(&table(&[("render", one("c"))]), source);
        let e = conflict.unwrap_err();
        assert!(
            e.starts_with("/home/u/.config/omost-tui/config.toml: [keys] ")
                && e.contains("render")
                && e.contains("colour"),
            "{e}"
        );
        // Canvas and preview keys do not meet, so they may share a key.
        assert!(Keymap::with_overrides(&table(&[("next_image", one("a"))]), source).is_ok());
        for (name, spec, why) in [
            ("rendr", one("r"), "unknown action"),
            ("render", one("ctrl-c"), "reserved"),
            ("undo", one("ctrl-z"), "reserved"),
            ("render", one("ctrl-"), "bad key"),
        ] {
            let e = Keymap::with_overrides(&table(&[(name, spec)]), source).unwrap_err();
            assert!(e.contains(why) && e.contains("config.toml"), "{e}");
        }
    }
}
