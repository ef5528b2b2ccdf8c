//! The `--jq` engine: jq expressions compiled with jaq and its standard library.
//!
//! An expression is compiled once with [`JqFilter::compile`], before any request is sent, and
//! run over the payload's JSON text with [`JqFilter::run_streaming`] (in a child process, see
//! `jq_process`): the text is deserialized straight into jaq values, with no intermediate
//! tree. Results come out as `serde_json` values as they are produced, with object key order
//! kept, integers as integers and floats as floats. Every error is a single line of text.
//!
//! Besides the jaq standard library, `@csv`, `@tsv` and `$ENV` are available.
//! Known differences from jq come from jaq itself, e.g. `del(.k)` may move the
//! last key of an object into the deleted key's place.

use std::cell::RefCell;
use std::ffi::OsString;

use baseten_plugin_api::OutputMode;
use jaq_core::load::{Arena, File, Loader, lex, parse};
use jaq_core::{Ctx, Vars, compile, data, load};
use jaq_json::{Num, Val};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map as JsonMap, Number, Value};

use crate::sanitize;

/// Deepest nesting of arrays/objects accepted when converting a filter output back to JSON;
/// deeper outputs are reported as a runtime error. Filters run on a thread with a large stack
/// in a child process (see `jq_process`), where this depth fits with room to spare.
const MAX_OUTPUT_DEPTH: usize = 100_000;

/// Longest error message (in characters) a filter hands back; longer messages (typically ones
/// quoting a large value) are cut and end in `…`. Far longer than what is shown, so that
/// secrets are scrubbed from the message before [`shorten`] cuts it for display: a cut first
/// could leave part of a key that no longer looks like one.
const MAX_MESSAGE_CHARS: usize = 64 * 1024;

/// Longest error message shown, in characters; see [`shorten`].
const MAX_SHOWN_CHARS: usize = 300;

/// Longest excerpt of the expression quoted in a syntax error message.
const MAX_SNIPPET_CHARS: usize = 24;

/// jq definitions that the jaq crates leave to their command-line tool:
/// the `@csv` and `@tsv` formats (same rules and errors as jq).
const EXTRA_DEFS: &str = r#"
def @csv:
  if type != "array" then error("cannot csv-format \(type), only an array can be")
  else map(
    if type == "string" then "\"" + (split("\"") | join("\"\"")) + "\""
    elif type == "number" or type == "boolean" then tostring
    elif . == null then ""
    else error("\(type) (\(tojson)) is not valid in a csv row")
    end) | join(",")
  end;
def @tsv:
  if type != "array" then error("cannot tsv-format \(type), only an array can be")
  else map(
    if type == "string" then
      split("\\") | join("\\\\") | split("\t") | join("\\t")
      | split("\n") | join("\\n") | split("\r") | join("\\r")
    elif type == "number" or type == "boolean" then tostring
    elif . == null then ""
    else error("\(type) (\(tojson)) is not valid in a tsv row")
    end) | join("\t")
  end;
"#;

/// `halt_error` as a failure that keeps its message (jaq's own logs it and keeps only the exit
/// code). Loaded after the standard library, whose definitions it replaces.
const HALT_DEFS: &str = r#"
def halt_error($exit_code):
  if $exit_code == 0 then stderr_empty, halt(0)
  else error(if type == "string" then . else tojson end)
  end;
def halt_error: halt_error(5);
"#;

/// The kind of data the compiled filter runs on: plain jaq JSON values and no
/// global data apart from the filter's own look-up table.
type Data = data::JustLut<Val>;

/// A compiled jq filter, ready to run over JSON payloads.
pub struct JqFilter {
    filter: jaq_core::Filter<Data>,
    expression: String,
}

/// Why a filter could not be compiled or run.
#[derive(Debug, thiserror::Error)]
pub enum JqError {
    /// The expression does not parse or names an unknown filter/variable. Message is one line,
    /// human readable, e.g. "unexpected token at 'xyz'" or "undefined filter `foo/0`".
    #[error("{0}")]
    Compile(String),
    /// The filter failed while running (e.g. `.a | error("x")`, `1 + "a"`). One line.
    #[error("{0}")]
    Runtime(String),
}

/// Why a streaming run stopped early.
#[derive(Debug)]
pub enum RunError {
    /// The filter failed.
    Jq(JqError),
    /// A result could not be written (a closed pipe, a full disk).
    Output(std::io::Error),
}

impl std::fmt::Debug for JqFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JqFilter").finish_non_exhaustive()
    }
}

impl JqFilter {
    /// Compile with the jq standard library (jaq-std + jaq-json definitions, e.g. select, map,
    /// length, keys, to_entries, test, ascii_downcase, tostring, @base64 etc.).
    pub fn compile(expression: &str) -> Result<Self, JqError> {
        let extra_defs = load::parse(EXTRA_DEFS, |p| p.defs()).ok_or_else(|| {
            JqError::Compile("internal error: built-in jq definitions do not parse".into())
        })?;
        let halt_defs = load::parse(HALT_DEFS, |p| p.defs()).ok_or_else(|| {
            JqError::Compile("internal error: built-in jq definitions do not parse".into())
        })?;
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(extra_defs)
            .chain(halt_defs);
        let funs = jaq_core::funs::<Data>()
            .chain(jaq_std::funs::<Data>())
            .chain(jaq_json::funs::<Data>());

        let arena = Arena::default();
        let program = File {
            code: expression,
            path: (),
        };
        let modules = Loader::new(defs)
            .load(&arena, program)
            .map_err(|errs| JqError::Compile(describe_load_errors(expression, errs)))?;
        let filter = compile::Compiler::default()
            .with_funs(funs)
            .with_global_vars(["$ENV"])
            .compile(modules)
            .map_err(|errs| JqError::Compile(describe_compile_errors(errs)))?;
        Ok(Self {
            filter,
            expression: expression.to_owned(),
        })
    }

    /// The expression the filter was compiled from.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Runs over a parsed value, through the same text path the CLI uses.
    #[cfg(test)]
    pub fn run(&self, input: &Value) -> Result<Vec<Value>, JqError> {
        self.run_on_text(&input.to_string())
    }

    /// Runs over one JSON payload given as text and collects every output, or the first
    /// runtime error (outputs before it are dropped).
    #[cfg(test)]
    pub fn run_on_text(&self, json_text: &str) -> Result<Vec<Value>, JqError> {
        let mut outputs = Vec::new();
        let mut collect = |value| {
            outputs.push(value);
            Ok(())
        };
        match self.run_streaming(json_text, &[], &mut collect) {
            Ok(()) => Ok(outputs),
            Err(RunError::Jq(error)) => Err(error),
            Err(RunError::Output(error)) => Err(JqError::Runtime(error.to_string())),
        }
    }

    /// Runs over one JSON payload given as text, deserialized straight into jaq's value type
    /// (no intermediate tree: faster and about half the memory on large payloads), handing
    /// each output to `emit` as soon as it is produced, like jq: outputs before a runtime error
    /// have been emitted by then. An error from `emit` stops the filter. Text that is not
    /// exactly one JSON value is a [`JqError::Runtime`] (`invalid JSON input: ...`). `halt`
    /// stops the filter cleanly; `halt(n)` with a non-zero `n` is a runtime error, and
    /// `halt_error` fails with its input as the message. `$ENV` holds `environment`.
    pub fn run_streaming(
        &self,
        json_text: &str,
        environment: &[(OsString, OsString)],
        emit: &mut dyn FnMut(Value) -> std::io::Result<()>,
    ) -> Result<(), RunError> {
        self.run_on_input(parse_input(json_text)?, environment, emit)
    }

    /// [`Self::run_streaming`] in a process that exits right after, over a payload that lives
    /// as long as the process: strings point into the payload instead of copying it, the
    /// input's values are left for the exit to reclaim (freeing them one by one, a million
    /// small allocations for a 12 MB payload, costs about as much as the filter itself), and
    /// each output is handed over as a jaq value, to be written without a `serde_json` tree.
    pub fn run_streaming_before_exit(
        &self,
        json_text: &'static str,
        environment: &[(OsString, OsString)],
        emit: &mut dyn FnMut(JqOutput<'_>) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        let input =
            crate::jq_process::arena::reading(json_text.len(), || parse_static_input(json_text))?;
        // Containers are reference counted: this keeps the whole tree alive past the filter.
        let kept = input.clone();
        let result = self.run_vals(input, environment, &mut |val| emit(JqOutput(&val)));
        std::mem::forget(kept);
        result
    }

    fn run_on_input(
        &self,
        input: Val,
        environment: &[(OsString, OsString)],
        emit: &mut dyn FnMut(Value) -> std::io::Result<()>,
    ) -> Result<(), RunError> {
        self.run_vals(input, environment, &mut |val| {
            let value = val_to_json(&val, 0).map_err(RunError::Jq)?;
            emit(value).map_err(RunError::Output)
        })
    }

    fn run_vals(
        &self,
        input: Val,
        environment: &[(OsString, OsString)],
        emit: &mut dyn FnMut(Val) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([env_object(environment)]));
        for output in self.filter.id.run((ctx, input)) {
            match output {
                Ok(val) => emit(val)?,
                Err(exn) => {
                    let error = match exn.get_err() {
                        Ok(err) => describe_runtime_error(err),
                        Err(exn) => match exn.get_halt() {
                            Ok(0) => break,
                            Ok(code) => format!("filter halted with exit code {code}"),
                            Err(_) => "filter stopped with an unexpected internal exception".into(),
                        },
                    };
                    return Err(RunError::Jq(JqError::Runtime(error)));
                }
            }
        }
        Ok(())
    }
}

/// The payload as a jaq value, its strings copied out of `json_text`.
fn parse_input(json_text: &str) -> Result<Val, RunError> {
    match Reader::read(json_text, |text| Val::utf8_str(text.as_bytes().to_vec())) {
        Some(value) => Ok(value),
        None => parse_input_slowly(json_text),
    }
}

/// The payload as a jaq value whose strings point into `json_text` rather than copy it (text
/// that lives as long as the process: the `__jq` child's payload, never freed).
fn parse_static_input(json_text: &'static str) -> Result<Val, RunError> {
    match Reader::read(json_text, |text| Val::utf8_str(text.as_bytes())) {
        Some(value) => Ok(value),
        None => parse_input_slowly(json_text),
    }
}

/// The payload as a jaq value, for what [`Reader`] leaves: serde, straight into jaq values,
/// then, for numbers beyond `f64` (`1e400`) and nesting deeper than 128 levels, which jq
/// accepts and serde refuses, jaq's own parser, which keeps such numbers as written and has no
/// depth limit (the filter runs on a large stack). Malformed text is reported with serde's
/// words.
fn parse_input_slowly(json_text: &str) -> Result<Val, RunError> {
    let keys = KeyCache::default();
    let mut reader = serde_json::Deserializer::from_str(json_text);
    let parsed = ValueSeed(&keys)
        .deserialize(&mut reader)
        .and_then(|value| reader.end().map(|()| value));
    parsed.or_else(|error| {
        jaq_json::read::parse_single(json_text.as_bytes()).map_err(|_| {
            RunError::Jq(JqError::Runtime(one_line(&format!(
                "invalid JSON input: {error}"
            ))))
        })
    })
}

/// A JSON reader into jaq values, for the common case: strict JSON that serde reads without
/// complaint, nested less deeply than serde allows. It gives up (`None`) on anything else, and
/// the caller reads the text again with [`parse_input_slowly`]: whatever it returns is what
/// serde would have returned. What it does unlike serde: a string without escapes becomes a
/// value through `string` without an intermediate copy (a slice of a text that outlives the
/// values is not copied at all), and each array and object is built at its final size (the
/// items of those being read wait on two stacks shared by the whole text).
struct Reader<'t, S> {
    text: &'t str,
    at: usize,
    depth: usize,
    string: S,
    keys: Vec<(&'t str, Val)>,
    items: Vec<Val>,
    entries: Vec<(Val, Val)>,
}

/// A string read by [`Reader`]: a slice of the text, or unescaped.
enum Text<'t> {
    Slice(&'t str),
    Unescaped(String),
}

impl<'t, S: Fn(&'t str) -> Val> Reader<'t, S> {
    /// Deepest nesting read here; serde allows 128 levels.
    const MAX_DEPTH: usize = 100;

    fn read(text: &'t str, string: S) -> Option<Val> {
        let mut reader = Self {
            text,
            at: 0,
            depth: 0,
            string,
            keys: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
        };
        let value = reader.value()?;
        reader.skip_whitespace();
        (reader.at == text.len()).then_some(value)
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, consumed.
    fn next_token(&mut self) -> Option<u8> {
        self.skip_whitespace();
        let byte = *self.text.as_bytes().get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn value(&mut self) -> Option<Val> {
        match self.next_token()? {
            b'"' => Some(match self.string()? {
                Text::Slice(text) => (self.string)(text),
                Text::Unescaped(text) => Val::utf8_str(text.into_bytes()),
            }),
            b'{' => self.object(),
            b'[' => self.array(),
            b't' => self.literal(b"rue", Val::Bool(true)),
            b'f' => self.literal(b"alse", Val::Bool(false)),
            b'n' => self.literal(b"ull", Val::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], value: Val) -> Option<Val> {
        let found = self.text.as_bytes().get(self.at..self.at + rest.len())?;
        self.at += rest.len();
        (found == rest).then_some(value)
    }

    /// A number: plain integers of up to 18 digits here, any other through serde, so that
    /// every number gets serde's value (`-0` a float, floats rounded as serde rounds them).
    fn number(&mut self) -> Option<Val> {
        let start = self.at - 1;
        let bytes = self.text.as_bytes();
        let mut end = self.at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(end) {
            end += 1;
        }
        self.at = end;
        let token = &self.text[start..end];
        let digits = token.strip_prefix('-').unwrap_or(token);
        let plain = (1..=18).contains(&digits.len())
            && digits.bytes().all(|byte| byte.is_ascii_digit())
            && (digits.len() == 1 || !digits.starts_with('0'))
            && token != "-0";
        if plain {
            return token
                .parse::<i64>()
                .ok()
                .map(|number| Val::Num(Num::from_integral(number)));
        }
        let keys = KeyCache::default();
        let mut reader = serde_json::Deserializer::from_str(token);
        let value = ValueSeed(&keys).deserialize(&mut reader).ok()?;
        reader.end().ok()?;
        Some(value)
    }

    /// The rest of a string whose opening quote was consumed.
    fn string(&mut self) -> Option<Text<'t>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut end = start;
        loop {
            match *bytes.get(end)? {
                b'"' => {
                    self.at = end + 1;
                    return Some(Text::Slice(&self.text[start..end]));
                }
                b'\\' => break,
                // Control characters must be escaped.
                0..0x20 => return None,
                _ => end += 1,
            }
        }
        // Escapes: serde reads the whole string, and refuses what it refuses.
        loop {
            match *bytes.get(end)? {
                b'\\' => end += 2,
                b'"' => break,
                _ => end += 1,
            }
        }
        let unescaped = serde_json::from_str::<String>(self.text.get(start - 1..=end)?).ok()?;
        self.at = end + 1;
        Some(Text::Unescaped(unescaped))
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= Self::MAX_DEPTH).then_some(())
    }

    fn array(&mut self) -> Option<Val> {
        self.enter()?;
        let base = self.items.len();
        self.skip_whitespace();
        if self.text.as_bytes().get(self.at) == Some(&b']') {
            self.at += 1;
        } else {
            loop {
                let item = self.value()?;
                self.items.push(item);
                match self.next_token()? {
                    b',' => {}
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        let items: Vec<Val> = self.items.drain(base..).collect();
        Some(Val::Arr(jaq_json::Rc::new(items)))
    }

    fn object(&mut self) -> Option<Val> {
        self.enter()?;
        let base = self.entries.len();
        self.skip_whitespace();
        if self.text.as_bytes().get(self.at) == Some(&b'}') {
            self.at += 1;
        } else {
            loop {
                if self.next_token()? != b'"' {
                    return None;
                }
                let key = self.key()?;
                if self.next_token()? != b':' {
                    return None;
                }
                let value = self.value()?;
                self.entries.push((key, value));
                match self.next_token()? {
                    b',' => {}
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        let entries = self.entries.drain(base..);
        let mut map = jaq_json::Map::with_capacity_and_hasher(entries.len(), Default::default());
        for (key, value) in entries {
            // A repeated key keeps its first place and its last value, as in jq.
            map.insert(key, value);
        }
        Some(Val::obj(map))
    }

    /// An object key: each distinct key (up to [`KeyCache::MAX_KEYS`] of them, as long as
    /// [`KeyCache::MAX_KEY_BYTES`]) made once and shared by every object that has it.
    fn key(&mut self) -> Option<Val> {
        let text = self.string()?;
        let key = match &text {
            Text::Slice(text) => text,
            Text::Unescaped(text) => text.as_str(),
        };
        if let Some((_, known)) = self.keys.iter().find(|(known, _)| *known == key) {
            return Some(known.clone());
        }
        let (value, slice) = match text {
            Text::Slice(text) => ((self.string)(text), Some(text)),
            Text::Unescaped(text) => (Val::utf8_str(text.into_bytes()), None),
        };
        if let Some(slice) = slice
            && self.keys.len() < KeyCache::MAX_KEYS
            && slice.len() <= KeyCache::MAX_KEY_BYTES
        {
            self.keys.push((slice, value.clone()));
        }
        Some(value)
    }
}

/// Object keys seen so far, each shared by every object that has it rather than allocated
/// again per object (a listing's hundred thousand objects have the same few keys).
#[derive(Default)]
struct KeyCache(RefCell<Vec<Val>>);

impl KeyCache {
    /// Most distinct keys kept, and the longest: a lookup is a scan of them.
    const MAX_KEYS: usize = 32;
    const MAX_KEY_BYTES: usize = 64;

    fn get(&self, key: &str) -> Val {
        let mut keys = self.0.borrow_mut();
        let found = keys
            .iter()
            .find(|known| matches!(known, Val::TStr(bytes) if bytes[..] == *key.as_bytes()));
        if let Some(known) = found {
            return known.clone();
        }
        let value = Val::utf8_str(key.as_bytes().to_vec());
        if keys.len() < Self::MAX_KEYS && key.len() <= Self::MAX_KEY_BYTES {
            keys.push(value.clone());
        }
        value
    }
}

/// Reads one JSON value straight into a jaq value, as jaq's own `Deserialize` does, but with
/// object keys shared through a [`KeyCache`] and arrays and objects allocated once.
#[derive(Clone, Copy)]
struct ValueSeed<'k>(&'k KeyCache);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Val;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Val, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Val;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Val, E> {
        Ok(Val::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Val, E> {
        Ok(Val::Num(Num::from_integral(value)))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Val, E> {
        Ok(Val::Num(Num::from_integral(value)))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Val, E> {
        Ok(Val::Num(Num::Float(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Val, E> {
        Ok(Val::utf8_str(value.as_bytes().to_vec()))
    }

    fn visit_string<E>(self, value: String) -> Result<Val, E> {
        Ok(Val::utf8_str(value.into_bytes()))
    }

    fn visit_unit<E>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }

    fn visit_none<E>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Val, A::Error> {
        let mut values = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(value) = items.next_element_seed(self)? {
            values.push(value);
        }
        Ok(values.into_iter().collect())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Val, A::Error> {
        let mut map = jaq_json::Map::default();
        while let Some(key) = entries.next_key_seed(KeySeed(self.0))? {
            let value = entries.next_value_seed(self)?;
            map.insert(key, value);
        }
        Ok(Val::obj(map))
    }
}

/// An object key, through the [`KeyCache`].
struct KeySeed<'k>(&'k KeyCache);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Val;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Val, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Val;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Val, E> {
        Ok(self.0.get(key))
    }
}

/// The environment as a jaq object, the value of `$ENV`.
fn env_object(environment: &[(OsString, OsString)]) -> Val {
    let vars = environment.iter().map(|(name, value)| {
        let name = name.to_string_lossy().into_owned();
        let value = value.to_string_lossy().into_owned();
        (Val::from(name), Val::from(value))
    });
    Val::obj(vars.collect())
}

/// Convert a jaq value into a `serde_json` value, keeping key order and the
/// integer/float distinction.
fn val_to_json(val: &Val, depth: usize) -> Result<Value, JqError> {
    Ok(match val {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::TStr(bytes) | Val::BStr(bytes) => Value::String(bytes_to_string(bytes)),
        Val::Arr(items) => {
            let depth = nested(depth)?;
            let items = items.iter().map(|item| val_to_json(item, depth));
            Value::Array(items.collect::<Result<_, _>>()?)
        }
        Val::Obj(entries) => {
            let depth = nested(depth)?;
            let mut map = JsonMap::with_capacity(entries.len());
            for (key, item) in entries.iter() {
                map.insert(key_to_string(key), val_to_json(item, depth)?);
            }
            Value::Object(map)
        }
    })
}

/// One output of a filter, written straight from jaq's value (see [`JqOutput::write`]).
pub struct JqOutput<'v>(&'v Val);

impl JqOutput<'_> {
    /// Writes the output like `output::write_jq_result` writes its `serde_json` value, byte
    /// for byte, without building that value: a string raw, like `jq -r`; anything else as
    /// JSON, indented under `json`; then a new line. An output nested too deeply is refused
    /// before anything of it is written.
    pub fn write(&self, mode: OutputMode, out: &mut dyn std::io::Write) -> Result<(), RunError> {
        check_depth(self.0, 0).map_err(RunError::Jq)?;
        let written = match self.0 {
            Val::TStr(bytes) | Val::BStr(bytes) => {
                out.write_all(String::from_utf8_lossy(bytes).as_bytes())
            }
            other if mode == OutputMode::Jsonl => {
                serde_json::to_writer(&mut *out, &AsJson(other)).map_err(std::io::Error::from)
            }
            other => serde_json::to_writer_pretty(&mut *out, &AsJson(other))
                .map_err(std::io::Error::from),
        };
        written
            .and_then(|()| out.write_all(b"\n"))
            .map_err(RunError::Output)
    }
}

/// Fails as [`val_to_json`] does on a value nested too deeply.
fn check_depth(val: &Val, depth: usize) -> Result<(), JqError> {
    match val {
        Val::Arr(items) => {
            let depth = nested(depth)?;
            items.iter().try_for_each(|item| check_depth(item, depth))
        }
        Val::Obj(entries) => {
            let depth = nested(depth)?;
            entries
                .values()
                .try_for_each(|item| check_depth(item, depth))
        }
        _ => Ok(()),
    }
}

/// A jaq value serialized as its [`val_to_json`] value is (checked for depth beforehand).
struct AsJson<'v>(&'v Val);

impl serde::Serialize for AsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        match self.0 {
            Val::Null => serializer.serialize_unit(),
            Val::Bool(value) => serializer.serialize_bool(*value),
            Val::Num(number) => num_to_json(number).serialize(serializer),
            Val::TStr(bytes) | Val::BStr(bytes) => {
                serializer.serialize_str(&String::from_utf8_lossy(bytes))
            }
            Val::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&AsJson(item))?;
                }
                seq.end()
            }
            // Keys that are not text, or not valid UTF-8, may stand for the same JSON key:
            // those objects go through `serde_json`'s map, which keeps one of them.
            Val::Obj(entries) if !entries.keys().all(is_json_key) => val_to_json(self.0, 0)
                .map_err(S::Error::custom)?
                .serialize(serializer),
            Val::Obj(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, item) in entries.iter() {
                    let (Val::TStr(key) | Val::BStr(key)) = key else {
                        return Err(S::Error::custom("object key is not a string"));
                    };
                    map.serialize_entry(&*String::from_utf8_lossy(key), &AsJson(item))?;
                }
                map.end()
            }
        }
    }
}

/// A key that is written as it is: text in valid UTF-8.
fn is_json_key(key: &Val) -> bool {
    matches!(key, Val::TStr(bytes) | Val::BStr(bytes) if std::str::from_utf8(bytes).is_ok())
}

/// Depth of the children of a container at `depth`, or an error if too deep.
fn nested(depth: usize) -> Result<usize, JqError> {
    if depth >= MAX_OUTPUT_DEPTH {
        Err(JqError::Runtime(format!(
            "output nested deeper than {MAX_OUTPUT_DEPTH} levels"
        )))
    } else {
        Ok(depth + 1)
    }
}

/// Convert a jaq number into a JSON number the way jq prints it: integers as
/// integers, non-finite floats as `null` (NaN) or the largest finite float.
fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::from(*i),
        Num::Float(f) => float_to_json(*f),
        // Big integers and decimal literals only exist as text here.
        Num::BigInt(_) | Num::Dec(_) => {
            let text = n.to_string();
            if let Ok(i) = text.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Value::from(u)
            } else {
                float_to_json(text.parse::<f64>().unwrap_or(f64::NAN))
            }
        }
    }
}

/// Convert a float to JSON like jq does (`NaN` becomes `null`, infinities are
/// clamped to the largest finite float).
fn float_to_json(f: f64) -> Value {
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Turn string bytes into a `String`, replacing invalid UTF-8.
fn bytes_to_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Object keys are strings in JSON; jaq also allows other keys, which are
/// written as their JSON text.
fn key_to_string(key: &Val) -> String {
    match key {
        Val::TStr(bytes) | Val::BStr(bytes) => bytes_to_string(bytes),
        other => one_line(&other.to_string()),
    }
}

/// Describe a runtime error like jq does: string errors (`error("boom")` and
/// jaq's own messages) as their text, any other error value as JSON.
fn describe_runtime_error(err: jaq_core::Error<Val>) -> String {
    match err.into_val() {
        Val::TStr(bytes) | Val::BStr(bytes) => one_line(&bytes_to_string(&bytes)),
        other => one_line(&format!("{other} (not a string)")),
    }
}

/// Describe the lexing/parsing (or module loading) errors of an expression.
fn describe_load_errors(code: &str, errs: load::Errors<&str, ()>) -> String {
    let mut messages = Vec::new();
    for (_file, err) in errs {
        match err {
            load::Error::Io(errs) => {
                for (path, msg) in errs {
                    messages.push(format!("cannot load module \"{path}\": {msg}"));
                }
            }
            load::Error::Lex(errs) => {
                for (expected, rest) in errs {
                    messages.push(describe_lex_error(code, &expected, rest));
                }
            }
            load::Error::Parse(errs) => {
                for (expected, found) in errs {
                    messages.push(describe_parse_error(code, &expected, found));
                }
            }
        }
    }
    join_messages(messages, "invalid jq expression")
}

/// Describe one lexer error; `rest` is the input remaining where lexing failed.
fn describe_lex_error(code: &str, expected: &lex::Expect<&str>, rest: &str) -> String {
    let what = match expected {
        lex::Expect::Token => return format!("unexpected token {}", found_at(code, rest)),
        lex::Expect::Digit => "digit",
        lex::Expect::Ident => "identifier",
        lex::Expect::Delim("(") => "closing parenthesis",
        lex::Expect::Delim("[") => "closing bracket",
        lex::Expect::Delim("{") => "closing brace",
        lex::Expect::Delim("\"") => "closing quote",
        lex::Expect::Delim(_) => "closing delimiter",
        lex::Expect::Escape => "string escape sequence",
        lex::Expect::Unicode => "4-digit hexadecimal code point",
        _ => "valid token",
    };
    format!("expected {what}, found {}", found_at(code, rest))
}

/// Describe one parser error; `found` is the offending token's text (empty at
/// the end of the input).
fn describe_parse_error(code: &str, expected: &parse::Expect<&str>, found: &str) -> String {
    match expected {
        parse::Expect::Nothing => format!("unexpected token {}", found_at(code, found)),
        expected => format!(
            "expected {}, found {}",
            expected.as_str(),
            found_at(code, found)
        ),
    }
}

/// Quote the start of `found` and say where it is in `code`, e.g.
/// `'xyz' at column 4`, or `end of input`.
fn found_at(code: &str, found: &str) -> String {
    let snippet = sanitize::cut(found.lines().next().unwrap_or_default(), MAX_SNIPPET_CHARS);
    if snippet.trim().is_empty() {
        return "end of input".into();
    }
    match column_of(code, found) {
        Some(column) => format!("'{snippet}' at column {column}"),
        None => format!("'{snippet}'"),
    }
}

/// 1-based character column of `part` in `code`, if `part` is a slice of `code`.
fn column_of(code: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize)?;
    let before = code.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some(before[line_start..].chars().count() + 1)
}

/// Describe the undefined names found while compiling.
fn describe_compile_errors(errs: compile::Errors<&str, ()>) -> String {
    let messages = errs
        .into_iter()
        .flat_map(|(_file, errs)| errs)
        .map(|(name, undefined)| match undefined {
            compile::Undefined::Filter(arity) => format!("undefined filter `{name}/{arity}`"),
            other => format!("undefined {} `{name}`", other.as_str()),
        })
        .collect();
    join_messages(messages, "invalid jq expression")
}

/// Join several messages into one line, dropping duplicates.
fn join_messages(mut messages: Vec<String>, fallback: &str) -> String {
    messages.dedup();
    if messages.is_empty() {
        fallback.into()
    } else {
        one_line(&messages.join("; "))
    }
}

/// `message` cut to [`MAX_SHOWN_CHARS`] characters, ending in `…` when cut. Call it on a
/// message already scrubbed of secrets.
pub fn shorten(message: &str) -> String {
    sanitize::cut(message, MAX_SHOWN_CHARS)
}

/// Make a message a single line of bounded length ([`MAX_MESSAGE_CHARS`], then `…`).
fn one_line(message: &str) -> String {
    sanitize::one_line(&sanitize::cut(message, MAX_MESSAGE_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reader_gives_each_object_its_keys_and_jq_s_values() {
        let many: String = (0..40).map(|n| format!(r#""k{n}":{n},"#)).collect();
        let text = format!(
            r#"[{{"a":1,"b":"x"}},{{"b":"y","a":2,"a":3}},{{"\u0061":[],"é":{{}}}},{{{many}"last":1.5}},-7,18446744073709551615,true,null]"#
        );
        let filter = JqFilter::compile("[.[] | if type == \"object\" then to_entries else . end]")
            .expect("compiles");
        let output = filter.run_on_text(&text).expect("runs").remove(0);
        assert_eq!(
            output[0],
            json!([{"key": "a", "value": 1}, {"key": "b", "value": "x"}])
        );
        // A repeated key keeps its first place and its last value, as in jq.
        assert_eq!(
            output[1],
            json!([{"key": "b", "value": "y"}, {"key": "a", "value": 3}])
        );
        assert_eq!(
            output[2],
            json!([{"key": "a", "value": []}, {"key": "é", "value": {}}])
        );
        let entries = output[3].as_array().expect("entries");
        assert_eq!(entries.len(), 41);
        assert_eq!(entries[39], json!({"key": "k39", "value": 39}));
        assert_eq!(entries[40], json!({"key": "last", "value": 1.5}));
        assert_eq!(output[4], json!(-7));
        assert_eq!(output[5], json!(18_446_744_073_709_551_615_u64));
        assert_eq!((&output[6], &output[7]), (&json!(true), &json!(null)));
        // A change to one object's key leaves the others' alone.
        let changed =
            JqFilter::compile(".[0:2] | (.[0] | with_entries(.key |= ascii_upcase)), .[1]")
                .expect("compiles")
                .run_on_text(&text)
                .expect("runs");
        assert_eq!(
            changed,
            [json!({"A": 1, "B": "x"}), json!({"b": "y", "a": 3})]
        );
        assert!(
            JqFilter::compile(".")
                .expect("compiles")
                .run_on_text("[1] 2")
                .is_err()
        );
    }

    /// What the reader makes of `text`, against what serde (and jaq's parser after it) make.
    fn read_both_ways(text: &str) -> (Option<String>, Option<String>) {
        let fast = Reader::read(text, |text| Val::utf8_str(text.as_bytes().to_vec()));
        let slow = parse_input_slowly(text).ok();
        (
            fast.map(|value| format!("{value:?}")),
            slow.map(|value| format!("{value:?}")),
        )
    }

    #[test]
    fn the_reader_reads_what_serde_reads_and_leaves_the_rest() {
        let same = [
            r#"{"a":1,"b":"x","a":[true,false,null],"c":{}}"#,
            " \t\r\n[ 1 , -2 , 0 , -0 , 1.5 , -0.0 , 1e5 , 2E-3 , 12345678901234567 ] ",
            "[123456789012345678, 1234567890123456789, 18446744073709551615, -9223372036854775808]",
            "[18446744073709551616, 0.1, 1.7976931348623157e308, 5e-324, 3.0]",
            r#"["", "plain", "\"quoted\"", "tab\t", "\u00e9\ud83d\ude00", "é😀", "a\\"]"#,
            r#"{"\u0061":1,"a":2,"é":{"é":[]}}"#,
            "\"top\"",
            "true",
            "null",
            "7",
        ];
        for text in same {
            let (fast, slow) = read_both_ways(text);
            assert!(fast.is_some(), "the reader gave up on {text}");
            assert_eq!(fast, slow, "for {text}");
        }
        // Left to serde and jaq's parser: numbers beyond f64, escapes serde refuses, deep
        // nesting, and what is not JSON at all.
        let left = [
            "1e400",
            r#""\ud800""#,
            "[01]",
            "[1,]",
            "{\"a\":1,}",
            "\"a\u{1}b\"",
            "[1] 2",
            "",
            "nul",
            "{\"a\" 1}",
            "[1 2]",
            "-",
            "1.",
            "\"open",
        ];
        for text in left {
            assert_eq!(read_both_ways(text).0, None, "the reader took {text}");
        }
        for depth in [99, 100, 101, 127, 128, 129, 300] {
            let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let (fast, slow) = read_both_ways(&text);
            assert_eq!(fast.is_some(), depth <= 100, "at depth {depth}");
            assert!(slow.is_some(), "at depth {depth}");
            if fast.is_some() {
                assert_eq!(fast, slow, "at depth {depth}");
            }
        }
    }

    #[test]
    fn outputs_are_written_as_their_json_values_are() {
        let filter = JqFilter::compile(
            r#"., .a, .b, .c, .d, [], {}, nan, infinite, -0, 1e1000, {(1|tostring): 1, "1": 2}, ("/w==" | @base64d), {("/w==" | @base64d): 1, "\ufffd": 2}, ([.a] | implode? // "x")"#,
        )
        .expect("compiles");
        let text = r#"{"a":[1,2.5,-3,"x\n\u0001é"],"b":{"k":{"l":[{}]}},"c":"plain","d":null}"#;
        let input = parse_input(text).expect("reads");
        let mut outputs = Vec::new();
        filter
            .run_vals(input, &[], &mut |val| {
                outputs.push(val);
                Ok(())
            })
            .expect("runs");
        assert!(outputs.len() > 10);
        for mode in [OutputMode::Json, OutputMode::Jsonl] {
            for output in &outputs {
                let mut direct = Vec::new();
                JqOutput(output).write(mode, &mut direct).expect("writes");
                let mut through_value = Vec::new();
                let value = val_to_json(output, 0).expect("converts");
                crate::output::write_jq_result(&value, mode, &mut through_value).expect("writes");
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&through_value)
                );
            }
        }
        let refused = std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(|| {
                let deep = (0..=MAX_OUTPUT_DEPTH).fold(Val::Null, |inner, _| {
                    Val::Arr(jaq_json::Rc::new(vec![inner]))
                });
                let mut written = Vec::new();
                let result = JqOutput(&deep).write(OutputMode::Json, &mut written);
                // Freed one level at a time, it would take a deep stack too: left to the exit.
                std::mem::forget(deep);
                (matches!(result, Err(RunError::Jq(_))), written.is_empty())
            })
            .expect("a thread")
            .join()
            .expect("deep values are handled");
        assert_eq!(refused, (true, true));
    }

    #[test]
    fn long_messages_are_shortened_on_a_character_boundary() {
        // The README's 300 characters, written out.
        assert_eq!(shorten("short"), "short");
        let longest = "é".repeat(300);
        assert_eq!(shorten(&longest), longest);
        let long = "é".repeat(301);
        assert_eq!(shorten(&long), format!("{longest}…"));
    }

    fn run(expression: &str, input: Value) -> Vec<Value> {
        let filter = JqFilter::compile(expression).expect("compiles");
        let outputs = filter.run(&input).expect("runs");
        let text = filter
            .run_on_text(&input.to_string())
            .expect("runs on text");
        assert_eq!(
            outputs, text,
            "run and run_on_text disagree for {expression}"
        );
        outputs
    }

    fn compile_error(expression: &str) -> String {
        match JqFilter::compile(expression) {
            Err(JqError::Compile(message)) => message,
            other => panic!("expected a compile error for {expression}, got {other:?}"),
        }
    }

    fn runtime_error(expression: &str, input: Value) -> String {
        let filter = JqFilter::compile(expression).expect("compiles");
        match filter.run(&input) {
            Err(JqError::Runtime(message)) => message,
            other => panic!("expected a runtime error for {expression}, got {other:?}"),
        }
    }

    fn sample_keys() -> Value {
        json!({"keys": [
            {"prefix": "ab12", "type": "PERSONAL", "name": "laptop"},
            {"prefix": "cd34", "type": "SERVICE", "name": "ci"},
            {"prefix": "ef56", "type": "PERSONAL", "name": "desktop"}
        ]})
    }

    #[test]
    fn selects_personal_prefixes() {
        let out = run(
            r#".keys[] | select(.type == "PERSONAL") | .prefix"#,
            sample_keys(),
        );
        assert_eq!(out, vec![json!("ab12"), json!("ef56")]);
    }

    #[test]
    fn field_access() {
        let out = run(".api_key", json!({"api_key": "sk-123", "other": 1}));
        assert_eq!(out, vec![json!("sk-123")]);
        assert_eq!(run(".missing", json!({})), vec![Value::Null]);
    }

    #[test]
    fn unclosed_bracket_is_compile_error() {
        let message = compile_error(".[");
        assert!(message.contains("closing bracket"), "{message}");
        assert!(!message.contains('\n'));
    }

    #[test]
    fn unexpected_token_is_named() {
        let message = compile_error(". xyz");
        assert!(message.contains("'xyz'"), "{message}");
        let message = compile_error("1 +");
        assert!(message.contains("end of input"), "{message}");
        let message = compile_error(".a |\n  §");
        assert!(message.contains("§"), "{message}");
        assert!(!message.contains('\n'));
    }

    #[test]
    fn unknown_filter_is_compile_error() {
        assert_eq!(compile_error("foo"), "undefined filter `foo/0`");
        assert_eq!(compile_error("$x"), "undefined variable `$x`");
    }

    #[test]
    fn runtime_errors() {
        let message = runtime_error(".a.b", json!({"a": 1}));
        assert!(message.contains("cannot index"), "{message}");
        assert_eq!(runtime_error(r#"error("boom")"#, json!(null)), "boom");
        let message = runtime_error(r#"1 + "a""#, json!(null));
        assert!(message.contains("cannot"), "{message}");
        let message = runtime_error(r#"error({"a": "x\ny"})"#, json!(null));
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn a_runtime_error_ends_the_run() {
        let filter =
            JqFilter::compile(r#".[] | if . == 2 then error("two") else . end"#).expect("compiles");
        assert!(matches!(
            filter.run(&json!([1, 2, 3])),
            Err(JqError::Runtime(m)) if m == "two"
        ));
    }

    #[test]
    fn halt_keeps_earlier_outputs() {
        assert_eq!(run("1, halt, 2", json!(null)), vec![json!(1)]);
        assert_eq!(runtime_error("halt_error", json!("bye")), "bye");
        assert_eq!(runtime_error("halt_error(3)", json!({"a": 1})), "{\"a\":1}");
        assert!(runtime_error("halt(2)", json!(null)).contains("exit code 2"));
    }

    #[test]
    fn key_order_is_preserved() {
        let out = run("{b: 1, a: 2}", json!(null));
        assert_eq!(
            serde_json::to_string(&out[0]).expect("json"),
            r#"{"b":1,"a":2}"#
        );
        let input: Value =
            serde_json::from_str(r#"{"z": 1, "y": {"d": 1, "c": 2}, "x": 3}"#).expect("json");
        let out = run(".", input);
        assert_eq!(
            serde_json::to_string(&out[0]).expect("json"),
            r#"{"z":1,"y":{"d":1,"c":2},"x":3}"#
        );
        let out = run("to_entries | map(.key)", json!({"b": 1, "a": 2}));
        assert_eq!(out, vec![json!(["b", "a"])]);
    }

    #[test]
    fn integers_stay_integers() {
        let out = run(
            ".n, .n + 1, .f, 1.5, 2 * 3, .big",
            json!({"n": 1, "f": 2.5, "big": u64::MAX}),
        );
        let text: Vec<String> = out.iter().map(Value::to_string).collect();
        assert_eq!(text, ["1", "2", "2.5", "1.5", "6", "18446744073709551615"]);
        assert!(out[0].is_i64());
    }

    #[test]
    fn length_of_values() {
        assert_eq!(run("length", json!([1, 2, 3])), vec![json!(3)]);
        assert_eq!(run("length", json!("héllo")), vec![json!(5)]);
        assert_eq!(run("length", json!({"a": 1})), vec![json!(1)]);
    }

    #[test]
    fn map_field() {
        let out = run("map(.x)", json!([{"x": 1}, {"x": "two"}, {}]));
        assert_eq!(out, vec![json!([1, "two", null])]);
    }

    #[test]
    fn base64_format() {
        assert_eq!(run("@base64", json!("hello")), vec![json!("aGVsbG8=")]);
        assert_eq!(run("@base64d", json!("aGVsbG8=")), vec![json!("hello")]);
    }

    #[test]
    fn regex_test() {
        let out = run(r#"map(test("a"))"#, json!(["abc", "xyz"]));
        assert_eq!(out, vec![json!([true, false])]);
        let out = run(
            r#".[] | select(test("^k[0-9]+$"))"#,
            json!(["k12", "x1", "k"]),
        );
        assert_eq!(out, vec![json!("k12")]);
    }

    #[test]
    fn limit_and_first() {
        assert_eq!(
            run("limit(2; .[])", json!([1, 2, 3])),
            vec![json!(1), json!(2)]
        );
        assert_eq!(run("first(.[])", json!([7, 8])), vec![json!(7)]);
        assert!(run("first(empty)", json!(null)).is_empty());
    }

    #[test]
    fn std_filters() {
        let input = json!({"b": "Hi", "a": 2});
        assert_eq!(run("keys", input.clone()), vec![json!(["a", "b"])]);
        assert_eq!(run(".b | ascii_downcase", input.clone()), vec![json!("hi")]);
        assert_eq!(run(".a | tostring", input.clone()), vec![json!("2")]);
        assert_eq!(
            run("to_entries", input),
            vec![json!([{"key": "b", "value": "Hi"}, {"key": "a", "value": 2}])]
        );
    }

    #[test]
    fn csv_and_tsv_formats() {
        let out = run("@csv", json!(["a", "b\"c", 1, 2.5, true, null]));
        assert_eq!(out, vec![json!("\"a\",\"b\"\"c\",1,2.5,true,")]);
        let out = run("@tsv", json!(["a\tb", "c\\d\ne", 3, null]));
        assert_eq!(out, vec![json!("a\\tb\tc\\\\d\\ne\t3\t")]);
        let out = run(".keys[] | [.prefix, .type] | @csv", sample_keys());
        assert_eq!(out[0], json!("\"ab12\",\"PERSONAL\""));
        let message = runtime_error("@csv", json!([{"a": 1}]));
        assert_eq!(message, r#"object ({"a":1}) is not valid in a csv row"#);
        assert_eq!(run("[] | @csv", json!(null)), vec![json!("")]);
    }

    #[test]
    fn filter_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<JqFilter>();
    }

    #[test]
    fn big_integers_survive_both_entry_points() {
        let out = run(
            ".[]",
            json!([i64::MIN, u64::MAX, 9_007_199_254_740_993_u64]),
        );
        let text: Vec<String> = out.iter().map(Value::to_string).collect();
        assert_eq!(
            text,
            [
                "-9223372036854775808",
                "18446744073709551615",
                "9007199254740993"
            ]
        );
    }

    #[test]
    fn env_variable() {
        let out = run("$ENV | type", json!(null));
        assert_eq!(out, vec![json!("object")]);
    }

    #[test]
    fn env_holds_the_given_environment_only() {
        let filter = JqFilter::compile("$ENV").expect("compiles");
        let environment = [(OsString::from("BASETEN_X"), OsString::from("1"))];
        let mut outputs = Vec::new();
        filter
            .run_streaming("null", &environment, &mut |value| {
                outputs.push(value);
                Ok(())
            })
            .expect("runs");
        assert_eq!(outputs, vec![json!({"BASETEN_X": "1"})]);
    }

    #[test]
    fn floats_and_non_finite_numbers() {
        assert_eq!(run(". / 2", json!(3)), vec![json!(1.5)]);
        assert_eq!(run("nan", json!(null)), vec![Value::Null]);
        assert_eq!(run("infinite", json!(null)), vec![json!(f64::MAX)]);
    }

    #[test]
    fn invalid_text_input() {
        let filter = JqFilter::compile(".").expect("compiles");
        assert!(matches!(
            filter.run_on_text("{\"a\": "),
            Err(JqError::Runtime(m)) if m.starts_with("invalid JSON input")
        ));
        assert!(matches!(
            filter.run_on_text("1 2"),
            Err(JqError::Runtime(m)) if m.starts_with("invalid JSON input")
        ));
    }

    #[test]
    fn payloads_serde_refuses_are_read_like_jq_reads_them() {
        let filter = JqFilter::compile(".keys | length").expect("compiles");
        let huge = r#"{"keys": [{"n": 1e400}, {"n": 12345678901234567890123}]}"#;
        assert_eq!(filter.run_on_text(huge).expect("runs"), vec![json!(2)]);
        let deep = format!(r#"{{"keys": {}1{}}}"#, "[".repeat(200), "]".repeat(200));
        let filter = JqFilter::compile(".keys | flatten").expect("compiles");
        assert_eq!(filter.run_on_text(&deep).expect("runs"), vec![json!([1])]);
    }

    #[test]
    fn deep_outputs_are_rejected() {
        // As deep as the child process allows: it needs a large stack here too.
        let deep = std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(|| {
                let message = runtime_error("reduce range(100001) as $i (0; [.])", json!(null));
                assert!(message.contains("nested deeper"), "{message}");
                let outputs = run(
                    "[range(10000)] | reduce .[] as $x (null; [.]) | length",
                    json!(null),
                );
                assert_eq!(outputs, vec![json!(1)]);
            })
            .expect("a thread");
        deep.join().expect("deep values are handled");
    }
}
