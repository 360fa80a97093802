//! Typed column builders shared by the text formats.
//!
//! A decoder stages one line at a time: it validates and converts every field into a
//! [`Cell`] first and only then appends, so a line that turns out to be bad half-way leaves
//! no partial row behind. Text cells are byte ranges of the line, which keeps the hot path
//! free of allocations.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int16Builder, Int32Builder, Int64Builder, MapBuilder, MapFieldNames,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::Reject;
use super::text::{parse_decimal, parse_int, parse_iso8601, percent_decode_into};

/// How a field's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Stored as written.
    Text,
    /// Stored percent-decoded once (see [`percent_decode_into`]).
    UrlEncoded,
    Int16,
    Int32,
    Int64,
    /// A decimal such as `0.082` seconds.
    Float64,
    /// An ISO-8601 UTC time such as `2018-07-02T22:22:48.364000Z`.
    Timestamp,
}

impl Kind {
    pub(crate) fn data_type(self) -> DataType {
        match self {
            Kind::Text | Kind::UrlEncoded => DataType::Utf8,
            Kind::Int16 => DataType::Int16,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Float64 => DataType::Float64,
            Kind::Timestamp => super::event_time_type(),
        }
    }
}

/// A stored column: its snake_case name and how it is typed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

pub(crate) const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// One staged field of the current line.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Null,
    /// A byte range of the line.
    Span(u32, u32),
    /// A byte range of the line in which `\"` stands for `"` and `\\` for `\`.
    Escaped(u32, u32),
    Int(i64),
    Float(f64),
}

enum Builder {
    Utf8(StringBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Text | Kind::UrlEncoded => Builder::Utf8(StringBuilder::new()),
            Kind::Int16 => Builder::Int16(Int16Builder::new()),
            Kind::Int32 => Builder::Int32(Int32Builder::new()),
            Kind::Int64 => Builder::Int64(Int64Builder::new()),
            Kind::Float64 => Builder::Float64(Float64Builder::new()),
            Kind::Timestamp => {
                Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Int16(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

/// Rows of one table under construction.
pub(crate) struct RowBuilder {
    schema: SchemaRef,
    columns: &'static [Column],
    event_time: TimestampMicrosecondBuilder,
    builders: Vec<Builder>,
    extra: MapBuilder<StringBuilder, StringBuilder>,
    cells: Vec<Cell>,
    extras: Vec<(String, u32, u32)>,
    scratch: Vec<u8>,
    rows: usize,
}

impl RowBuilder {
    pub(crate) fn new(schema: SchemaRef, columns: &'static [Column]) -> Self {
        let names =
            MapFieldNames { entry: "entries".into(), key: "keys".into(), value: "values".into() };
        RowBuilder {
            schema,
            columns,
            event_time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            builders: columns.iter().map(|c| Builder::new(c.kind)).collect(),
            extra: MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new()),
            cells: vec![Cell::Null; columns.len()],
            extras: Vec::new(),
            scratch: Vec::new(),
            rows: 0,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Starts staging a new line; anything staged before is dropped.
    pub(crate) fn begin(&mut self) {
        self.cells.fill(Cell::Null);
        self.extras.clear();
    }

    /// Stages `line[start..end]` as column `idx`. `-` and the empty string are NULL. Numbers
    /// are validated here, so a bad number rejects the line before anything is appended.
    pub(crate) fn stage(
        &mut self,
        idx: usize,
        line: &str,
        start: usize,
        end: usize,
    ) -> Result<(), Reject> {
        let raw = &line.as_bytes()[start..end];
        if raw.is_empty() || raw == b"-" {
            self.cells[idx] = Cell::Null;
            return Ok(());
        }
        let column = &self.columns[idx];
        self.cells[idx] = match column.kind {
            Kind::Text | Kind::UrlEncoded => Cell::Span(start as u32, end as u32),
            Kind::Int16 => match parse_int(raw) {
                Some(v) if i16::try_from(v).is_ok() => Cell::Int(v),
                _ => return Err(bad_number(column, raw)),
            },
            Kind::Int32 => match parse_int(raw) {
                Some(v) if i32::try_from(v).is_ok() => Cell::Int(v),
                _ => return Err(bad_number(column, raw)),
            },
            Kind::Int64 => match parse_int(raw) {
                Some(v) => Cell::Int(v),
                None => return Err(bad_number(column, raw)),
            },
            Kind::Float64 => match parse_decimal(raw) {
                Some(v) => Cell::Float(v),
                None => return Err(bad_number(column, raw)),
            },
            Kind::Timestamp => match parse_iso8601(raw) {
                Some(v) => Cell::Int(v),
                None => return Err(bad_number(column, raw)),
            },
        };
        Ok(())
    }

    /// Stages a text column whose value uses backslash escapes for quotes.
    pub(crate) fn stage_escaped(&mut self, idx: usize, start: usize, end: usize) {
        self.cells[idx] = Cell::Escaped(start as u32, end as u32);
    }

    /// Stages a field the format does not know, kept under `key` in `extra_fields`.
    pub(crate) fn stage_extra(&mut self, key: String, start: usize, end: usize) {
        self.extras.push((key, start as u32, end as u32));
    }

    /// Appends the staged line as a row.
    pub(crate) fn commit(&mut self, line: &str, event_time_micros: i64) {
        self.event_time.append_value(event_time_micros);
        for ((cell, builder), column) in self.cells.iter().zip(&mut self.builders).zip(self.columns)
        {
            match (builder, *cell) {
                (Builder::Utf8(b), Cell::Null) => b.append_null(),
                (Builder::Utf8(b), Cell::Span(s, e)) => {
                    let text = &line[s as usize..e as usize];
                    if column.kind == Kind::UrlEncoded
                        && percent_decode_into(text.as_bytes(), &mut self.scratch)
                    {
                        // A value whose escapes do not decode to UTF-8 is kept as written
                        // rather than mangled with replacement characters.
                        match std::str::from_utf8(&self.scratch) {
                            Ok(decoded) => b.append_value(decoded),
                            Err(_) => b.append_value(text),
                        }
                    } else {
                        b.append_value(text);
                    }
                }
                (Builder::Utf8(b), Cell::Escaped(s, e)) => {
                    let text = &line[s as usize..e as usize];
                    if text.contains('\\') {
                        b.append_value(unescape(text));
                    } else {
                        b.append_value(text);
                    }
                }
                (Builder::Int16(b), Cell::Int(v)) => b.append_value(v as i16),
                (Builder::Int32(b), Cell::Int(v)) => b.append_value(v as i32),
                (Builder::Int64(b), Cell::Int(v)) => b.append_value(v),
                (Builder::Float64(b), Cell::Float(v)) => b.append_value(v),
                (Builder::Timestamp(b), Cell::Int(v)) => b.append_value(v),
                (Builder::Timestamp(b), _) => b.append_null(),
                (Builder::Int16(b), _) => b.append_null(),
                (Builder::Int32(b), _) => b.append_null(),
                (Builder::Int64(b), _) => b.append_null(),
                (Builder::Float64(b), _) => b.append_null(),
                (Builder::Utf8(b), _) => b.append_null(),
            }
        }
        if self.extras.is_empty() {
            self.extra.append(false).expect("map builder accepts a null entry");
        } else {
            for (key, s, e) in &self.extras {
                self.extra.keys().append_value(key);
                self.extra.values().append_value(&line[*s as usize..*e as usize]);
            }
            self.extra.append(true).expect("keys and values were appended in pairs");
        }
        self.rows += 1;
    }

    /// The rows appended so far, as one batch; the builder starts empty again.
    pub(crate) fn finish(&mut self) -> RecordBatch {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len() + 2);
        arrays.push(Arc::new(self.event_time.finish()));
        arrays.extend(self.builders.iter_mut().map(Builder::finish));
        arrays.push(Arc::new(self.extra.finish()));
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
            .expect("builders are made from the same column list as the schema")
    }
}

fn bad_number(column: &Column, raw: &[u8]) -> Reject {
    let shown = String::from_utf8_lossy(&raw[..raw.len().min(32)]);
    Reject::new(format!("{} is not a valid {:?}: {shown:?}", column.name, column.kind))
}

/// Resolves `\"` to `"` and `\\` to `\`; any other backslash is kept.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('"' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn backslash_escapes_resolve_only_quotes_and_backslashes() {
        assert_eq!(unescape(r#"curl \"x\" \\ \n"#), r#"curl "x" \ \n"#);
        assert_eq!(unescape("trailing\\"), "trailing\\");
    }
}
