//! Every state the canvas has been in this session, with undo and redo. Each edit — a chat reply's
//! canvas or a keyboard change — is a new version; undo moves back without losing anything, and a new
//! edit after an undo drops the undone future (as every editor does).

use crate::canvas::Canvas;

/// Where a version came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The canvas the session started with (empty, opened, or resumed).
    Start,
    /// Parsed from the LLM's reply.
    Reply,
    /// A keyboard edit, described for the status line ("moved sun to the top-left").
    Edit(String),
}

/// One canvas version.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub canvas: Canvas,
    pub origin: Origin,
}

/// The version history.
#[derive(Clone, Debug, PartialEq)]
pub struct Versions {
    versions: Vec<Version>,
    current: usize,
}

impl Versions {
    /// A history holding `canvas` alone.
    pub fn new(canvas: Canvas) -> Self {
        Versions {
            versions: vec![Version {
                canvas,
                origin: Origin::Start,
            }],
            current: 0,
        }
    }

    /// The canvas shown and edited now.
    pub fn current(&self) -> &Canvas {
        &self.versions[self.current].canvas
    }

    /// The current version's number, counting from 1.
    pub fn number(&self) -> usize {
        self.current + 1
    }

    /// How the current version came about.
    pub fn origin(&self) -> &Origin {
        &self.versions[self.current].origin
    }

    /// Makes `canvas` the new current version (dropping any undone versions). Returns false and keeps
    /// the history as it is when `canvas` equals the current one.
    pub fn push(&mut self, canvas: Canvas, origin: Origin) -> bool {
        if canvas == *self.current() {
            return false;
        }
        self.versions.truncate(self.current + 1);
        self.versions.push(Version { canvas, origin });
        self.current += 1;
        true
    }

    /// Steps back one version; false at the first.
    pub fn undo(&mut self) -> bool {
        let moved = self.current > 0;
        self.current = self.current.saturating_sub(1);
        moved
    }

    /// Steps forward again; false when nothing was undone.
    pub fn redo(&mut self) -> bool {
        let moved = self.current + 1 < self.versions.len();
        if moved {
            self.current += 1;
        }
        moved
    }

    /// All versions, oldest first.
    pub fn all(&self) -> &[Version] {
        &self.versions
    }

    /// A history from saved versions; `None` when there are none or `current` is out of range.
    pub fn from_parts(versions: Vec<Version>, current: usize) -> Option<Self> {
        (current < versions.len()).then_some(Versions { versions, current })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::GlobalDescription;

    fn canvas(tag: &str) -> Canvas {
        Canvas {
            global: Some(GlobalDescription {
                description: tag.into(),
                detailed_descriptions: vec![],
                tags: String::new(),
                color: crate::canvas::ColorName::from_name("red").unwrap(),
            }),
            regions: vec![],
        }
    }

    #[test]
    fn undo_redo_and_branching() {
        let mut v = Versions::new(canvas("a"));
        assert!(v.push(canvas("b"), Origin::Reply));
        assert!(
            !v.push(canvas("b"), Origin::Reply),
            "an identical canvas is not a new version"
        );
        assert!(v.push(canvas("c"), Origin::Edit("x".into())));
        assert_eq!(v.number(), 3);
        assert!(v.undo() && v.undo() && !v.undo());
        assert_eq!(v.current(), &canvas("a"));
        assert!(v.redo());
        assert_eq!(v.current(), &canvas("b"));
        v.push(canvas("d"), Origin::Reply);
        assert!(!v.redo(), "a new edit drops the undone future");
        assert_eq!(v.all().len(), 3);
    }
}
