//! Chat sessions on disk: the conversation (with the canvas code the LLM is shown), saved atomically as
//! JSON. A damaged file is reported and left as it is, never overwritten.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, io_reason};
use crate::llm::Conversation;

/// Version of the session file format.
pub const FORMAT: u32 = 1;

/// A saved session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub format: u32,
    pub conversation: Conversation,
    /// What the terminal app shows; absent in sessions written by `omost chat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppState>,
}

/// The terminal app's part of a session: every canvas version, the chat as shown, the images and the
/// render settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppState {
    /// Canvas versions, oldest first, each as our canvas JSON.
    pub canvases: Vec<SavedVersion>,
    /// Index of the current version.
    pub current: usize,
    pub chat: Vec<SavedEntry>,
    /// Rendered images, oldest first.
    pub images: Vec<PathBuf>,
    pub settings: SavedSettings,
}

/// One canvas version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedVersion {
    pub canvas: serde_json::Value,
    /// `start`, `reply`, or the edit's description.
    pub origin: String,
}

/// One chat entry as shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedEntry {
    /// `user`, `assistant` or `app`.
    pub speaker: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Render settings kept with the session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedSettings {
    pub width: usize,
    pub height: usize,
    pub steps: usize,
    pub cfg: f64,
    pub seed: u64,
    #[serde(default = "default_sampler")]
    pub sampler: String,
    #[serde(default = "default_negative")]
    pub negative: String,
    #[serde(default)]
    pub random_seed: bool,
    /// Hi-res fix `(scale, steps, denoise)`; absent when never set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hires: Option<(f64, usize, f64)>,
}

fn default_sampler() -> String {
    "dpmpp-2m".into()
}

fn default_negative() -> String {
    crate::render::pipeline::DEFAULT_NEGATIVE.into()
}

impl Default for SavedSettings {
    fn default() -> Self {
        SavedSettings {
            width: 896,
            height: 1152,
            steps: 25,
            cfg: 5.0,
            seed: 12345,
            sampler: default_sampler(),
            negative: default_negative(),
            random_seed: false,
            hires: None,
        }
    }
}

/// Why a session could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session {}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("session {} is damaged ({reason}); it was left untouched — move it away or pick another name", path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("invalid session name {0:?}: use letters, digits, '-', '_' or '.', or give a path ending in .json")]
    BadName(String),
}

/// A new session's name from the current time: `YYYY-MM-DD-HHMMSS` (UTC).
pub fn new_session_name() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A saved session as the picker lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionSummary {
    pub path: PathBuf,
    pub name: String,
    /// The first request, for recognising it.
    pub first_prompt: Option<String>,
    pub turns: usize,
    /// Canvas versions (0 for a chat-only session).
    pub versions: usize,
    /// Whether the file failed to read (it is listed, never overwritten).
    pub damaged: bool,
}

/// Every session in the data dir's `sessions/`, newest first.
pub fn list_sessions() -> Vec<SessionSummary> {
    let dir = fsutil::data_dir().join("sessions");
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            (
                e.metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH),
                e.path(),
            )
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .into_iter()
        .map(|(_, path)| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            match Session::load(&path) {
                Ok(s) => SessionSummary {
                    first_prompt: s.conversation.turns.first().map(|t| t.user.clone()),
                    turns: s.conversation.turns.len(),
                    versions: s.app.as_ref().map_or(0, |a| a.canvases.len()),
                    damaged: false,
                    name,
                    path,
                },
                Err(_) => SessionSummary {
                    path,
                    name,
                    first_prompt: None,
                    turns: 0,
                    versions: 0,
                    damaged: true,
                },
            }
        })
        .collect()
}

/// The most recently written session file in the data dir's `sessions/`, if any.
pub fn latest_session() -> Option<PathBuf> {
    let dir = fsutil::data_dir().join("sessions");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

/// The file for session `name`: a path when it ends in `.json` or holds a `/`, otherwise
/// `<data dir>/sessions/NAME.json`.
pub fn session_path(name: &str) -> Result<PathBuf, SessionError> {
    if name.ends_with(".json") || name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(SessionError::BadName(name.to_owned()));
    }
    Ok(fsutil::data_dir()
        .join("sessions")
        .join(format!("{name}.json")))
}

impl Session {
    /// Reads the session at `path`; a missing file is a new, empty session.
    pub fn load(path: &Path) -> Result<Session, SessionError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Session {
                    format: FORMAT,
                    ..Session::default()
                })
            }
            Err(e) => {
                return Err(SessionError::Io {
                    path: path.to_path_buf(),
                    reason: io_reason(&e),
                })
            }
        };
        let session: Session = serde_json::from_str(&text).map_err(|e| SessionError::Damaged {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if session.format != FORMAT {
            return Err(SessionError::Damaged {
                path: path.to_path_buf(),
                reason: format!("format {} is not {FORMAT}", session.format),
            });
        }
        Ok(session)
    }

    /// Writes the session atomically, creating its folder.
    pub fn save(&self, path: &Path) -> Result<(), SessionError> {
        let io = |e: std::io::Error| SessionError::Io {
            path: path.to_path_buf(),
            reason: io_reason(&e),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        fsutil::write_atomic(path, json.as_bytes()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_kept() {
        let dir = std::env::temp_dir().join(format!("omost-session-{}", std::process::id()));
        let path = dir.join("s.json");
        let mut s = Session::load(&path).expect("missing is empty");
        assert!(s.conversation.turns.is_empty());
        s.conversation.push("a", "b");
        s.save(&path).expect("saves");
        assert_eq!(Session::load(&path).expect("loads"), s);
        std::fs::write(&path, "{not json").expect("corrupt");
        assert!(matches!(
            Session::load(&path),
            Err(SessionError::Damaged { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "{not json");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn names() {
        assert!(session_path("my-chat")
            .expect("ok")
            .ends_with("sessions/my-chat.json"));
        assert_eq!(
            session_path("x/y.json").expect("ok"),
            PathBuf::from("x/y.json")
        );
        assert!(session_path("../x").is_ok_and(|p| p == Path::new("../x")));
        assert!(session_path(".hidden").is_err());
    }
}
