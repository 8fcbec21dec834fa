//! Drawing one full frame of the terminal app — a 200×60 terminal, a 60-turn conversation with full
//! canvas replies, a 10-region canvas, the sketch preview — into ratatui's test backend. The goal is
//! well under 5 ms so typing and streaming stay smooth. `cargo bench --bench tui_frame` prints the
//! median; without `--bench` (as `cargo test` runs it) it draws a few frames as a smoke test.

use std::time::Instant;

use omost_tui::canvas;
use omost_tui::llm::{LlmEvent, Reply, ReplyStats};
use omost_tui::tui::app::{App, Models};
use omost_tui::tui::preview::PreviewCache;
use omost_tui::tui::theme::Theme;
use omost_tui::tui::ui;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut c = canvas::parse(include_str!("../examples/dragon.md"))
        .expect("dragon")
        .canvas;
    let more = c.regions.clone();
    c.regions.extend(more);
    c.regions.push(c.regions[0].clone());
    c.regions.push(c.regions[1].clone());
    let reply = format!(
        "Sure, here is the canvas.\n\n```python\n{}```\n",
        canvas::to_code(&c)
    );

    let models = Models {
        llm: Some("bench".into()),
        sdxl: Some("bench".into()),
        ..Models::default()
    };
    let mut app = App::new(c, models);
    for turn in 0..60 {
        app.type_text(&format!(
            "turn {turn}: make the dragon bigger and the sky stormier, with lightning"
        ));
        app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        app.llm_event(LlmEvent::Done(Reply {
            text: reply.clone(),
            stats: ReplyStats::default(),
        }));
    }
    app.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.canvas().regions.len(), 10);

    let theme = Theme::load("dark", None, true).expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut cache = PreviewCache::default();
    let frames = if full { 300 } else { 3 };
    let mut times: Vec<f64> = (0..frames)
        .map(|_| {
            let t = Instant::now();
            terminal
                .draw(|f| {
                    ui::draw(f, &app, &theme, &mut cache);
                })
                .expect("draw");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "full frame 200×60, 60 turns, 10 regions: median {:.3} ms, worst {:.3} ms ({frames} frames)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
