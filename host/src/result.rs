//! A command's result as the host reads it: the SDK's [`CommandOutput`], with its payload and
//! its table's cells borrowed from the plugin's JSON answer instead of copied out of it.
//!
//! A listing of 100,000 keys is a table of 400,000 cells: read as the SDK's [`Table`] they were
//! 400,000 strings and 100,000 vectors, allocated, filled and freed only to be printed once. Here
//! a cell without escapes is a slice of the answer, and the cells of all rows sit in one vector.
//! The message read is the same ([`baseten_plugin_api::protocol::CommandResult`]), so plugins of
//! every API version are read as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use baseten_plugin_api::protocol::PluginError;
use baseten_plugin_api::{CommandOutput, Field, Table, TextView};

/// What a plugin's `invoke` answers, read with its payload and cells borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResultRef<'a> {
    /// The command succeeded.
    #[serde(borrow)]
    Ok(CommandOutputRef<'a>),
    /// The command failed.
    Error(PluginError),
}

/// A command's output: as [`CommandOutput`], borrowed.
#[derive(Deserialize)]
pub struct CommandOutputRef<'a> {
    /// The JSON payload, as text.
    #[serde(borrow)]
    pub payload: &'a RawValue,
    /// The human form.
    #[serde(borrow)]
    pub text: TextViewRef<'a>,
    /// Messages for stderr.
    #[serde(default)]
    pub notices: Vec<String>,
    /// The error to fail with if the output cannot be written to stdout.
    #[serde(default)]
    pub if_unseen: Option<PluginError>,
    /// The host's response body that is the payload instead of `payload` (plugin API 1.1).
    #[serde(default)]
    pub payload_body: Option<u64>,
}

/// A command's output can hold a new key: `Debug` gives sizes and shapes, never content.
impl fmt::Debug for CommandOutputRef<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match &self.text {
            TextViewRef::Lines(lines) => format!("<{} lines>", lines.len()),
            TextViewRef::Fields(fields) => format!("<{} fields>", fields.len()),
            TextViewRef::Table(table) => format!(
                "<table of {} rows, {} columns>",
                table.row_count(),
                table.columns.len()
            ),
        };
        formatter
            .debug_struct("CommandOutput")
            .field(
                "payload",
                &format_args!("<{} bytes>", self.payload.get().len()),
            )
            .field("text", &format_args!("{text}"))
            .field("notices", &self.notices)
            .finish()
    }
}

impl<'a> From<&'a CommandOutput> for CommandOutputRef<'a> {
    fn from(output: &'a CommandOutput) -> Self {
        Self {
            payload: &output.payload,
            text: TextViewRef::from(&output.text),
            notices: output.notices.clone(),
            if_unseen: output.if_unseen.clone(),
            payload_body: output.payload_body,
        }
    }
}

/// The human form: as [`TextView`], a table's cells borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextViewRef<'a> {
    /// A table.
    #[serde(borrow)]
    Table(TableRef<'a>),
    /// Lines for stdout, as they are.
    Lines(Vec<String>),
    /// One object as `name:  value` lines (plugin API 1.2).
    Fields(Vec<Field>),
}

impl<'a> From<&'a TextView> for TextViewRef<'a> {
    fn from(text: &'a TextView) -> Self {
        match text {
            TextView::Table(table) => Self::Table(TableRef::from(table)),
            TextView::Lines(lines) => Self::Lines(lines.clone()),
            TextView::Fields(fields) => Self::Fields(fields.clone()),
        }
    }
}

/// A table: as [`Table`], the cells of every row in one vector, each borrowed from the answer
/// unless it had to be unescaped.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableRef<'a> {
    /// Column headers.
    #[serde(borrow, deserialize_with = "borrowed_strings")]
    pub columns: Vec<Cow<'a, str>>,
    /// The rows' cells.
    #[serde(borrow)]
    pub rows: Rows<'a>,
    /// What to say on stderr when there are no rows.
    #[serde(default)]
    pub empty_message: Option<String>,
}

impl<'a> From<&'a Table> for TableRef<'a> {
    fn from(table: &'a Table) -> Self {
        let mut rows = Rows::default();
        for row in &table.rows {
            rows.cells
                .extend(row.iter().map(|cell| Cow::Borrowed(cell.as_str())));
            rows.ends.push(rows.cells.len());
        }
        Self {
            columns: table
                .columns
                .iter()
                .map(|column| Cow::Borrowed(column.as_str()))
                .collect(),
            rows,
            empty_message: table.empty_message.clone(),
        }
    }
}

impl TableRef<'_> {
    /// How many rows the table has.
    pub fn row_count(&self) -> usize {
        self.rows.ends.len()
    }

    /// Each row's cells, in order (rows may be ragged).
    pub fn rows(&self) -> impl Iterator<Item = &[Cow<'_, str>]> {
        let mut start = 0;
        self.rows.ends.iter().map(move |&end| {
            let row = &self.rows.cells[start..end];
            start = end;
            row
        })
    }
}

/// Every row's cells, one after the other, and where each row ends.
#[derive(Debug, Default, PartialEq)]
pub struct Rows<'a> {
    cells: Vec<Cow<'a, str>>,
    ends: Vec<usize>,
}

/// Written as the SDK writes rows: a list of lists of strings (for tests that build a table's
/// message by hand).
impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut rows = serializer.serialize_seq(Some(self.ends.len()))?;
        let mut start = 0;
        for &end in &self.ends {
            rows.serialize_element(&self.cells[start..end])?;
            start = end;
        }
        rows.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Rows<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowsVisitor<'a>(std::marker::PhantomData<Rows<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for RowsVisitor<'a> {
            type Value = Rows<'a>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut rows: A) -> Result<Rows<'a>, A::Error> {
                let mut read = Rows::default();
                if let Some(hint) = rows.size_hint() {
                    read.ends.reserve(hint);
                }
                while rows.next_element_seed(RowSeed(&mut read.cells))?.is_some() {
                    read.ends.push(read.cells.len());
                }
                Ok(read)
            }
        }
        deserializer.deserialize_seq(RowsVisitor(std::marker::PhantomData))
    }
}

/// Reads one row, appending its cells to the table's.
struct RowSeed<'v, 'a>(&'v mut Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for RowSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for RowSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut cells: A) -> Result<(), A::Error> {
        while let Some(cell) = cells.next_element_seed(CellSeed)? {
            self.0.push(cell);
        }
        Ok(())
    }
}

/// A string, borrowed from the text read when it holds no escape.
struct CellSeed;

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CellSeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text))
    }
}

/// A list of strings, each borrowed when it holds no escape.
fn borrowed_strings<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Cow<'a, str>>, D::Error> {
    let mut strings = Vec::new();
    RowSeed(&mut strings).deserialize(deserializer)?;
    Ok(strings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cells_are_borrowed_unless_escaped_and_rows_keep_their_lengths() {
        let answer = r#"{"ok":{"payload":{"keys":[]},"text":{"table":{
            "columns":["NAME","KEY"],
            "rows":[["ci","abcd****"],[],["a\"b","\u00e9","x"]],
            "empty_message":"none"}},"notices":["n"]}}"#;
        let CommandResultRef::Ok(output) = serde_json::from_str(answer).expect("reads") else {
            panic!("ok")
        };
        let TextViewRef::Table(table) = output.text else {
            panic!("a table")
        };
        assert_eq!(table.columns, ["NAME", "KEY"]);
        let rows: Vec<Vec<&str>> = table
            .rows()
            .map(|row| row.iter().map(|cell| cell.as_ref()).collect())
            .collect();
        assert_eq!(
            rows,
            [vec!["ci", "abcd****"], vec![], vec!["a\"b", "é", "x"]]
        );
        let borrowed: Vec<bool> = table
            .rows()
            .flatten()
            .map(|cell| matches!(cell, Cow::Borrowed(_)))
            .collect();
        assert_eq!(borrowed, [true, true, false, false, true]);
        assert_eq!(table.empty_message.as_deref(), Some("none"));
        assert_eq!(output.notices, ["n"]);
    }

    #[test]
    fn a_table_reads_as_the_sdk_writes_it() {
        let table = Table {
            columns: vec!["A".to_owned(), "B".to_owned()],
            rows: vec![
                vec!["1".to_owned(), "tab\there".to_owned()],
                vec!["日本".to_owned()],
            ],
            empty_message: None,
        };
        let output = CommandOutput::table(json!({"a": 1}), table.clone());
        let answer = serde_json::to_string(&baseten_plugin_api::protocol::CommandResult::Ok(
            output.clone(),
        ))
        .expect("encodes");
        let CommandResultRef::Ok(read) = serde_json::from_str(&answer).expect("reads") else {
            panic!("ok")
        };
        let TextViewRef::Table(read) = read.text else {
            panic!("a table")
        };
        assert_eq!(read, TableRef::from(&table));
        assert_eq!(
            serde_json::to_value(&read).expect("encodes"),
            serde_json::to_value(&table).expect("encodes")
        );
    }

    #[test]
    fn cells_that_are_not_strings_are_unreadable_as_before() {
        for text in [
            r#"{"table":{"columns":["A"],"rows":[[1]]}}"#,
            r#"{"table":{"columns":["A"],"rows":["a"]}}"#,
            r#"{"table":{"columns":[null],"rows":[]}}"#,
            r#"{"table":{"rows":[]}}"#,
        ] {
            assert!(
                serde_json::from_str::<TextViewRef<'_>>(text).is_err(),
                "{text}"
            );
            assert!(serde_json::from_str::<TextView>(text).is_err(), "{text}");
        }
    }
}
