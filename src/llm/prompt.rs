//! What the LLM is shown: Omost's system prompt, byte-exact, then the conversation fed back as Omost
//! feeds it (every earlier user/assistant pair with the full canvas code, then the new request).

use serde::{Deserialize, Serialize};

use crate::canvas::{self, Canvas};

/// Omost's system prompt (`lib_omost/canvas.py`), byte for byte: the fine-tuned models need it exact.
pub const SYSTEM_PROMPT: &str = include_str!("omost_system_prompt.txt");

/// Who says a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role's name in chat templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// One exchange: what the user asked and what the LLM is shown as its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub user: String,
    pub assistant: String,
}

/// The user message that stands before a canvas the user made by hand, when there is no earlier turn.
pub const HAND_MADE_CANVAS_REQUEST: &str = "Here is the canvas I made.";

/// The conversation so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub turns: Vec<Turn>,
}

impl Conversation {
    /// The messages for a new user request: the system prompt, every earlier pair where both sides are
    /// non-empty (as Omost skips the others), then the request.
    pub fn messages(&self, request: &str) -> Vec<Message> {
        let mut out = vec![Message::new(Role::System, SYSTEM_PROMPT)];
        for t in self
            .turns
            .iter()
            .filter(|t| !t.user.is_empty() && !t.assistant.is_empty())
        {
            out.push(Message::new(Role::User, t.user.clone()));
            out.push(Message::new(Role::Assistant, t.assistant.clone()));
        }
        out.push(Message::new(Role::User, request));
        out
    }

    /// Records a finished exchange.
    pub fn push(&mut self, user: impl Into<String>, assistant: impl Into<String>) {
        self.turns.push(Turn {
            user: user.into(),
            assistant: assistant.into(),
        });
    }

    /// After the user edited the canvas by hand: the LLM's last answer becomes the canonical code of the
    /// edited canvas, so the next request revises what the user sees, in the form the model writes.
    pub fn record_canvas_edit(&mut self, edited: &Canvas) {
        let reply = fenced_code(edited);
        match self.turns.last_mut() {
            Some(turn) => turn.assistant = reply,
            None => self.push(HAND_MADE_CANVAS_REQUEST, reply),
        }
    }
}

/// A canvas as an Omost reply: its canonical code in a ```` ```python ```` block.
pub fn fenced_code(canvas: &Canvas) -> String {
    format!("```python\n{}```", canvas::to_code(canvas))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_fed_back_whole_and_empty_pairs_are_skipped() {
        let mut c = Conversation::default();
        c.push("draw a cat", "```python\ncanvas = Canvas()\n```");
        c.push("stopped early", "");
        let m = c.messages("make it blue");
        let roles: Vec<Role> = m.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [Role::System, Role::User, Role::Assistant, Role::User]
        );
        assert_eq!(m[0].content, SYSTEM_PROMPT);
        assert_eq!(m[3].content, "make it blue");
    }

    #[test]
    fn a_hand_edit_replaces_the_last_answer_with_canonical_code() {
        let reply = include_str!("../../examples/dragon.md");
        let mut canvas = canvas::parse(reply).expect("dragon").canvas;
        let mut c = Conversation::default();
        c.push("draw a dragon", reply);
        canvas.regions.pop();
        c.record_canvas_edit(&canvas);
        let shown = &c.turns[0].assistant;
        assert!(
            shown.starts_with("```python\n# Initialize the canvas\n") && shown.ends_with(")\n```")
        );
        assert_eq!(canvas::parse(shown).expect("parses").canvas, canvas);

        let mut fresh = Conversation::default();
        fresh.record_canvas_edit(&canvas);
        assert_eq!(fresh.turns[0].user, HAND_MADE_CANVAS_REQUEST);
    }
}
