//! Which region is on top where: the canvas painted far → near onto a grid of terminal cells, for the
//! `canvas grid` command and the TUI's canvas pane.

use super::model::Canvas;
use super::process::GRID;

/// A `columns × rows` raster of the canvas. Each cell holds the index (into `canvas.regions`) of the
/// nearest region covering the cell's centre, or `None` where only the global background shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CellMap {
    pub columns: usize,
    pub rows: usize,
    pub cells: Vec<Option<usize>>,
}

impl CellMap {
    /// Paints `canvas` onto `columns × rows` cells.
    pub fn paint(canvas: &Canvas, columns: usize, rows: usize) -> CellMap {
        let mut cells = vec![None; columns * rows];
        for i in canvas.depth_order() {
            let rect = canvas.regions[i].rect();
            for row in 0..rows {
                let y = grid_coord(row, rows);
                for column in 0..columns {
                    if rect.contains(grid_coord(column, columns), y) {
                        cells[row * columns + column] = Some(i);
                    }
                }
            }
        }
        CellMap {
            columns,
            rows,
            cells,
        }
    }

    /// The region on top at (column, row).
    pub fn at(&self, column: usize, row: usize) -> Option<usize> {
        self.cells[row * self.columns + column]
    }

    /// The first cell (row-major) where `region` is on top, where its label can go.
    pub fn label_anchor(&self, region: usize) -> Option<(usize, usize)> {
        let k = self.cells.iter().position(|c| *c == Some(region))?;
        Some((k % self.columns, k / self.columns))
    }
}

/// The grid row/column (0..90) under the centre of cell `k` of `n`.
fn grid_coord(k: usize, n: usize) -> usize {
    ((2 * k + 1) * GRID / (2 * n)).min(GRID - 1)
}
