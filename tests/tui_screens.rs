//! The terminal app's screens, drawn into ratatui's test backend and compared with reviewed snapshots
//! (`cargo insta review` after an intended change): the wide three-pane layout, the narrow tabbed one,
//! the help overlay, the colour picker, and the canvas grid with its colours.

use omost_tui::canvas::Canvas;
use omost_tui::tui::app::{App, Focus, Hit, Models, Selection};
use omost_tui::tui::keymap::Keymap;
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
    screen_and_hits(app, width, height).0
}

fn screen_and_hits(app: &App, width: u16, height: u16) -> (Terminal<TestBackend>, ui::Hits) {
    let theme = Theme::load("dark", None, true).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut hits = ui::Hits::default();
    terminal
        .draw(|f| hits = ui::draw(f, app, &theme, &mut PreviewCache::default()))
        .unwrap();
    (terminal, hits)
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
fn rebound_keys_show_in_the_help_and_the_status_bar() {
    let overrides = toml::from_str(
        "render = \"f5\"\nhelp = [\"?\", \"f2\"]\nmove_left = \"ctrl-h\"\nselect_next = [\"j\", \"n\"]\nnew_region = \"N\"",
    )
    .unwrap();
    let keymap = Keymap::with_overrides(&overrides, std::path::Path::new("config.toml")).unwrap();
    let mut app = app();
    app.keymap = keymap;
    press(&mut app, KeyCode::Tab);
    let status = |app: &App| {
        let terminal = screen(app, 200, 30);
        let buffer = terminal.backend().buffer();
        (0..200)
            .map(|x| buffer[(x, 29)].symbol().to_string())
            .collect::<String>()
    };
    let line = status(&app);
    assert!(
        line.contains("j/k select")
            && line.contains("Ctrl-H/J/K/L move")
            && line.contains("F5 render"),
        "{line}"
    );
    press(&mut app, KeyCode::F(2));
    let terminal = screen(&app, 120, 60);
    let text = format!("{}", terminal.backend());
    assert!(text.contains("F5  render the current canvas"), "{text}");
    assert!(text.contains("j, n  select the next region"), "{text}");
}

#[test]
fn clicks_select_the_region_under_the_mouse_and_focus_panes() {
    let mut app = app();
    let (terminal, hits) = screen_and_hits(&app, 140, 40);
    let theme = Theme::load("dark", None, true).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut clicked = std::collections::BTreeSet::new();
    for y in 0..40 {
        for x in 0..140 {
            if let Some(hit @ Hit::Select(Selection::Region(i))) = hits.at(x, y) {
                // The grid cell under a region's hit shows that region (the list lies outside the grid).
                let rgb = app.canvas().regions[i].color.rgb();
                if buffer[(x, y)].bg == theme.color(rgb) && clicked.insert(i) {
                    app.click(Some(hit));
                    assert_eq!(
                        (app.focus, app.selection),
                        (Focus::Canvas, Selection::Region(i))
                    );
                }
            }
        }
    }
    assert_eq!(
        clicked.len(),
        app.canvas().regions.len(),
        "every region can be clicked"
    );
    app.click(hits.at(1, 1));
    assert_eq!(app.focus, Focus::Chat);
    // Narrow: the tabs switch panes.
    let (_, hits) = screen_and_hits(&app, 80, 30);
    app.click(hits.at(17, 0));
    assert_eq!(app.focus, Focus::Preview);
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
            .draw(|f| {
                ui::draw(f, &app, &theme, &mut cache);
            })
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
