//! A record's top-level fields written straight into an enclosing JSON
//! object, without building a [`serde_json::Value`] first.
//!
//! The JSONL writer puts the flow's `ts`, `uid` and endpoints first and the
//! record's own fields after them, in one object. Going through `Value`
//! cost a map (an `IndexMap`, with a `String` per key) per record, built
//! and dropped again at once: about a tenth of `analyze`. [`Fields`] is a
//! serde serializer that accepts only a struct or a map (what a record
//! is) and hands each of its entries to the enclosing object, skipping the
//! keys the enclosing object owns. The bytes are those of the `Value`
//! path: serde_json writes a field the same way whether it is serialised
//! directly or through a `Value` (non-finite floats become `null` in
//! both).

use serde::ser::{self, Impossible, Serialize};
use serde_json::Value;

/// A JSON object being written into a line buffer ([`crate::json`]).
pub type JsonObject<'a> = crate::json::Object<'a>;

/// Writes the entries of a struct or map into `map`, except `skip`'s.
pub(super) struct Fields<'m, 'a> {
    pub map: &'m mut JsonObject<'a>,
    pub skip: &'m [&'m str],
    /// A map's key, between `serialize_key` and `serialize_value`.
    pub key: Option<String>,
}

fn not_object() -> serde_json::Error {
    ser::Error::custom("a record must serialise as a struct or a map")
}

impl<'m, 'a> Fields<'m, 'a> {
    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> serde_json::Result<()> {
        if self.skip.contains(&key) {
            return Ok(());
        }
        self.map.entry(key, value)
    }
}

macro_rules! reject {
    ($($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> serde_json::Result<()> {
            Err(not_object())
        })*
    };
}

impl<'m, 'a> ser::Serializer for Fields<'m, 'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<(), serde_json::Error>;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    reject! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    /// No record: no fields.
    fn serialize_none(self) -> serde_json::Result<()> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> serde_json::Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> serde_json::Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> serde_json::Result<()> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> serde_json::Result<()> {
        Err(not_object())
    }
    fn serialize_seq(self, _len: Option<usize>) -> serde_json::Result<Self::SerializeSeq> {
        Err(not_object())
    }
    fn serialize_tuple(self, _len: usize) -> serde_json::Result<Self::SerializeTuple> {
        Err(not_object())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeTupleStruct> {
        Err(not_object())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeTupleVariant> {
        Err(not_object())
    }
    fn serialize_map(self, _len: Option<usize>) -> serde_json::Result<Self> {
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> serde_json::Result<Self> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeStructVariant> {
        Err(not_object())
    }
}

impl ser::SerializeStruct for Fields<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        self.entry(key, value)
    }
    fn end(self) -> serde_json::Result<()> {
        Ok(())
    }
}

impl ser::SerializeMap for Fields<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> serde_json::Result<()> {
        // A JSON key is a string; serde_json turns number and boolean keys
        // into their text, as a `Value` map does.
        self.key = Some(match serde_json::to_value(key)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(ser::Error::custom("a map key must be a string")),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        match self.key.take() {
            Some(k) => self.entry(&k, value),
            None => Err(ser::Error::custom("a map value without its key")),
        }
    }
    fn end(self) -> serde_json::Result<()> {
        Ok(())
    }
}
