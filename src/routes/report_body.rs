//! Report bodies written a chunk of rows at a time, so a report of 50,000 influencers or
//! 100,000 links is never one string in memory: a JSON object (the report's fields before
//! its rows, the rows, the fields after them) or a CSV file (a header, the rows).
//!
//! A body that fails after its first bytes were sent can only be cut short: the error is
//! logged and the connection closed, so the client sees a truncated document, never a
//! complete wrong one.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use futures_util::Stream;
use serde::Serialize;

use crate::domain::{FIGURE_COLUMNS, Figures, spreadsheet_text};
use crate::error::ApiError;

/// Rows serialised per chunk of a body.
pub const ROWS_PER_CHUNK: usize = 500;

/// A chunk of a body, or the error that cuts it short.
pub type Chunk = Result<Bytes, ApiError>;

/// `value` as JSON.
fn json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "writing a report as JSON");
        internal()
    })
}

/// The start of a report object: `head`'s fields, then `"rows":[`.
pub fn json_head<H: Serialize>(head: &H) -> Chunk {
    let mut text = json(head)?;
    text.pop();
    if text.len() > 1 {
        text.push(',');
    }
    text.push_str("\"rows\":[");
    Ok(Bytes::from(text))
}

/// Rows as JSON array elements; `first` says whether they open the array.
pub fn json_rows<R: Serialize>(rows: &[R], first: bool) -> Chunk {
    let mut text = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 || !first {
            text.push(',');
        }
        text.push_str(&json(row)?);
    }
    Ok(Bytes::from(text))
}

/// The end of a report object: `]`, then `tail`'s fields.
pub fn json_tail<T: Serialize>(tail: &T) -> Chunk {
    let text = json(tail)?;
    let fields = text.strip_prefix('{').unwrap_or("}");
    Ok(Bytes::from(if fields == "}" {
        "]}".to_owned()
    } else {
        format!("],{fields}")
    }))
}

/// A CSV header: `keys`, then the figure columns.
pub fn csv_head(keys: &[&str]) -> Chunk {
    csv_records(std::iter::once(
        keys.iter()
            .chain(&FIGURE_COLUMNS)
            .map(|k| (*k).to_owned())
            .collect::<Vec<_>>(),
    ))
}

/// CSV records of rows: their key cells (made safe for spreadsheets) and figures.
pub fn csv_rows<'a>(rows: impl IntoIterator<Item = (Vec<String>, &'a Figures)>) -> Chunk {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for (key_cells, figures) in rows {
        let key_cells: Vec<_> = key_cells.iter().map(|c| spreadsheet_text(c)).collect();
        writer
            .serialize((key_cells, figures))
            .map_err(|e| csv_error(&e))?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| csv_error(&e.into_error().into()))
}

fn csv_records(records: impl IntoIterator<Item = Vec<String>>) -> Chunk {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for record in records {
        writer.write_record(&record).map_err(|e| csv_error(&e))?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| csv_error(&e.into_error().into()))
}

fn internal() -> ApiError {
    ApiError::client(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

fn csv_error(e: &csv::Error) -> ApiError {
    tracing::error!(error = %e, "writing CSV");
    internal()
}

/// A 200 whose JSON body is `chunks`.
pub fn json_response(chunks: impl Stream<Item = Chunk> + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(logged(chunks))
}

/// A 200 whose CSV body is `chunks`, downloaded as `filename`.
pub fn csv_response(chunks: impl Stream<Item = Chunk> + 'static, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(logged(chunks))
}

/// Logs the error that cuts a body short.
fn logged(chunks: impl Stream<Item = Chunk>) -> impl Stream<Item = Chunk> {
    use futures_util::StreamExt;
    chunks.inspect(|chunk| {
        if let Err(e) = chunk {
            tracing::warn!(error = %e, "a report body was cut short");
        }
    })
}
