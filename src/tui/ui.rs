//! Drawing the app: chat, canvas (coloured 3×3 grid, region list, details), preview and status bar on a
//! wide terminal; tabs and one pane at a time on a narrow one; overlays on top. Pure functions of the
//! state onto a ratatui frame, so buffer snapshots test them.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{
    color_matches, Activity, App, ChatEntry, Focus, Hit, Overlay, Selection, Speaker,
};
use super::edit::{field_text, region_name, Field};
use super::input::TextInput;
use super::keymap::{Action, HelpRow};
use super::preview::{HalfBlocks, Picture, PreviewCache};
use super::settings::Row;
use super::theme::Theme;
use crate::canvas::CellMap;
use crate::cli::grid::{contrast, region_mark};
use crate::render::pipeline::Stage;

/// Below this width the panes become tabs.
pub const WIDE: u16 = 100;

/// The clickable parts of the last frame; later entries lie on top of earlier ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hits(Vec<(Rect, Hit)>);

impl Hits {
    fn add(&mut self, area: Rect, hit: Hit) {
        self.0.push((area, hit));
    }

    /// What lies at column `x`, row `y`.
    pub fn at(&self, x: u16, y: u16) -> Option<Hit> {
        let point = ratatui::layout::Position { x, y };
        self.0
            .iter()
            .rev()
            .find(|(r, _)| r.contains(point))
            .map(|&(_, h)| h)
    }
}

/// Draws the whole screen and says where its clickable parts are.
pub fn draw(f: &mut Frame, app: &App, theme: &Theme, cache: &mut PreviewCache) -> Hits {
    let area = f.area();
    let mut hits = Hits::default();
    if area.width < 40 || area.height < 12 {
        f.render_widget(
            Paragraph::new("omost: make the terminal at least 40×12").style(theme.text),
            area,
        );
        return hits;
    }
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    if area.width >= WIDE {
        let [chat, canvas, preview] = Layout::horizontal([
            Constraint::Percentage(38),
            Constraint::Percentage(34),
            Constraint::Percentage(28),
        ])
        .areas(main);
        hits.add(chat, Hit::Pane(Focus::Chat));
        hits.add(canvas, Hit::Pane(Focus::Canvas));
        hits.add(preview, Hit::Pane(Focus::Preview));
        draw_chat(f, app, theme, chat);
        draw_canvas(f, app, theme, canvas, &mut hits);
        draw_preview(f, app, theme, preview, cache);
    } else {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(main);
        draw_tabs(f, app, theme, tabs, &mut hits);
        hits.add(pane, Hit::Pane(app.focus));
        match app.focus {
            Focus::Chat => draw_chat(f, app, theme, pane),
            Focus::Canvas => draw_canvas(f, app, theme, pane, &mut hits),
            Focus::Preview => draw_preview(f, app, theme, pane, cache),
        }
    }
    draw_status(f, app, theme, status);
    match &app.overlay {
        Some(Overlay::Help { scroll }) => draw_help(f, app, theme, area, *scroll),
        Some(Overlay::Field {
            target,
            field,
            buffer,
        }) => draw_field_editor(f, app, theme, area, *target, *field, buffer),
        Some(Overlay::Colors { query, choice, .. }) => draw_colors(f, theme, area, query, *choice),
        Some(Overlay::Settings { row, editing }) => {
            draw_settings(f, app, theme, area, *row, editing.as_deref())
        }
        Some(Overlay::Sessions { items, choice }) => draw_sessions(f, theme, area, items, *choice),
        Some(Overlay::OpenImage { path }) => draw_open_image(f, theme, area, path),
        None => {}
    }
    hits
}

fn pane_block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if focused { theme.focus } else { theme.border })
        .title(Span::styled(
            format!(" {title} "),
            if focused { theme.focus } else { theme.title },
        ))
}

fn draw_tabs(f: &mut Frame, app: &App, theme: &Theme, area: Rect, hits: &mut Hits) {
    let mut x = area.x;
    for (name, focus) in [
        ("Chat", Focus::Chat),
        ("Canvas", Focus::Canvas),
        ("Preview", Focus::Preview),
    ] {
        let width = name.len() as u16 + 2;
        hits.add(
            Rect::new(x, area.y, width, 1).intersection(area),
            Hit::Pane(focus),
        );
        x += width + 1;
    }
    let tab = |name: &str, focus: Focus| {
        let style = if app.focus == focus {
            theme.focus.add_modifier(Modifier::REVERSED)
        } else {
            theme.dim
        };
        Span::styled(format!(" {name} "), style)
    };
    let line = Line::from(vec![
        tab("Chat", Focus::Chat),
        Span::raw(" "),
        tab("Canvas", Focus::Canvas),
        Span::raw(" "),
        tab("Preview", Focus::Preview),
        Span::styled(
            format!("   {} switches", key_for(app, Action::NextPane)),
            theme.dim,
        ),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// Wraps `text` to `width` columns at spaces (hard-breaking longer words).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for raw in text.split('\n') {
        let mut line = String::new();
        for word in raw.split(' ') {
            let mut word = word.to_owned();
            loop {
                let len = line.chars().count();
                let wlen = word.chars().count();
                if len + usize::from(len > 0) + wlen <= width {
                    if len > 0 {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    break;
                }
                if len > 0 {
                    out.push(std::mem::take(&mut line));
                    continue;
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
                if word.is_empty() {
                    break;
                }
            }
        }
        out.push(line);
    }
    out
}

/// An assistant reply as shown: the canvas code collapsed to one line once the reply is done.
fn reply_text(entry: &ChatEntry) -> String {
    if entry.note.is_none() {
        return entry.text.clone();
    }
    match entry.text.find("```") {
        Some(start) => {
            let before = entry.text[..start].trim_end();
            let lines = entry.text[start..].lines().count();
            let after = entry.text[start + 3..]
                .find("```")
                .map(|e| entry.text[start + 3 + e + 3..].trim())
                .unwrap_or("");
            let mut s = String::from(before);
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(&format!("[canvas code · {lines} lines · Y copies it]"));
            if !after.is_empty() {
                s.push('\n');
                s.push_str(after);
            }
            s
        }
        None => entry.text.clone(),
    }
}

fn chat_lines(app: &App, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if app.chat.is_empty() {
        let (pane, render) = (key_for(app, Action::NextPane), key_for(app, Action::Render));
        let hint = match (&app.models.llm, app.models.llm_loading) {
            (Some(_), _) => format!("Describe a picture and press Enter. The LLM writes a canvas; edit it in the canvas pane ({pane}), render with {render}."),
            (None, true) => "The LLM is loading…".into(),
            (None, false) => format!("No LLM configured: start with --llm MODEL.gguf. You can still edit the canvas ({pane}) and render it."),
        };
        for l in wrap(&hint, width) {
            lines.push(Line::styled(l, theme.dim));
        }
    }
    for (i, entry) in app.chat.iter().enumerate() {
        let (name, style) = match entry.speaker {
            Speaker::User => ("you", theme.user),
            Speaker::Assistant => ("omost", theme.assistant),
            Speaker::App => ("note", theme.warning),
        };
        let marker = if app.selected_message == Some(i) {
            "▶ "
        } else {
            ""
        };
        lines.push(Line::styled(
            format!("{marker}{name}"),
            style.add_modifier(Modifier::BOLD),
        ));
        let text = if entry.speaker == Speaker::Assistant {
            reply_text(entry)
        } else {
            entry.text.clone()
        };
        for l in wrap(&text, width.saturating_sub(2)) {
            lines.push(Line::styled(format!("  {l}"), theme.text));
        }
        if let Some(note) = &entry.note {
            let style = if note.starts_with('✓') {
                theme.ok
            } else {
                theme.warning
            };
            for l in wrap(note, width.saturating_sub(2)) {
                lines.push(Line::styled(format!("  {l}"), style));
            }
        }
        lines.push(Line::raw(""));
    }
    lines
}

fn draw_chat(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let input_lines = app.input.text().split('\n').count().clamp(1, 6) as u16;
    let [history, input] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(input_lines + 2)]).areas(area);
    let focused = app.focus == Focus::Chat && app.overlay.is_none();
    let block = pane_block("Chat".into(), false, theme);
    let inner = block.inner(history);
    f.render_widget(block, history);
    let lines = chat_lines(app, theme, inner.width as usize);
    let visible = inner.height as usize;
    let bottom = lines.len().saturating_sub(app.chat_scroll.min(lines.len()));
    let top = bottom.saturating_sub(visible);
    let shown: Vec<Line> = lines[top..bottom].to_vec();
    f.render_widget(Paragraph::new(shown), inner);
    if app.chat_scroll > 0 {
        let badge = Rect {
            x: inner.x + inner.width.saturating_sub(14),
            y: inner.y + inner.height.saturating_sub(1),
            width: 14.min(inner.width),
            height: 1,
        };
        f.render_widget(Paragraph::new("↓ End: follow").style(theme.focus), badge);
    }
    let block = pane_block(
        "message · Enter sends · Ctrl-J new line".into(),
        focused,
        theme,
    );
    let inner = block.inner(input);
    f.render_widget(block, input);
    let shown = input_lines_with_cursor(&app.input, focused, inner.height as usize, theme);
    f.render_widget(Paragraph::new(shown), inner);
}

/// The input's lines, the cursor drawn where it is (when focused), scrolled so the cursor's line shows.
fn input_lines_with_cursor(
    input: &TextInput,
    focused: bool,
    rows: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let (before, _) = input.split();
    let cursor_line = before.matches('\n').count();
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in input.text().split('\n').enumerate() {
        if focused && i == cursor_line {
            let col = before.rsplit('\n').next().unwrap_or("").len();
            let (a, b) = l.split_at(col.min(l.len()));
            lines.push(Line::from(vec![
                Span::styled(a.to_owned(), theme.text),
                Span::styled("▏", theme.focus),
                Span::styled(b.to_owned(), theme.text),
            ]));
        } else {
            lines.push(Line::styled(l.to_owned(), theme.text));
        }
    }
    let skip = (cursor_line + 1).saturating_sub(rows.max(1));
    lines.into_iter().skip(skip).collect()
}

fn draw_canvas(f: &mut Frame, app: &App, theme: &Theme, area: Rect, hits: &mut Hits) {
    let canvas = app.canvas();
    let focused = app.focus == Focus::Canvas && app.overlay.is_none();
    let title = format!(
        "Canvas v{} · {} regions",
        app.versions.number(),
        canvas.regions.len()
    );
    let block = pane_block(title, focused, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 6 || inner.width < 10 {
        return;
    }
    let list_rows = (canvas.regions.len() as u16 + 1)
        .min(inner.height / 4)
        .max(2);
    let details_rows = 5.min(inner.height / 4);
    let grid_rows = inner.height.saturating_sub(list_rows + details_rows + 2);
    let [grid, _, list, _, details] = Layout::vertical([
        Constraint::Length(grid_rows),
        Constraint::Length(1),
        Constraint::Length(list_rows),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    draw_grid(f, app, theme, grid, hits);
    draw_region_list(f, app, theme, list, hits);
    draw_details(f, app, theme, details);
}

/// The grid at the image's aspect ratio (cells are about twice as tall as wide).
fn grid_size(area: Rect, aspect: f64) -> (u16, u16) {
    let by_width = (area.width as f64, area.width as f64 / aspect / 2.0);
    let (w, h) = if by_width.1 <= area.height as f64 {
        by_width
    } else {
        (area.height as f64 * aspect * 2.0, area.height as f64)
    };
    ((w.floor() as u16).max(3), (h.floor() as u16).max(3))
}

fn draw_grid(f: &mut Frame, app: &App, theme: &Theme, area: Rect, hits: &mut Hits) {
    let canvas = app.canvas();
    let aspect = app.settings.width as f64 / app.settings.height as f64;
    let (w, h) = grid_size(area, aspect);
    let (w, h) = (w.min(area.width), h.min(area.height));
    let x0 = area.x + (area.width - w) / 2;
    let map = CellMap::paint(canvas, w as usize, h as usize);
    let background = canvas
        .global
        .as_ref()
        .map(|g| g.color.rgb())
        .unwrap_or([40, 40, 40]);
    let selected = match app.selection {
        Selection::Region(i) => Some(i),
        Selection::Global => None,
    };
    // Clicks: each row's runs of one region (the global description where none).
    for row in 0..h {
        let mut start = 0;
        for col in 1..=w {
            let here = map.at(start as usize, row as usize);
            if col == w || map.at(col as usize, row as usize) != here {
                let selection = here.map_or(Selection::Global, Selection::Region);
                hits.add(
                    Rect::new(x0 + start, area.y + row, col - start, 1),
                    Hit::Select(selection),
                );
                start = col;
            }
        }
    }
    let buf = f.buffer_mut();
    for row in 0..h {
        for col in 0..w {
            let region = map.at(col as usize, row as usize);
            let rgb = region
                .map(|i| canvas.regions[i].color.rgb())
                .unwrap_or(background);
            let on_edge = |c: i32, r: i32| {
                c < 0
                    || r < 0
                    || c >= w as i32
                    || r >= h as i32
                    || map.at(c as usize, r as usize) != region
            };
            let (c, r) = (col as i32, row as i32);
            let edge = region.is_some()
                && region == selected
                && (on_edge(c - 1, r)
                    || on_edge(c + 1, r)
                    || on_edge(c, r - 1)
                    || on_edge(c, r + 1));
            // Faint 3×3 lines.
            let third = (col * 3 / w != (col + 1) * 3 / w && col + 1 < w)
                || (row * 3 / h != (row + 1) * 3 / h && row + 1 < h);
            let (symbol, fg) = if edge {
                ("█", contrast(rgb))
            } else if third {
                ("·", contrast(rgb))
            } else {
                (" ", contrast(rgb))
            };
            let cell = &mut buf[(x0 + col, area.y + row)];
            cell.set_symbol(symbol);
            cell.set_style(Style::default().bg(theme.color(rgb)).fg(theme.color(fg)));
        }
    }
    // Labels: each region's mark and name where it shows.
    for i in 0..canvas.regions.len() {
        if let Some((col, row)) = map.label_anchor(i) {
            let rgb = canvas.regions[i].color.rgb();
            let label = format!("{} {}", region_mark(i), region_name(canvas, i));
            let room = (w as usize).saturating_sub(col);
            let text: String = label.chars().take(room).collect();
            let style = Style::default()
                .fg(theme.color(contrast(rgb)))
                .bg(theme.color(rgb));
            let style = if Some(i) == selected {
                style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            } else {
                style
            };
            buf.set_string(x0 + col as u16, area.y + row as u16, text, style);
        }
    }
}

fn draw_region_list(f: &mut Frame, app: &App, theme: &Theme, area: Rect, hits: &mut Hits) {
    let canvas = app.canvas();
    let mut lines = Vec::new();
    let global_color = canvas
        .global
        .as_ref()
        .map(|g| g.color.rgb())
        .unwrap_or([40, 40, 40]);
    let marker = |sel: bool| if sel { "▸ " } else { "  " };
    let g_sel = app.selection == Selection::Global;
    let g_text = canvas
        .global
        .as_ref()
        .map(|g| g.description.clone())
        .unwrap_or_else(|| {
            format!(
                "(no global description: {} edits it)",
                key_for(app, Action::Edit)
            )
        });
    lines.push(Line::from(vec![
        Span::styled(marker(g_sel), theme.focus),
        Span::styled("■ ", Style::default().fg(theme.color(global_color))),
        Span::styled(
            format!("global  {g_text}"),
            if g_sel { theme.selected } else { theme.text },
        ),
    ]));
    for i in app.region_order() {
        let r = &canvas.regions[i];
        let sel = app.selection == Selection::Region(i);
        lines.push(Line::from(vec![
            Span::styled(marker(sel), theme.focus),
            Span::styled("■ ", Style::default().fg(theme.color(r.color.rgb()))),
            Span::styled(
                format!(
                    "{} {:>4.1}  {:<20.20}  {}",
                    region_mark(i),
                    r.distance_to_viewer,
                    region_name(canvas, i),
                    r.location.name()
                ),
                if sel { theme.selected } else { theme.text },
            ),
        ]));
    }
    let selected_line = match app.selection {
        Selection::Global => 0,
        Selection::Region(i) => 1 + app.region_order().iter().position(|&j| j == i).unwrap_or(0),
    };
    let skip = (selected_line + 1).saturating_sub(area.height as usize);
    let items = std::iter::once(Selection::Global)
        .chain(app.region_order().into_iter().map(Selection::Region))
        .skip(skip);
    for (row, selection) in (area.y..area.bottom()).zip(items) {
        hits.add(
            Rect::new(area.x, row, area.width, 1),
            Hit::Select(selection),
        );
    }
    f.render_widget(
        Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()),
        area,
    );
}

fn draw_details(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let canvas = app.canvas();
    let mut lines = Vec::new();
    match app.selection {
        Selection::Global => {
            if let Some(g) = &canvas.global {
                lines.push(Line::styled(
                    format!("global · colour {}", g.color.name()),
                    theme.title,
                ));
            }
        }
        Selection::Region(i) => {
            let r = &canvas.regions[i];
            lines.push(Line::styled(
                format!(
                    "{} · {} · {} · colour {}",
                    r.location.name(),
                    r.offset.name(),
                    r.area.name(),
                    r.color.name()
                ),
                theme.title,
            ));
        }
    }
    let target = match app.selection {
        Selection::Global => None,
        Selection::Region(i) => Some(i),
    };
    for field in [Field::Description, Field::Details, Field::Tags] {
        let text = field_text(canvas, target, field).replace('\n', " / ");
        if !text.is_empty() {
            lines.push(Line::from(vec![
                Span::styled(format!("{}: ", field.label()), theme.dim),
                Span::styled(text, theme.text),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

fn draw_half_blocks(f: &mut Frame, theme: &Theme, area: Rect, blocks: &HalfBlocks) {
    let w = blocks.cells.first().map_or(0, |r| r.len()) as u16;
    let x0 = area.x + area.width.saturating_sub(w) / 2;
    let buf = f.buffer_mut();
    for (row, cells) in blocks.cells.iter().enumerate().take(area.height as usize) {
        for (col, (top, bottom)) in cells.iter().enumerate().take(area.width as usize) {
            let cell = &mut buf[(x0 + col as u16, area.y + row as u16)];
            cell.set_symbol("▀");
            cell.set_style(
                Style::default()
                    .fg(theme.color(*top))
                    .bg(theme.color(*bottom)),
            );
        }
    }
}

fn draw_preview(f: &mut Frame, app: &App, theme: &Theme, area: Rect, cache: &mut PreviewCache) {
    let focused = app.focus == Focus::Preview && app.overlay.is_none();
    let shown = app.shown_image.and_then(|i| app.images.get(i));
    let title = match (shown, app.shown_image) {
        (Some(_), Some(i)) => format!("Preview {}/{}", i + 1, app.images.len()),
        _ => "Preview · sketch".into(),
    };
    let block = pane_block(title, focused, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    let [picture, caption] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    let s = &app.settings;
    let mut caption_text = format!(
        "{}×{} · seed {} · {} steps · cfg {}",
        s.width, s.height, s.seed, s.steps, s.cfg
    );
    let graphics = shown.and_then(|path| cache.graphics(path, picture.width, picture.height));
    match (shown, graphics) {
        (Some(path), Some(Ok(protocol))) => {
            f.render_widget(ratatui_image::Image::new(protocol), picture);
            caption_text = format!("{}\n{caption_text}", path.display());
        }
        (Some(_), Some(Err(e))) => f.render_widget(Paragraph::new(e).style(theme.warning).wrap(Wrap { trim: true }), picture),
        (Some(path), None) => match cache.image(path, picture.width as usize, picture.height as usize) {
            Ok(blocks) => {
                let blocks = blocks.clone();
                draw_half_blocks(f, theme, picture, &blocks);
                caption_text = format!("{}\n{caption_text}", path.display());
            }
            Err(e) => f.render_widget(Paragraph::new(e).style(theme.warning).wrap(Wrap { trim: true }), picture),
        },
        (None, _) => match app.canvas().sketch() {
            Ok(sketch) => {
                let aspect = s.width as f64 / s.height as f64;
                let blocks = Picture::from_sketch(&sketch).half_blocks(picture.width as usize, picture.height as usize, aspect);
                draw_half_blocks(f, theme, picture, &blocks);
                let render = key_for(app, Action::Render);
                caption_text = format!("colour sketch · {render} renders\n{caption_text}");
            }
            Err(_) => f.render_widget(
                Paragraph::new(format!(
                    "No canvas yet: chat with the LLM, or add a global description ({} to the canvas, {}, {}).",
                    key_for(app, Action::NextPane),
                    key_for(app, Action::SelectGlobal),
                    key_for(app, Action::Edit)
                ))
                    .style(theme.dim)
                    .wrap(Wrap { trim: true }),
                picture,
            ),
        },
    }
    f.render_widget(Paragraph::new(caption_text).style(theme.dim), caption);
}

fn activity_text(app: &App) -> String {
    match &app.activity {
        Activity::Idle => String::new(),
        Activity::Replying { chars, started } => {
            let secs = started.elapsed().as_secs_f64();
            format!("omost is writing · {chars} chars · {secs:.0} s · Esc stops")
        }
        Activity::Rendering { stage, started } => match stage {
            Some(Stage::Step { hires, step, steps }) => {
                let secs = started.elapsed().as_secs_f64();
                let rate = *step as f64 / secs.max(1e-3);
                let eta = (steps - step) as f64 / rate.max(1e-6);
                let filled = 12 * step / (*steps).max(1);
                format!(
                    "{}rendering {}{} {step}/{steps} · {rate:.2} it/s · ETA {eta:.0} s · Esc stops",
                    if *hires { "hi-res " } else { "" },
                    "█".repeat(filled),
                    "░".repeat(12 - filled)
                )
            }
            Some(Stage::Decoding) => "decoding…".into(),
            Some(Stage::Encoding) => "encoding…".into(),
            None => "preparing the render…".into(),
        },
    }
}

/// The shortest key for `action` outside text input, or `–` when it has none.
fn key_for(app: &App, action: Action) -> String {
    app.keymap
        .short(action, false)
        .unwrap_or_else(|| "–".into())
}

/// The keys that matter in the focused pane, read from the keymap.
fn status_hints(app: &App) -> String {
    use Action::*;
    let groups: &[(&str, &[Action])] = match app.focus {
        Focus::Chat => &[
            ("next pane", &[NextPane]),
            ("render", &[Render]),
            ("help", &[Help]),
        ],
        Focus::Canvas => &[
            ("select", &[SelectNext, SelectPrevious]),
            ("move", &[MoveLeft, MoveDown, MoveUp, MoveRight]),
            ("offset", &[NextOffset]),
            ("area", &[NextArea]),
            ("depth", &[Nearer, Farther]),
            ("colour", &[Colour]),
            ("edit", &[Edit]),
            ("new/dup/del", &[NewRegion, Duplicate, Delete]),
            ("undo/redo", &[Undo, Redo]),
            ("render", &[Render]),
            ("help", &[Help]),
        ],
        Focus::Preview => &[
            ("images", &[PreviousImage, NextImage]),
            ("settings", &[Settings]),
            ("render", &[Render]),
            ("help", &[Help]),
        ],
    };
    let typing = app.focus == Focus::Chat;
    let mut hints: Vec<String> = Vec::new();
    if typing {
        hints.push("Enter send".into());
    }
    for (label, actions) in groups {
        let keys: Vec<String> = actions
            .iter()
            .filter_map(|&a| app.keymap.short(a, typing))
            .collect();
        if !keys.is_empty() {
            hints.push(format!("{} {label}", keys.join("/")));
        }
    }
    hints.join(" · ")
}

fn draw_status(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let model = |m: &Option<String>, loading: bool, name: &str| match (m, loading) {
        (Some(d), _) => format!("{name} {d}"),
        (None, true) => format!("{name} loading…"),
        (None, false) => format!("{name} –"),
    };
    let hints = status_hints(app);
    let activity = activity_text(app);
    let middle = if !activity.is_empty() {
        activity
    } else {
        app.status.clone()
    };
    let left = format!(
        " {} · {} ",
        model(&app.models.llm, app.models.llm_loading, "LLM"),
        model(&app.models.sdxl, app.models.sdxl_loading, "SDXL")
    );
    let line = Line::from(vec![
        Span::styled(left, theme.status),
        Span::styled(format!(" {middle} "), theme.focus),
        Span::styled(format!(" {hints}"), theme.dim),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Every key, for the help overlay.
fn draw_help(f: &mut Frame, app: &App, theme: &Theme, area: Rect, scroll: usize) {
    let rows = app.keymap.help();
    // Above the status bar, which keeps showing what runs.
    let above_status = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    let rect = centered(above_status, 84, rows.len() as u16 + 2);
    f.render_widget(Clear, rect);
    let visible = rect.height.saturating_sub(2) as usize;
    let scroll = scroll.min(rows.len().saturating_sub(visible));
    let more = if scroll + visible < rows.len() {
        " · j/k scroll"
    } else {
        ""
    };
    let block = pane_block(
        format!("Keys{more} · any other key closes · rebind in [keys] of config.toml"),
        true,
        theme,
    );
    let lines: Vec<Line> = rows
        .iter()
        .skip(scroll)
        .map(|row| match row {
            HelpRow::Heading(h) => Line::from(Span::styled(format!("  {h}"), theme.title)),
            HelpRow::Keys(k, d) => Line::from(vec![
                Span::styled(format!("{k:>28}  "), theme.focus),
                Span::styled(d.to_string(), theme.text),
            ]),
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block), rect);
}

fn draw_field_editor(
    f: &mut Frame,
    app: &App,
    theme: &Theme,
    area: Rect,
    target: Option<usize>,
    field: Field,
    buffer: &TextInput,
) {
    let rect = centered(area, 70, 12);
    f.render_widget(Clear, rect);
    let who = match target {
        Some(i) => region_name(app.canvas(), i),
        None => "global description".into(),
    };
    let block = pane_block(
        format!(
            "{who} · {} · Enter saves · Tab next field · Esc cancels",
            field.label()
        ),
        true,
        theme,
    );
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let lines = input_lines_with_cursor(buffer, true, usize::MAX, theme);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_settings(
    f: &mut Frame,
    app: &App,
    theme: &Theme,
    area: Rect,
    row: usize,
    editing: Option<&str>,
) {
    let panel = app.panel_settings();
    let rect = centered(area, 76, Row::ALL.len() as u16 + 4);
    f.render_widget(Clear, rect);
    let block = pane_block(
        "Render settings · ↑↓ choose · ←→ change · Enter types · Esc closes".into(),
        true,
        theme,
    );
    let mut lines: Vec<Line> = Row::ALL
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let value = match (i == row, editing) {
                (true, Some(text)) => format!("{text}▏"),
                _ => panel.value(*r),
            };
            let style = if i == row { theme.selected } else { theme.text };
            Line::from(vec![
                Span::styled(format!("{:>24}  ", r.label()), theme.dim),
                Span::styled(value, style),
            ])
        })
        .collect();
    lines.push(Line::styled(
        format!("{:>24}  {}", "", app.status),
        theme.warning,
    ));
    f.render_widget(Paragraph::new(lines).block(block), rect);
}

fn draw_open_image(f: &mut Frame, theme: &Theme, area: Rect, path: &TextInput) {
    let rect = centered(area, 80, 6);
    f.render_widget(Clear, rect);
    let block = pane_block(
        "Open a PNG made by omost · Enter opens · Esc cancels".into(),
        true,
        theme,
    );
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let mut lines = vec![Line::styled(
        "Its canvas becomes a new version and its settings the render settings. Path:",
        theme.dim,
    )];
    lines.extend(input_lines_with_cursor(path, true, usize::MAX, theme));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_sessions(
    f: &mut Frame,
    theme: &Theme,
    area: Rect,
    items: &[crate::session::SessionSummary],
    choice: usize,
) {
    let rect = centered(area, 90, 18);
    f.render_widget(Clear, rect);
    let block = pane_block(
        "Open a session · ↑↓ choose · Enter opens · Esc closes".into(),
        true,
        theme,
    );
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let rows = inner.height as usize;
    let skip = (choice + 1).saturating_sub(rows);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(i, s)| {
            let about = if s.damaged {
                "damaged (kept as it is)".to_owned()
            } else {
                format!(
                    "{} turns · {} canvas versions · {}",
                    s.turns,
                    s.versions,
                    s.first_prompt.as_deref().unwrap_or("(no chat)")
                )
            };
            let style = if i == choice {
                theme.selected
            } else {
                theme.text
            };
            Line::from(vec![
                Span::styled(format!("{:<20} ", s.name), style),
                Span::styled(about, theme.dim),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_colors(f: &mut Frame, theme: &Theme, area: Rect, query: &str, choice: usize) {
    let matches = color_matches(query);
    let rect = centered(area, 40, 16);
    f.render_widget(Clear, rect);
    let block = pane_block(format!("colour: {query}▏"), true, theme);
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let rows = inner.height as usize;
    let skip = (choice + 1).saturating_sub(rows);
    let lines: Vec<Line> = matches
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(k, c)| {
            let style = if k == choice {
                theme.selected
            } else {
                theme.text
            };
            Line::from(vec![
                Span::styled("████ ", Style::default().fg(theme.color(c.rgb()))),
                Span::styled(c.name().to_owned(), style),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
