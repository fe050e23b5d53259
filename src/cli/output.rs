//! What a command prints: the server's JSON as it came (`--json`), or text for people.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use serde_json::Value;

/// A command's answer in both forms; `--json` picks the first.
#[derive(Debug)]
pub struct Answer {
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
        }
    }

    /// What to print: pretty JSON, or the text.
    pub fn render(&self, json: bool) -> String {
        if json {
            serde_json::to_string_pretty(&self.json).unwrap_or_default()
        } else {
            self.text.clone()
        }
    }
}

/// A JSON value as a table cell: `-` for null, strings without quotes.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A ratio as a percent with one decimal, `-` when there is none.
pub fn percent(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}", r * 100.0))
}

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    table
}

/// Right-aligns the columns from `first` on (the figures).
pub fn align_figures(table: &mut Table, first: usize) {
    for column in table.column_iter_mut().skip(first) {
        column.set_cell_alignment(CellAlignment::Right);
    }
}

/// The rows of `items` as a table of `columns` (title, field of each item).
pub fn list_table(items: &[Value], columns: &[(&str, &str)]) -> String {
    let mut t = table(&columns.iter().map(|(title, _)| *title).collect::<Vec<_>>());
    for item in items {
        t.add_row(columns.iter().map(|(_, field)| text(&item[*field])));
    }
    if items.is_empty() {
        return "(none)".to_owned();
    }
    t.to_string()
}
