//! A chat engine on its own thread: requests go in, [`LlmEvent`]s stream out over a channel, and a
//! shared flag cancels the reply in progress. The UI never waits on the model.
//!
//! The engine is *loaded* on the worker thread too: llama.cpp's OpenMP thread team belongs to the thread
//! that first computes, and a team left behind on another thread spins on a core, which made generation
//! four times slower on two cores.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{ChatEngine, LlmError, LlmEvent, Message, Sampling};

struct Request {
    messages: Vec<Message>,
    sampling: Sampling,
}

/// The worker thread and its channels.
pub struct LlmWorker {
    requests: Option<Sender<Request>>,
    events: Receiver<LlmEvent>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LlmWorker {
    /// Starts a thread that loads an engine with `load`, reports [`LlmEvent::Ready`] (or the error),
    /// then answers requests.
    pub fn spawn<F>(load: F) -> std::io::Result<LlmWorker>
    where
        F: FnOnce() -> Result<Box<dyn ChatEngine>, LlmError> + Send + 'static,
    {
        let (req_tx, req_rx) = mpsc::channel::<Request>();
        let (ev_tx, ev_rx) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("llm".into())
            .spawn(move || {
                let mut engine = match load() {
                    Ok(engine) => {
                        let _ = ev_tx.send(LlmEvent::Ready(engine.describe()));
                        engine
                    }
                    Err(e) => {
                        let _ = ev_tx.send(LlmEvent::Error(e));
                        return;
                    }
                };
                for req in req_rx {
                    let mut sink = |e: LlmEvent| {
                        let _ = ev_tx.send(e);
                    };
                    let result = engine.generate(&req.messages, &req.sampling, &flag, &mut sink);
                    let _ = ev_tx.send(match result {
                        Ok(reply) => LlmEvent::Done(reply),
                        Err(e) => LlmEvent::Error(e),
                    });
                }
            })?;
        Ok(LlmWorker {
            requests: Some(req_tx),
            events: ev_rx,
            cancel,
            thread: Some(thread),
        })
    }

    /// Starts a reply; its events arrive on [`LlmWorker::events`], ending with `Done` or `Error`.
    pub fn chat(&self, messages: Vec<Message>, sampling: Sampling) -> Result<(), LlmError> {
        self.cancel.store(false, Ordering::Relaxed);
        self.requests
            .as_ref()
            .and_then(|tx| tx.send(Request { messages, sampling }).ok())
            .ok_or_else(|| LlmError::Decode("the LLM worker thread has stopped".into()))
    }

    /// Stops the reply in progress (within one token).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// A handle that cancels from elsewhere (a Ctrl-C handler, the UI).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<LlmEvent> {
        &self.events
    }
}

impl Drop for LlmWorker {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
