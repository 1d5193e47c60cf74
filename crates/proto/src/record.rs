//! What a parser writes through [`crate::Sink::record`]: one record, kept
//! typed until it is written out.
//!
//! A parser hands over its protocol's record struct (`record.rs` in the
//! protocol's folder). Consumers that read records back (detection,
//! learning) see the struct itself, through the typed view
//! `netsift_protocols::records::RecordEvent`, never JSON keys; only the
//! output layer turns a record into JSON ([`Record::to_json`]), which is
//! the struct's serde form, exactly what the parser would have serialised.

use std::any::Any;
use std::fmt;

use serde_json::Value;

mod fields;
pub use fields::JsonObject;

/// A record struct: any serialisable, cloneable, thread-safe type.
pub trait RecordBody: Any + Send + Sync + fmt::Debug {
    /// The record's JSON (its serde form).
    fn to_json(&self) -> Value;
    /// Write the record's fields into `map`, except the keys in `skip`:
    /// the same entries as [`RecordBody::to_json`]'s object, without
    /// building it.
    fn write_fields(&self, map: &mut JsonObject<'_>, skip: &[&str]) -> serde_json::Result<()>;
    /// A copy, for outputs that write one record twice (`Tee`).
    fn clone_box(&self) -> Box<dyn RecordBody>;
    /// For the typed view's downcast.
    fn as_any(&self) -> &dyn Any;
}

impl<T> RecordBody for T
where
    T: serde::Serialize + Clone + fmt::Debug + Send + Sync + 'static,
{
    fn to_json(&self) -> Value {
        // The record structs hold strings, numbers, booleans, options and
        // lists: serialising them cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    fn write_fields(&self, map: &mut JsonObject<'_>, skip: &[&str]) -> serde_json::Result<()> {
        self.serialize(fields::Fields {
            map,
            skip,
            key: None,
        })
    }
    fn clone_box(&self) -> Box<dyn RecordBody> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One record of a flow: a protocol's typed struct, or a JSON value for
/// the records the engine builds itself (`weird`, `files`, ...).
pub struct Record {
    inner: Inner,
    rendered: Rendered,
}

/// A value's output line, made ahead of its writer. `analyze --threads`
/// workers write the JSONL lines of their records and flows, so that the
/// one thread that writes the files only copies bytes. It is not part of
/// the value: never serialised, equal to any other, and dropped or ignored
/// by every output but the one it was made for.
#[derive(Clone, Default)]
pub struct Rendered(Option<Vec<u8>>);

impl Rendered {
    pub fn new(line: Vec<u8>) -> Rendered {
        Rendered(Some(line))
    }
    pub fn get(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

impl PartialEq for Rendered {
    fn eq(&self, _other: &Rendered) -> bool {
        true
    }
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(l) => write!(f, "Rendered({} bytes)", l.len()),
            None => f.write_str("Rendered(none)"),
        }
    }
}

enum Inner {
    Typed(Box<dyn RecordBody>),
    Json(Value),
}

impl Record {
    /// A typed record (a protocol's record struct).
    pub fn typed<T: RecordBody>(body: T) -> Record {
        Record::of(Inner::Typed(Box::new(body)))
    }

    fn of(inner: Inner) -> Record {
        Record {
            inner,
            rendered: Rendered::default(),
        }
    }

    /// Keep the record's output line, made ahead of the writer.
    pub fn set_rendered(&mut self, line: Vec<u8>) {
        self.rendered = Rendered::new(line);
    }

    /// The record's output line, if one was made ahead.
    pub fn rendered(&self) -> Option<&[u8]> {
        self.rendered.get()
    }

    /// A record that is JSON already.
    pub fn json(v: Value) -> Record {
        Record::of(Inner::Json(v))
    }

    /// The record as struct `T`, when it is one.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        match &self.inner {
            Inner::Typed(b) => b.as_any().downcast_ref::<T>(),
            Inner::Json(_) => None,
        }
    }

    /// Write the record's fields into `map`, except the keys in `skip`
    /// (the JSONL writer's flow fields, which come first).
    pub fn write_fields(&self, map: &mut JsonObject<'_>, skip: &[&str]) -> serde_json::Result<()> {
        match &self.inner {
            Inner::Typed(b) => b.write_fields(map, skip),
            Inner::Json(v) => {
                for (k, v) in v.as_object().into_iter().flatten() {
                    if !skip.contains(&k.as_str()) {
                        map.entry(k, v)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The record's JSON without consuming it, for the output layer.
    pub fn to_json(&self) -> Value {
        match &self.inner {
            Inner::Typed(b) => b.to_json(),
            Inner::Json(v) => v.clone(),
        }
    }
}

impl From<Value> for Record {
    fn from(v: Value) -> Record {
        Record::json(v)
    }
}

impl Clone for Record {
    fn clone(&self) -> Record {
        Record {
            inner: match &self.inner {
                Inner::Typed(b) => Inner::Typed(b.clone_box()),
                Inner::Json(v) => Inner::Json(v.clone()),
            },
            rendered: self.rendered.clone(),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Typed(b) => b.fmt(f),
            Inner::Json(v) => v.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, serde::Serialize)]
    struct Rec {
        a: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<String>,
    }

    #[test]
    fn typed_records_serialise_as_their_struct_and_downcast() {
        let r = Record::typed(Rec { a: 7, b: None });
        assert_eq!(r.downcast_ref::<Rec>().map(|x| x.a), Some(7));
        assert!(r.downcast_ref::<String>().is_none());
        assert_eq!(r.to_json(), serde_json::json!({"a": 7}));
        assert_eq!(r.to_json().to_string(), r#"{"a":7}"#);
        let j = Record::from(serde_json::json!({"x": 1}));
        assert!(j.downcast_ref::<Rec>().is_none());
        assert_eq!(j.to_json(), serde_json::json!({"x": 1}));
    }

    /// `{"first":0,` then the record's fields (minus `skip`) through
    /// [`Record::write_fields`].
    fn via_fields(r: &Record, skip: &[&str]) -> String {
        let mut line = Vec::new();
        let mut m = crate::json::Object::begin(&mut line);
        m.entry("first", &0).expect("entry");
        r.write_fields(&mut m, skip).expect("fields");
        m.end();
        String::from_utf8(line).expect("utf-8")
    }

    /// The same through a `Value`, as the writer did before.
    fn via_value(r: &Record, skip: &[&str]) -> String {
        let mut out = serde_json::Map::new();
        out.insert("first".into(), 0.into());
        for (k, v) in r.to_json().as_object().into_iter().flatten() {
            if !skip.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
        Value::Object(out).to_string()
    }

    #[derive(Debug, Clone, serde::Serialize)]
    struct Inner2 {
        name: String,
        n: f64,
    }

    #[derive(Debug, Clone, serde::Serialize)]
    struct Wide {
        uid: &'static str,
        a: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<String>,
        c: Option<u8>,
        list: Vec<Inner2>,
        by_code: std::collections::BTreeMap<u16, String>,
        text: String,
        nan: f64,
        #[serde(rename = "type")]
        kind: &'static str,
    }

    #[derive(Debug, Clone, serde::Serialize)]
    struct Newtype(Rec);

    #[derive(Debug, Clone, serde::Serialize)]
    struct Empty;

    #[test]
    fn fields_written_directly_are_the_value_path_byte_for_byte() {
        let wide = Wide {
            uid: "spoofed",
            a: 443,
            b: None,
            c: None,
            list: vec![Inner2 {
                name: "q\"u\u{1}é".into(),
                n: 0.25,
            }],
            by_code: [(200, "OK".to_string()), (7, "x".to_string())].into(),
            text: "line\nbreak\t\u{7f}".into(),
            nan: f64::NAN,
            kind: "t",
        };
        let skip = ["uid", "ts"];
        let records = [
            Record::typed(wide),
            Record::typed(Rec {
                a: 1,
                b: Some("b".into()),
            }),
            Record::typed(Newtype(Rec { a: 2, b: None })),
            Record::typed(Empty),
            Record::typed(Option::<Rec>::None),
            Record::json(serde_json::json!({"uid": "x", "k": [1, {"z": null}]})),
            Record::json(Value::Null),
        ];
        for r in &records {
            assert_eq!(via_fields(r, &skip), via_value(r, &skip), "{r:?}");
        }
        assert!(via_fields(&records[0], &skip).contains(r#""by_code":{"7":"x","200":"OK"}"#));
    }

    #[test]
    fn a_record_that_is_not_an_object_is_an_error_not_a_panic() {
        for r in [Record::typed(7u32), Record::typed(vec![1u8])] {
            let mut line = Vec::new();
            let mut m = crate::json::Object::begin(&mut line);
            assert!(r.write_fields(&mut m, &[]).is_err());
        }
    }
}
