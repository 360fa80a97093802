//! JSON records into Arrow, shared by the JSON formats (WAF, CloudTrail, CloudFront v2).
//!
//! A JSON table is declared as a list of [`JsonColumn`]s, each naming the path of keys that
//! leads to its value (`httpRequest.clientIp`) and how the value is typed. A record is
//! walked once with [`jiter`], without building a document: keys on a declared path are
//! decoded straight into column buffers, every other key is skipped (or, at the top level,
//! kept as JSON text in `extra_fields`).
//!
//! Values are decoded leniently, because AWS writes the same key as a number in one record
//! and as a string in the next: a number column takes a number or a numeric string, a text
//! column takes any scalar (an object or array becomes its JSON text), a boolean takes
//! `true`/`false` or the strings `"true"`, `"false"`, `"yes"`, `"no"`. A value of a type that
//! cannot be converted becomes NULL. Nested lists and structs are typed Arrow; their JSON keys
//! are matched to the snake_case field names ignoring case and underscores (`ruleGroupId` is
//! `rule_group_id`, CloudTrail's `ARN` is `arn`).
//!
//! Columns are plain vectors that can be truncated, so a record that turns out to be invalid
//! half-way (bad JSON, no timestamp) is rolled back and leaves no partial row behind.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, MapArray,
    StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, SchemaRef};
use arrow::record_batch::RecordBatch;
use jiter::{Jiter, JiterResult, Peek};

use super::text::{parse_int, parse_iso8601};
use super::{
    EVENT_TIME_COLUMN, EXTRA_FIELDS_COLUMN, Framing, Outcome, RecordDecoder, Reject,
    event_time_type, extra_fields_type,
};

/// How a declared column's JSON value becomes a column value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonKind {
    /// A string; a number or boolean as its JSON text; an object or array as JSON text.
    Text,
    Int64,
    Int32,
    Bool,
    /// The value's JSON text as written, whatever its type; `null` is NULL.
    Json,
    /// A list of strings from an array of `{"name": …}` objects (or of plain strings).
    Names,
    /// Typed Arrow lists and structs (see the module docs for key matching).
    Nested(DataType),
}

impl JsonKind {
    fn data_type(&self) -> DataType {
        match self {
            JsonKind::Text | JsonKind::Json => DataType::Utf8,
            JsonKind::Int64 => DataType::Int64,
            JsonKind::Int32 => DataType::Int32,
            JsonKind::Bool => DataType::Boolean,
            JsonKind::Names => list_of(DataType::Utf8),
            JsonKind::Nested(data_type) => data_type.clone(),
        }
    }
}

/// A list type with nullable items named `item`, as DataFusion and Parquet expect.
pub(crate) fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// A struct type of nullable fields.
pub(crate) fn struct_of(fields: &[(&str, DataType)]) -> DataType {
    DataType::Struct(
        fields.iter().map(|(name, data_type)| Field::new(*name, data_type.clone(), true)).collect(),
    )
}

/// A stored column and the path of JSON keys its value is found at.
#[derive(Debug, Clone)]
pub(crate) struct JsonColumn {
    pub name: &'static str,
    pub path: &'static [&'static str],
    pub kind: JsonKind,
}

pub(crate) fn jcol(
    name: &'static str,
    path: &'static [&'static str],
    kind: JsonKind,
) -> JsonColumn {
    JsonColumn { name, path, kind }
}

/// How the event time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    /// Milliseconds since the epoch, as a number or a numeric string.
    EpochMillis,
    /// ISO-8601 UTC such as `2014-03-06T21:22:54Z`.
    Iso8601,
}

/// The declaration of a JSON table.
pub(crate) struct JsonTable {
    columns: Vec<JsonColumn>,
    time_path: &'static [&'static str],
    time_kind: TimeKind,
    /// A record with any of these top-level keys is not an event (a CloudTrail digest, say)
    /// and is skipped rather than rejected.
    not_an_event: &'static [&'static str],
    /// Top-level keys that are known but deliberately not stored (so not `extra_fields`).
    ignored: &'static [&'static str],
    tree: Vec<(&'static str, Target)>,
}

impl JsonTable {
    pub(crate) fn new(
        columns: Vec<JsonColumn>,
        time_path: &'static [&'static str],
        time_kind: TimeKind,
        not_an_event: &'static [&'static str],
        ignored: &'static [&'static str],
    ) -> Self {
        let mut tree = Vec::new();
        insert(&mut tree, time_path, Target::Time);
        for (i, column) in columns.iter().enumerate() {
            insert(&mut tree, column.path, Target::Column(i));
        }
        JsonTable { columns, time_path, time_kind, not_an_event, ignored, tree }
    }

    /// Where the value under a key of an object at `members` goes.
    fn lookup<'t>(&self, members: &'t [(&'static str, Target)], top: bool, key: &str) -> Next<'t> {
        if let Some((_, target)) = members.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Next::Go(target);
        }
        if !top {
            return Next::Skip;
        }
        if self.not_an_event.contains(&key) {
            Next::NotAnEvent
        } else if self.ignored.contains(&key) {
            Next::Skip
        } else {
            Next::Extra(key.to_owned())
        }
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        let mut fields = vec![Field::new(EVENT_TIME_COLUMN, event_time_type(), false)];
        fields.extend(self.columns.iter().map(|c| Field::new(c.name, c.kind.data_type(), true)));
        fields.push(Field::new(EXTRA_FIELDS_COLUMN, extra_fields_type(), true));
        Arc::new(arrow::datatypes::Schema::new(fields))
    }
}

/// What to do with the value under a key.
enum Next<'t> {
    Go(&'t Target),
    Extra(String),
    NotAnEvent,
    Skip,
}

/// Where the value under a key goes.
#[derive(Debug)]
enum Target {
    Time,
    Column(usize),
    /// An object some of whose members are columns; `raw` also keeps it whole as JSON text.
    Branch {
        raw: Option<usize>,
        members: Vec<(&'static str, Target)>,
    },
}

fn insert(level: &mut Vec<(&'static str, Target)>, path: &'static [&'static str], leaf: Target) {
    let (first, rest) = path.split_first().expect("column paths are not empty");
    let at = level.iter().position(|(key, _)| key == first);
    if rest.is_empty() {
        match at {
            None => level.push((first, leaf)),
            Some(at) => match (&mut level[at].1, leaf) {
                // An object kept whole as well as flattened into columns.
                (Target::Branch { raw, .. }, Target::Column(i)) => *raw = Some(i),
                (slot, leaf) => *slot = leaf,
            },
        }
        return;
    }
    let at = at.unwrap_or_else(|| {
        level.push((first, Target::Branch { raw: None, members: Vec::new() }));
        level.len() - 1
    });
    let slot = &mut level[at].1;
    if let Target::Column(i) = *slot {
        *slot = Target::Branch { raw: Some(i), members: Vec::new() };
    }
    match slot {
        Target::Branch { members, .. } => insert(members, rest, leaf),
        _ => unreachable!("a time path never has members"),
    }
}

/// Decodes JSON records of one table into rows.
struct JsonRows {
    table: &'static JsonTable,
    schema: SchemaRef,
    time: Vec<i64>,
    columns: Vec<Buffer>,
    extra: MapBuffer,
    rows: usize,
    /// Which columns got a value in the current record.
    seen: Vec<bool>,
}

impl JsonRows {
    fn new(table: &'static JsonTable, schema: SchemaRef) -> Self {
        JsonRows {
            table,
            schema,
            time: Vec::new(),
            columns: table.columns.iter().map(|c| Buffer::new(&c.kind.data_type())).collect(),
            extra: MapBuffer::default(),
            rows: 0,
            seen: vec![false; table.columns.len()],
        }
    }

    /// Decodes one record, which must be one JSON object; on failure nothing is appended.
    fn decode(&mut self, record: &[u8]) -> Result<Outcome, Reject> {
        if std::str::from_utf8(record).is_err() {
            return Err(Reject::new("record is not valid UTF-8"));
        }
        self.seen.fill(false);
        let mut record_time = None;
        let mut not_an_event = false;
        let table = self.table;
        let mut j = Jiter::new(record);
        let walked = match j.peek() {
            Ok(Peek::Object) => self
                .walk_object(&mut j, &table.tree, true, &mut record_time, &mut not_an_event)
                .and_then(|()| j.finish()),
            Ok(_) => {
                self.rollback();
                return Err(Reject::new("record is not a JSON object"));
            }
            Err(e) => Err(e),
        };
        if let Err(error) = walked {
            self.rollback();
            return Err(Reject::new(format!("invalid JSON: {error}")));
        }
        if not_an_event {
            self.rollback();
            return Ok(Outcome::Skipped);
        }
        let Some(time) = record_time else {
            self.rollback();
            return Err(Reject::new(format!(
                "no valid {} (the event time)",
                self.table.time_path.join(".")
            )));
        };
        for (column, seen) in self.columns.iter_mut().zip(&self.seen) {
            if !seen {
                column.push_null();
            }
        }
        self.extra.close_row();
        self.time.push(time);
        self.rows += 1;
        Ok(Outcome::Row)
    }

    fn rollback(&mut self) {
        for column in &mut self.columns {
            column.truncate(self.rows);
        }
        self.extra.truncate(self.rows);
    }

    fn walk_object(
        &mut self,
        j: &mut Jiter<'_>,
        members: &'static [(&'static str, Target)],
        top: bool,
        time: &mut Option<i64>,
        not_an_event: &mut bool,
    ) -> JiterResult<()> {
        let table = self.table;
        let mut next = j.known_object()?.map(|key| table.lookup(members, top, key));
        while let Some(step) = next {
            match step {
                Next::Go(Target::Time) => {
                    let value = read_time(j, table.time_kind)?;
                    *time = time.or(value);
                }
                Next::Go(Target::Column(i)) => self.column(j, *i)?,
                Next::Go(Target::Branch { raw, members }) => {
                    let peek = j.peek()?;
                    let start = j.current_index();
                    if peek == Peek::Object {
                        self.walk_object(j, members, false, time, not_an_event)?;
                    } else {
                        j.known_skip(peek)?;
                    }
                    if let Some(i) = *raw
                        && !std::mem::replace(&mut self.seen[i], true)
                    {
                        match peek {
                            Peek::Null => self.columns[i].push_null(),
                            _ => self.columns[i].push_text(j.slice_to_current(start)),
                        }
                    }
                }
                Next::Extra(name) => {
                    let peek = j.peek()?;
                    let start = j.current_index();
                    j.known_skip(peek)?;
                    if peek != Peek::Null {
                        self.extra.push(name.as_bytes(), j.slice_to_current(start));
                    }
                }
                Next::NotAnEvent => {
                    *not_an_event = true;
                    j.next_skip()?;
                }
                Next::Skip => j.next_skip()?,
            }
            next = j.next_key()?.map(|key| table.lookup(members, top, key));
        }
        Ok(())
    }

    fn column(&mut self, j: &mut Jiter<'_>, i: usize) -> JiterResult<()> {
        if std::mem::replace(&mut self.seen[i], true) {
            // A repeated key: the first value stands.
            return j.next_skip();
        }
        let buffer = &mut self.columns[i];
        match &self.table.columns[i].kind {
            JsonKind::Json => {
                let peek = j.peek()?;
                let start = j.current_index();
                j.known_skip(peek)?;
                if peek == Peek::Null {
                    buffer.push_null();
                } else {
                    buffer.push_text(j.slice_to_current(start));
                }
                Ok(())
            }
            JsonKind::Names => push_names(j, buffer),
            _ => buffer.push_json(j),
        }
    }

    /// The decoded rows as one batch; the decoder starts empty again.
    fn finish(&mut self) -> RecordBatch {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len() + 2);
        let time =
            TimestampMicrosecondArray::from(std::mem::take(&mut self.time)).with_timezone("UTC");
        arrays.push(Arc::new(time));
        arrays.extend(self.columns.iter_mut().map(Buffer::finish));
        arrays.push(self.extra.finish());
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
            .expect("buffers are made from the same declaration as the schema")
    }
}

/// The decoder of a JSON table: records split as `framing` says, each batch passed through
/// `finish` (a format's fix-up, such as WAF's host from the `Host` header).
pub(crate) struct JsonDecoder {
    rows: JsonRows,
    framing: Framing,
    finish: fn(RecordBatch) -> RecordBatch,
}

impl JsonDecoder {
    pub(crate) fn new(
        table: &'static JsonTable,
        schema: SchemaRef,
        wrapper: Option<&'static str>,
        finish: fn(RecordBatch) -> RecordBatch,
    ) -> Self {
        JsonDecoder {
            rows: JsonRows::new(table, schema),
            framing: Framing::Json { wrapper },
            finish,
        }
    }
}

impl RecordDecoder for JsonDecoder {
    fn framing(&self) -> Framing {
        self.framing
    }

    fn decode(&mut self, record: &[u8]) -> Outcome {
        self.rows.decode(record).unwrap_or_else(Outcome::Rejected)
    }

    fn buffered_rows(&self) -> usize {
        self.rows.rows
    }

    fn finish_batch(&mut self) -> RecordBatch {
        (self.finish)(self.rows.finish())
    }
}

fn read_time(j: &mut Jiter<'_>, kind: TimeKind) -> JiterResult<Option<i64>> {
    let peek = j.peek()?;
    Ok(match (peek, kind) {
        (Peek::String, TimeKind::EpochMillis) => {
            parse_int(j.known_str()?.as_bytes()).and_then(|ms| ms.checked_mul(1000))
        }
        (Peek::String, TimeKind::Iso8601) => parse_iso8601(j.known_str()?.as_bytes()),
        (p, TimeKind::EpochMillis) if p.is_num() => {
            parse_int(j.known_number_bytes(p)?).and_then(|ms| ms.checked_mul(1000))
        }
        (p, _) => {
            j.known_skip(p)?;
            None
        }
    })
}

/// Appends the `name` members of an array of objects (or the array's strings).
fn push_names(j: &mut Jiter<'_>, buffer: &mut Buffer) -> JiterResult<()> {
    let Buffer::List { offsets, valid, child } = buffer else {
        unreachable!("Names columns are lists of strings");
    };
    let peek = j.peek()?;
    if peek != Peek::Array {
        j.known_skip(peek)?;
        let last = *offsets.last().expect("offsets start with 0");
        offsets.push(last);
        valid.push(false);
        return Ok(());
    }
    let mut count = 0;
    let mut next = j.known_array()?;
    while let Some(peek) = next {
        match peek {
            Peek::Object => {
                let mut name = None;
                let mut key = j.known_object()?.map(|k| k == "name");
                while let Some(is_name) = key {
                    if is_name && name.is_none() && j.peek()? == Peek::String {
                        name = Some(j.known_str()?.to_owned());
                    } else {
                        j.next_skip()?;
                    }
                    key = j.next_key()?.map(|k| k == "name");
                }
                match name {
                    Some(name) => child.push_text(name.as_bytes()),
                    None => child.push_null(),
                }
            }
            Peek::String => {
                let text = j.known_str()?;
                child.push_text(text.as_bytes());
            }
            other => {
                j.known_skip(other)?;
                child.push_null();
            }
        }
        count += 1;
        next = j.array_step()?;
    }
    let last = *offsets.last().expect("offsets start with 0");
    offsets.push(last + count);
    valid.push(true);
    Ok(())
}

/// Whether a JSON key names a snake_case field: equal ignoring case and underscores.
pub(crate) fn key_matches(key: &str, field: &str) -> bool {
    let mut a = key.bytes().filter(|&b| b != b'_');
    let mut b = field.bytes().filter(|&b| b != b'_');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

/// A growable, truncatable column.
pub(crate) enum Buffer {
    Utf8 { bytes: Vec<u8>, offsets: Vec<i32>, valid: Vec<bool> },
    Int64 { values: Vec<i64>, valid: Vec<bool> },
    Int32 { values: Vec<i32>, valid: Vec<bool> },
    Float64 { values: Vec<f64>, valid: Vec<bool> },
    Bool { values: Vec<bool>, valid: Vec<bool> },
    List { offsets: Vec<i32>, valid: Vec<bool>, child: Box<Buffer> },
    Struct { fields: Fields, children: Vec<Buffer>, valid: Vec<bool> },
}

impl Buffer {
    pub(crate) fn new(data_type: &DataType) -> Self {
        match data_type {
            DataType::Utf8 => {
                Buffer::Utf8 { bytes: Vec::new(), offsets: vec![0], valid: Vec::new() }
            }
            DataType::Int64 => Buffer::Int64 { values: Vec::new(), valid: Vec::new() },
            DataType::Int32 => Buffer::Int32 { values: Vec::new(), valid: Vec::new() },
            DataType::Float64 => Buffer::Float64 { values: Vec::new(), valid: Vec::new() },
            DataType::Boolean => Buffer::Bool { values: Vec::new(), valid: Vec::new() },
            DataType::List(item) => Buffer::List {
                offsets: vec![0],
                valid: Vec::new(),
                child: Box::new(Buffer::new(item.data_type())),
            },
            DataType::Struct(fields) => Buffer::Struct {
                fields: fields.clone(),
                children: fields.iter().map(|f| Buffer::new(f.data_type())).collect(),
                valid: Vec::new(),
            },
            other => unreachable!("JSON tables declare no {other} columns"),
        }
    }

    fn valid(&self) -> &Vec<bool> {
        match self {
            Buffer::Utf8 { valid, .. }
            | Buffer::Int64 { valid, .. }
            | Buffer::Int32 { valid, .. }
            | Buffer::Float64 { valid, .. }
            | Buffer::Bool { valid, .. }
            | Buffer::List { valid, .. }
            | Buffer::Struct { valid, .. } => valid,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.valid().len()
    }

    pub(crate) fn push_null(&mut self) {
        match self {
            Buffer::Utf8 { offsets, valid, .. } | Buffer::List { offsets, valid, .. } => {
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last);
                valid.push(false);
            }
            Buffer::Int64 { values, valid } => {
                values.push(0);
                valid.push(false);
            }
            Buffer::Int32 { values, valid } => {
                values.push(0);
                valid.push(false);
            }
            Buffer::Float64 { values, valid } => {
                values.push(0.0);
                valid.push(false);
            }
            Buffer::Bool { values, valid } => {
                values.push(false);
                valid.push(false);
            }
            Buffer::Struct { children, valid, .. } => {
                children.iter_mut().for_each(Buffer::push_null);
                valid.push(false);
            }
        }
    }

    /// Appends text to a string column (other columns get NULL).
    pub(crate) fn push_text(&mut self, text: &[u8]) {
        match self {
            Buffer::Utf8 { bytes, offsets, valid } => {
                bytes.extend_from_slice(text);
                offsets
                    .push(i32::try_from(bytes.len()).expect("a batch holds under 2 GiB of text"));
                valid.push(true);
            }
            other => other.push_null(),
        }
    }

    fn push_int(&mut self, value: Option<i64>) {
        match (self, value) {
            (Buffer::Int64 { values, valid }, Some(v)) => {
                values.push(v);
                valid.push(true);
            }
            (Buffer::Int32 { values, valid }, Some(v)) if i32::try_from(v).is_ok() => {
                values.push(v as i32);
                valid.push(true);
            }
            (Buffer::Float64 { values, valid }, Some(v)) => {
                values.push(v as f64);
                valid.push(true);
            }
            (other, _) => other.push_null(),
        }
    }

    /// Appends the next JSON value, converted leniently to this column's type.
    pub(crate) fn push_json(&mut self, j: &mut Jiter<'_>) -> JiterResult<()> {
        let peek = j.peek()?;
        if peek == Peek::Null {
            j.known_null()?;
            self.push_null();
            return Ok(());
        }
        match self {
            Buffer::Utf8 { .. } => match peek {
                Peek::String => {
                    let text = j.known_str()?;
                    self.push_text(text.as_bytes());
                }
                Peek::True | Peek::False => {
                    let value = j.known_bool(peek)?;
                    self.push_text(if value { b"true" } else { b"false" });
                }
                p => {
                    let start = j.current_index();
                    j.known_skip(p)?;
                    let text = j.slice_to_current(start);
                    self.push_text(text);
                }
            },
            Buffer::Int64 { .. } | Buffer::Int32 { .. } => {
                let value = match peek {
                    Peek::String => parse_int(j.known_str()?.trim().as_bytes()),
                    p if p.is_num() => parse_int(j.known_number_bytes(p)?),
                    p => {
                        j.known_skip(p)?;
                        None
                    }
                };
                self.push_int(value);
            }
            Buffer::Float64 { values, valid } => {
                let value = match peek {
                    Peek::String => j.known_str()?.trim().parse::<f64>().ok(),
                    p if p.is_num() => std::str::from_utf8(j.known_number_bytes(p)?)
                        .ok()
                        .and_then(|t| t.parse::<f64>().ok()),
                    p => {
                        j.known_skip(p)?;
                        None
                    }
                };
                values.push(value.filter(|v| v.is_finite()).unwrap_or(0.0));
                valid.push(value.is_some_and(f64::is_finite));
            }
            Buffer::Bool { values, valid } => {
                let value = match peek {
                    Peek::True | Peek::False => Some(j.known_bool(peek)?),
                    Peek::String => {
                        let text = j.known_str()?;
                        if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("yes") {
                            Some(true)
                        } else if text.eq_ignore_ascii_case("false")
                            || text.eq_ignore_ascii_case("no")
                        {
                            Some(false)
                        } else {
                            None
                        }
                    }
                    p => {
                        j.known_skip(p)?;
                        None
                    }
                };
                values.push(value.unwrap_or(false));
                valid.push(value.is_some());
            }
            Buffer::List { offsets, valid, child } => {
                if peek != Peek::Array {
                    j.known_skip(peek)?;
                    self.push_null();
                    return Ok(());
                }
                let mut count = 0;
                let mut next = j.known_array()?;
                while next.is_some() {
                    child.push_json(j)?;
                    count += 1;
                    next = j.array_step()?;
                }
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last + count);
                valid.push(true);
            }
            Buffer::Struct { fields, children, valid } => {
                if peek != Peek::Object {
                    j.known_skip(peek)?;
                    self.push_null();
                    return Ok(());
                }
                let before = valid.len();
                let mut key =
                    j.known_object()?.map(|k| fields.iter().position(|f| key_matches(k, f.name())));
                while let Some(found) = key {
                    match found {
                        Some(i) if children[i].len() == before => children[i].push_json(j)?,
                        _ => j.next_skip()?,
                    }
                    key =
                        j.next_key()?.map(|k| fields.iter().position(|f| key_matches(k, f.name())));
                }
                for child in children.iter_mut() {
                    if child.len() == before {
                        child.push_null();
                    }
                }
                valid.push(true);
            }
        }
        Ok(())
    }

    /// Drops everything after the first `rows` entries.
    pub(crate) fn truncate(&mut self, rows: usize) {
        match self {
            // A value that failed half-way may have left bytes or children beyond the last
            // complete entry, so those are always cut back to where entry `rows` starts.
            Buffer::Utf8 { bytes, offsets, valid } => {
                bytes.truncate(offsets[rows] as usize);
                offsets.truncate(rows + 1);
                valid.truncate(rows);
            }
            Buffer::Int64 { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            Buffer::Int32 { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            Buffer::Float64 { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            Buffer::Bool { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            Buffer::List { offsets, valid, child } => {
                child.truncate(offsets[rows] as usize);
                offsets.truncate(rows + 1);
                valid.truncate(rows);
            }
            Buffer::Struct { children, valid, .. } => {
                for child in children {
                    child.truncate(rows);
                }
                valid.truncate(rows);
            }
        }
    }

    /// The column as an Arrow array; the buffer starts empty again.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            Buffer::Utf8 { bytes, offsets, valid } => {
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                let array = StringArray::try_new(
                    offsets,
                    std::mem::take(bytes).into(),
                    nulls(std::mem::take(valid)),
                )
                .expect("text comes from valid UTF-8 JSON");
                Arc::new(array)
            }
            Buffer::Int64 { values, valid } => Arc::new(Int64Array::new(
                std::mem::take(values).into(),
                nulls(std::mem::take(valid)),
            )),
            Buffer::Int32 { values, valid } => Arc::new(Int32Array::new(
                std::mem::take(values).into(),
                nulls(std::mem::take(valid)),
            )),
            Buffer::Float64 { values, valid } => Arc::new(Float64Array::new(
                std::mem::take(values).into(),
                nulls(std::mem::take(valid)),
            )),
            Buffer::Bool { values, valid } => Arc::new(BooleanArray::new(
                std::mem::take(values).into(),
                nulls(std::mem::take(valid)),
            )),
            Buffer::List { offsets, valid, child } => {
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                let values = child.finish();
                let item: FieldRef = Arc::new(Field::new("item", values.data_type().clone(), true));
                Arc::new(ListArray::new(item, offsets, values, nulls(std::mem::take(valid))))
            }
            Buffer::Struct { fields, children, valid } => {
                let arrays: Vec<ArrayRef> = children.iter_mut().map(Buffer::finish).collect();
                let len = valid.len();
                let nulls = nulls(std::mem::take(valid));
                if fields.is_empty() {
                    Arc::new(StructArray::new_empty_fields(len, nulls))
                } else {
                    Arc::new(StructArray::new(fields.clone(), arrays, nulls))
                }
            }
        }
    }
}

fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
    if valid.iter().all(|&v| v) { None } else { Some(NullBuffer::from(valid)) }
}

/// The `extra_fields` map under construction: key → JSON text of each unknown top-level key.
#[derive(Default)]
struct MapBuffer {
    keys: Vec<u8>,
    key_offsets: Vec<i32>,
    values: Vec<u8>,
    value_offsets: Vec<i32>,
    /// Entries per row, as offsets into the entries.
    rows: Vec<i32>,
}

impl MapBuffer {
    fn entries(&self) -> usize {
        self.key_offsets.len()
    }

    fn push(&mut self, key: &[u8], value: &[u8]) {
        self.keys.extend_from_slice(key);
        self.key_offsets.push(i32::try_from(self.keys.len()).expect("under 2 GiB of keys"));
        self.values.extend_from_slice(value);
        self.value_offsets.push(i32::try_from(self.values.len()).expect("under 2 GiB of values"));
    }

    fn close_row(&mut self) {
        self.rows.push(self.entries() as i32);
    }

    fn truncate(&mut self, rows: usize) {
        self.rows.truncate(rows);
        let entries = self.rows.last().map_or(0, |&n| n as usize);
        self.key_offsets.truncate(entries);
        self.value_offsets.truncate(entries);
        self.keys.truncate(if entries == 0 { 0 } else { self.key_offsets[entries - 1] as usize });
        self.values.truncate(if entries == 0 {
            0
        } else {
            self.value_offsets[entries - 1] as usize
        });
    }

    fn finish(&mut self) -> ArrayRef {
        let text = |bytes: &mut Vec<u8>, ends: &mut Vec<i32>| {
            let mut offsets = Vec::with_capacity(ends.len() + 1);
            offsets.push(0);
            offsets.append(ends);
            StringArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                std::mem::take(bytes).into(),
                None,
            )
            .expect("keys and values are valid UTF-8")
        };
        let keys = text(&mut self.keys, &mut self.key_offsets);
        let values = text(&mut self.values, &mut self.value_offsets);
        let DataType::Map(entries_field, _) = extra_fields_type() else {
            unreachable!("extra_fields is a map")
        };
        let DataType::Struct(entry_fields) = entries_field.data_type().clone() else {
            unreachable!("map entries are structs")
        };
        let entries = StructArray::new(
            entry_fields,
            vec![Arc::new(keys) as ArrayRef, Arc::new(values) as ArrayRef],
            None,
        );
        let mut offsets = Vec::with_capacity(self.rows.len() + 1);
        offsets.push(0);
        let mut valid = Vec::with_capacity(self.rows.len());
        let mut last = 0;
        for &end in &self.rows {
            offsets.push(end);
            valid.push(end > last);
            last = end;
        }
        self.rows.clear();
        Arc::new(
            MapArray::try_new(
                entries_field,
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                entries,
                nulls(valid),
                false,
            )
            .expect("map offsets follow the entries"),
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    use super::*;

    #[test]
    fn keys_match_snake_case_fields_ignoring_case_and_underscores() {
        assert!(key_matches("ruleGroupId", "rule_group_id"));
        assert!(key_matches("ARN", "arn"));
        assert!(key_matches("ARNPrefix", "arn_prefix"));
        assert!(!key_matches("ruleGroup", "rule_group_id"));
    }

    fn push_all(data_type: &DataType, values: &[&str]) -> ArrayRef {
        let mut buffer = Buffer::new(data_type);
        for value in values {
            let mut j = Jiter::new(value.as_bytes());
            buffer.push_json(&mut j).unwrap();
            j.finish().unwrap();
        }
        buffer.finish()
    }

    #[test]
    fn numbers_and_numeric_strings_both_parse_and_anything_else_is_null() {
        let array = push_all(&DataType::Int64, &["300", "\"120\"", "\"INVALID\"", "null", "{}"]);
        let ints = array.as_primitive::<Int64Type>();
        assert_eq!(ints.iter().collect::<Vec<_>>(), vec![Some(300), Some(120), None, None, None]);
    }

    #[test]
    fn nested_lists_of_structs_match_keys_and_fill_missing_members() {
        let data_type = list_of(struct_of(&[
            ("arn", DataType::Utf8),
            ("account_id", DataType::Utf8),
            ("type", DataType::Utf8),
        ]));
        let array = push_all(
            &data_type,
            &[
                r#"[{"ARN":"arn:aws:s3:::b","accountId":"111122223333","type":"AWS::S3::Bucket","x":[1]}]"#,
                r#"[{"type":"AWS::IAM::Role"},{"accountId":42}]"#,
                "null",
                "[]",
            ],
        );
        let lists = array.as_list::<i32>();
        assert_eq!(lists.len(), 4);
        assert!(lists.is_null(2));
        assert_eq!(lists.value(3).len(), 0);
        let second = lists.value(1);
        let structs = second.as_struct();
        let account = structs.column_by_name("account_id").unwrap().as_string::<i32>();
        assert_eq!(account.value(1), "42");
        assert!(account.is_null(0));
        let first = lists.value(0);
        let arn =
            first.as_struct().column_by_name("arn").unwrap().as_string::<i32>().value(0).to_owned();
        assert_eq!(arn, "arn:aws:s3:::b");
    }

    #[test]
    fn a_list_that_fails_half_way_rolls_back_its_elements() {
        let data_type = list_of(struct_of(&[("n", DataType::Int64)]));
        let mut buffer = Buffer::new(&data_type);
        buffer.push_json(&mut Jiter::new(br#"[{"n":1}]"#)).unwrap();
        assert!(buffer.push_json(&mut Jiter::new(br#"[{"n":2},{"n":"#)).is_err());
        buffer.truncate(1);
        buffer.push_json(&mut Jiter::new(br#"[{"n":3}]"#)).unwrap();
        let array = buffer.finish();
        let lists = array.as_list::<i32>();
        assert_eq!(lists.len(), 2);
        let second = lists.value(1);
        let n = second.as_struct().column(0).as_primitive::<Int64Type>().value(0);
        assert_eq!(n, 3);
    }

    #[test]
    fn truncating_a_nested_column_drops_the_children_too() {
        let data_type = list_of(DataType::Utf8);
        let mut buffer = Buffer::new(&data_type);
        for value in [r#"["a","b"]"#, r#"["c"]"#] {
            buffer.push_json(&mut Jiter::new(value.as_bytes())).unwrap();
        }
        buffer.truncate(1);
        buffer.push_json(&mut Jiter::new(br#"["d","e","f"]"#)).unwrap();
        let array = buffer.finish();
        let lists = array.as_list::<i32>();
        assert_eq!(lists.value(1).len(), 3);
        assert_eq!(lists.value(1).as_string::<i32>().value(0), "d");
        assert_eq!(lists.values().len(), 5);
    }
}
