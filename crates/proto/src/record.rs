//! What a parser writes through [`crate::Sink::record`]: one record, kept
//! typed until it is written out.
//!
//! A parser hands over its protocol's record struct (`record.rs` in the
//! protocol's folder). Consumers that read records back (detection,
//! learning) see the struct itself, through the typed view
//! `netsift_protocols::records::RecordEvent`, never JSON keys; only the
//! output layer turns a record into JSON ([`Record::into_json`]), which is
//! the struct's serde form, exactly what the parser would have serialised.

use std::any::Any;
use std::fmt;

use serde_json::Value;

/// A record struct: any serialisable, cloneable, thread-safe type.
pub trait RecordBody: Any + Send + Sync + fmt::Debug {
    /// The record's JSON (its serde form).
    fn to_json(&self) -> Value;
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
    fn clone_box(&self) -> Box<dyn RecordBody> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One record of a flow: a protocol's typed struct, or a JSON value for
/// the records the engine builds itself (`weird`, `files`, ...).
pub struct Record(Inner);

enum Inner {
    Typed(Box<dyn RecordBody>),
    Json(Value),
}

impl Record {
    /// A typed record (a protocol's record struct).
    pub fn typed<T: RecordBody>(body: T) -> Record {
        Record(Inner::Typed(Box::new(body)))
    }

    /// A record that is JSON already.
    pub fn json(v: Value) -> Record {
        Record(Inner::Json(v))
    }

    /// The record as struct `T`, when it is one.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        match &self.0 {
            Inner::Typed(b) => b.as_any().downcast_ref::<T>(),
            Inner::Json(_) => None,
        }
    }

    /// The record's JSON, for the output layer.
    pub fn into_json(self) -> Value {
        match self.0 {
            Inner::Typed(b) => b.to_json(),
            Inner::Json(v) => v,
        }
    }

    /// The record's JSON without consuming it, for the output layer.
    pub fn to_json(&self) -> Value {
        match &self.0 {
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
        Record(match &self.0 {
            Inner::Typed(b) => Inner::Typed(b.clone_box()),
            Inner::Json(v) => Inner::Json(v.clone()),
        })
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
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
        assert_eq!(r.clone().into_json(), serde_json::json!({"a": 7}));
        assert_eq!(r.to_json().to_string(), r#"{"a":7}"#);
        let j = Record::from(serde_json::json!({"x": 1}));
        assert!(j.downcast_ref::<Rec>().is_none());
        assert_eq!(j.into_json(), serde_json::json!({"x": 1}));
    }
}
