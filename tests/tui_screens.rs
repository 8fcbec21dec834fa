//! The terminal app's screens, drawn into ratatui's test backend and compared with reviewed snapshots
//! (`cargo insta review` after an intended change): the wide three-pane layout, the narrow tabbed one,
//! the help overlay, the colour picker, and the canvas grid with its colours.

use omost_tui::canvas::Canvas;
use omost_tui::tui::app::{App, Models};
use omost_tui::tui::preview::PreviewCache;
use omost_tui::tui::theme::Theme;
use omost_tui::tui::ui;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn dragon() -> Canvas {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/dragon.md"))
        .unwrap();
    omost_tui::canvas::parse(&text).unwrap().canvas
}

fn app() -> App {
    let models = Models {
        llm: Some("SmolLM2 (test)".into()),
        sdxl: Some("tiny-sdxl · CPU F32".into()),
        ..Models::default()
    };
    App::new(dragon(), models)
}

fn screen(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let theme = Theme::load("dark", None, true).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| ui::draw(f, app, &theme, &mut PreviewCache::default()))
        .unwrap();
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn wide_layout() {
    let mut app = app();
    app.type_text("a fierce battle of warriors and a dragon");
    insta::assert_snapshot!(screen(&app, 140, 40).backend());
}

#[test]
fn narrow_layout_shows_one_pane_with_tabs() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(screen(&app, 80, 30).backend());
}

#[test]
fn help_and_colour_picker_overlays() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help", screen(&app, 120, 32).backend());
    press(&mut app, KeyCode::Char('x')); // any key closes help
    press(&mut app, KeyCode::Char('c'));
    app.type_text("gree");
    insta::assert_snapshot!("colours", screen(&app, 120, 32).backend());
}

#[test]
fn settings_panel() {
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!(screen(&app, 120, 32).backend());
}

#[test]
fn grid_colours() {
    // The canvas pane alone on a narrow screen, with every cell's colours (the selected region outlined).
    let mut app = app();
    press(&mut app, KeyCode::Tab);
    let terminal = screen(&app, 48, 24);
    let buffer = terminal.backend().buffer();
    insta::assert_debug_snapshot!(buffer);
}

#[test]
fn tiny_terminal_asks_for_more_room() {
    let app = app();
    insta::assert_snapshot!(screen(&app, 30, 8).backend());
}

fn write_png(path: &std::path::Path) {
    let (w, h) = (32u32, 40u32);
    let rgb: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % 256) as u8, 80, 200])
        .collect();
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&rgb).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn rendered_image_in_each_protocol() {
    use ratatui_image::picker::{Picker, ProtocolType};
    let path = std::env::temp_dir().join(format!("omost-preview-{}.png", std::process::id()));
    write_png(&path);
    let mut app = app();
    app.images.push(path.clone());
    app.shown_image = Some(0);
    let theme = Theme::load("dark", None, true).unwrap();
    for (protocol, marker) in [
        (ProtocolType::Kitty, "\x1b_G"),
        (ProtocolType::Sixel, "\x1bP"),
        (ProtocolType::Iterm2, "\x1b]1337;File="),
        (ProtocolType::Halfblocks, "▀"),
    ] {
        let mut picker = Picker::halfblocks();
        picker.set_protocol_type(protocol);
        let mut cache = PreviewCache::with_picker(picker);
        let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
        terminal
            .draw(|f| ui::draw(f, &app, &theme, &mut cache))
            .unwrap();
        let found = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.symbol().contains(marker));
        assert!(found, "{protocol:?}: no {marker:?} in the preview");
        assert!(format!("{}", terminal.backend()).contains("Preview 1/1"));
    }
    std::fs::remove_file(path).ok();
}
