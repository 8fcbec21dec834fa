//! The renderer on its own thread, for the TUI: loads the models once, then renders requests one at a
//! time, reporting progress on a channel; a request can be cancelled between steps.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use candle_core::{DType, Device};

use super::metadata::{device_label, dtype_label, prompt_text, save_png, RenderRecord};
use super::pipeline::{
    Conditioning, Pooled, RenderError, RenderSettings, Renderer, Stage, TextEncoders,
};
use super::weights::{SdxlSource, SdxlWeights};
use crate::canvas::{self, Canvas};

/// What to render and where to write it.
#[derive(Clone, Debug)]
pub struct RenderRequest {
    pub canvas: Canvas,
    pub settings: RenderSettings,
    pub negative: String,
    pub pooled: Pooled,
    /// The PNG to write (atomically).
    pub output: PathBuf,
}

/// What the worker reports.
#[derive(Clone, Debug, PartialEq)]
pub enum RenderEvent {
    /// Models loaded: a description ("RealVisXL_V4.0 · CPU F32").
    Ready(String),
    Progress(Stage),
    /// The image is written.
    Done {
        output: PathBuf,
        seconds: f64,
    },
    Cancelled,
    /// One line.
    Error(String),
}

/// The worker thread and its channels.
pub struct RenderWorker {
    requests: Option<Sender<RenderRequest>>,
    events: Receiver<RenderEvent>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RenderWorker {
    /// Starts the thread: it opens `sdxl`, loads the text encoders, UNet and VAE on `device` in `dtype`,
    /// reports `Ready` (or `Error`) and waits for requests.
    pub fn spawn(sdxl: String, device: Device, dtype: DType) -> std::io::Result<Self> {
        let (req_tx, req_rx) = mpsc::channel::<RenderRequest>();
        let (ev_tx, ev_rx) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("render".into())
            .spawn(move || {
                let loaded = (|| -> Result<Loaded, String> {
                    let source = SdxlSource::resolve(&sdxl)?;
                    let model = source.model_name();
                    let weights = SdxlWeights::open(source)?;
                    let vae_dtype = if dtype == DType::F32 {
                        DType::F32
                    } else {
                        DType::BF16
                    };
                    Ok(Loaded {
                        encoders: TextEncoders::load(&weights, dtype, &device)?,
                        renderer: Renderer::load(&weights, dtype, vae_dtype, &device)?,
                        model,
                        sdxl: sdxl.clone(),
                        device: device_label(&device),
                        dtype: dtype_label(dtype),
                    })
                })();
                let loaded = match loaded {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ev_tx.send(RenderEvent::Error(e));
                        return;
                    }
                };
                let device_name = if device.is_cpu() { "CPU" } else { "GPU" };
                let _ = ev_tx.send(RenderEvent::Ready(format!(
                    "{} · {device_name} {dtype:?}",
                    loaded.model
                )));
                for req in req_rx {
                    flag.store(false, Ordering::Relaxed);
                    let started = std::time::Instant::now();
                    let event = match render_one(&loaded, &req, &flag, &ev_tx) {
                        Ok(()) => RenderEvent::Done {
                            output: req.output.clone(),
                            seconds: started.elapsed().as_secs_f64(),
                        },
                        Err(RenderError::Cancelled) => RenderEvent::Cancelled,
                        Err(RenderError::Failed(m)) => RenderEvent::Error(m),
                    };
                    let _ = ev_tx.send(event);
                }
            })?;
        Ok(RenderWorker {
            requests: Some(req_tx),
            events: ev_rx,
            cancel,
            thread: Some(thread),
        })
    }

    /// Queues a render; requests run in order.
    pub fn render(&self, request: RenderRequest) -> Result<(), String> {
        self.requests
            .as_ref()
            .and_then(|tx| tx.send(request).ok())
            .ok_or_else(|| "the render thread has stopped".to_owned())
    }

    /// Stops the render in progress at the next step.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<RenderEvent> {
        &self.events
    }
}

impl Drop for RenderWorker {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The models on the worker thread, and how they were opened (for the PNG's record).
struct Loaded {
    encoders: TextEncoders,
    renderer: Renderer,
    model: String,
    sdxl: String,
    device: String,
    dtype: String,
}

fn render_one(
    loaded: &Loaded,
    req: &RenderRequest,
    cancel: &AtomicBool,
    events: &Sender<RenderEvent>,
) -> Result<(), RenderError> {
    let conditions = req
        .canvas
        .conditions()
        .map_err(|e| RenderError::Failed(e.to_string()))?;
    let sketch = match req.settings.from_sketch {
        Some(_) => Some(
            req.canvas
                .sketch()
                .map_err(|e| RenderError::Failed(e.to_string()))?,
        ),
        None => None,
    };
    let conditioning =
        Conditioning::from_canvas(&loaded.encoders, &conditions, &req.negative, req.pooled)?;
    let image = loaded.renderer.render(
        &conditioning,
        sketch.as_ref(),
        &req.settings,
        &mut |stage| {
            let _ = events.send(RenderEvent::Progress(stage));
            !cancel.load(Ordering::Relaxed)
        },
    )?;
    let record = RenderRecord {
        settings: &req.settings,
        prompt: prompt_text(&conditions),
        negative: &req.negative,
        pooled: req.pooled,
        model: loaded.model.clone(),
        sdxl: loaded.sdxl.clone(),
        device: loaded.device.clone(),
        dtype: loaded.dtype.clone(),
        canvas_json: canvas::to_json(&req.canvas),
        noise: None,
    };
    if let Some(dir) = req.output.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            RenderError::Failed(format!(
                "{}: {}",
                dir.display(),
                crate::fsutil::io_reason(&e)
            ))
        })?;
    }
    save_png(&req.output, &image, &record).map_err(RenderError::Failed)
}
