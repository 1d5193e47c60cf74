//! JSON text of records, written straight into a line buffer: the bytes
//! `serde_json::to_writer` writes, with the string escape check done eight
//! bytes at a time.
//!
//! serde_json checks a string byte by byte against its escape table before
//! copying it; a record's strings (names, addresses, URIs, header values)
//! nearly never hold a byte that must be escaped, and that check was the
//! largest serde item of `analyze` (3.5% on the benchmark capture). Here a
//! string is checked a word at a time and copied whole when plain, and one
//! that needs escaping goes through serde_json itself. Numbers are written
//! by serde_json's own formatter (`itoa` for integers, its shortest
//! round-trip text for floats, `null` for a float that is not finite), so
//! the text is serde_json's in every case; the tests compare the two on
//! every kind of value serde has.
//!
//! RFC 8259 §7: "All Unicode characters may be placed within the quotation
//! marks, except for the characters that MUST be escaped: quotation mark,
//! reverse solidus, and the control characters (U+0000 through U+001F)."

use serde::ser::{self, Serialize};
use serde_json::ser::{CompactFormatter, Formatter as _};

type Result<T = ()> = serde_json::Result<T>;

fn io(e: std::io::Error) -> serde_json::Error {
    serde_json::Error::io(e)
}

/// Whether no byte of `b` must be escaped in a JSON string: eight bytes
/// at a time as one word, the last (partial) word overlapping the one
/// before it. Most strings of a record are under 16 bytes; with 16-byte
/// vector compares they went byte by byte through the remainder.
pub fn needs_no_escape(b: &[u8]) -> bool {
    let mut words = b.chunks_exact(8);
    if words
        .by_ref()
        .filter_map(|w| w.first_chunk::<8>())
        .any(|w| word_needs_escape(u64::from_le_bytes(*w)))
    {
        return false;
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return true;
    }
    match b.last_chunk::<8>() {
        Some(last) => !word_needs_escape(u64::from_le_bytes(*last)),
        // Shorter than a word.
        None => rest
            .iter()
            .all(|&c| (c >= 0x20) & (c != b'"') & (c != b'\\')),
    }
}

/// Whether a byte of the word `x` is a control character, `"` or `\`.
/// Bit Twiddling Hacks ("Determine if a word has a byte less than n", and
/// one equal to n): `(x - n * 0x01..01) & !x & 0x80..80` is not zero
/// exactly when some byte is below n (for n up to 128), and a byte equals
/// `c` exactly when `x ^ c * 0x01..01` has a zero byte.
fn word_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    (below(x, 0x20) | below(quote, 1) | below(backslash, 1)) & HIGH != 0
}

/// Write `b` (the bytes of a `str`) as a JSON string when none needs
/// escaping; false, writing nothing, otherwise.
pub fn write_plain(out: &mut Vec<u8>, b: &[u8]) -> bool {
    if !needs_no_escape(b) {
        return false;
    }
    out.reserve(b.len() + 2);
    out.push(b'"');
    out.extend_from_slice(b);
    out.push(b'"');
    true
}

/// Write `s` as a JSON string, escaped as serde_json escapes it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if !write_plain(out, s.as_bytes()) {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// `v` in decimal, as serde_json (`itoa`) writes it. Numbers below 100,000
/// (ports, packet counts, most byte counts) are written as one copy of a
/// known length: a text of variable length went to `extend_from_slice`, a
/// call to `memcpy` for two or three bytes (2.4% of a SYN flood's
/// `analyze`, which writes 13 numbers a flow). Larger ones take
/// [`crate::bytes::decimal`].
#[inline]
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    use crate::bytes::pair;
    let d = |x: u64| b'0' + (x % 10) as u8;
    match v {
        0..=9 => out.push(d(v)),
        10..=99 => out.extend_from_slice(&pair(v)),
        100..=999 => {
            let [a, b] = pair(v);
            out.extend_from_slice(&[d(v / 100), a, b]);
        }
        1_000..=9_999 => {
            let ([a, b], [c, e]) = (pair(v / 100), pair(v));
            out.extend_from_slice(&[a, b, c, e]);
        }
        10_000..=99_999 => {
            let ([a, b], [c, e]) = (pair(v / 100), pair(v));
            out.extend_from_slice(&[d(v / 10_000), a, b, c, e]);
        }
        _ => {
            let (buf, i) = crate::bytes::decimal(v);
            out.extend_from_slice(&buf[i..]);
        }
    }
}

/// `v` as serde_json writes it (its shortest round-trip text; `null` when
/// not finite).
///
/// Timestamps and durations are microsecond counts divided by 10^6
/// (`micros_to_secs` in the engine). For such a value below 2^31 seconds
/// the shortest text is the microsecond count itself with the point put
/// back, so it is written from the integer: a double there is less than
/// 10^-6 wide (2^31 has 2^-21 between doubles), so the decimal `m / 10^6`
/// lies within half a step of `v`, and any other decimal with as few
/// digits is at least 10^-6 away, out of `v`'s rounding interval. serde_json
/// writes such values in plain notation from 10^-5 up (below, `1e-6`), and
/// a whole number with `.0`. A test compares the two on every microsecond
/// count below 3 seconds and on a million others up to 2^31.
#[inline]
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    match exact_micros(v) {
        Some(m) => write_micros(out, m),
        None if v.is_finite() => {
            // Writing to a Vec cannot fail.
            let _ = CompactFormatter.write_f64(out, v);
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// The microsecond count `m` whose `m / 10^6` is `v`, when `v` is one
/// below 2^31 and 0 or at least 10^-5 (see [`write_f64`]).
fn exact_micros(v: f64) -> Option<u64> {
    if v == 0.0 && v.is_sign_positive() {
        return Some(0);
    }
    if !(1e-5..2_147_483_648.0).contains(&v) {
        return None;
    }
    // v * 10^6 is within a unit of m (it is below 2^51, and the product
    // is rounded once more): try the neighbours too.
    // Truncation intended: the value is in range and already rounded.
    let m = (v * 1e6).round() as u64;
    [m, m.wrapping_sub(1), m + 1]
        .into_iter()
        .find(|&m| m >= 10 && m as f64 / 1e6 == v)
}

fn write_micros(out: &mut Vec<u8>, m: u64) {
    use crate::bytes::pair;
    write_u64(out, m / 1_000_000);
    let frac = m % 1_000_000;
    if frac == 0 {
        out.extend_from_slice(b".0");
        return;
    }
    let (hi, mid, lo) = (pair(frac / 10_000), pair(frac / 100), pair(frac));
    let digits = [b'.', hi[0], hi[1], mid[0], mid[1], lo[0], lo[1]];
    // Trailing zeros dropped: at most five (frac is not 0).
    let zeros = digits[1..].iter().rev().take_while(|&&c| c == b'0').count();
    out.extend_from_slice(&digits[..7 - zeros]);
}

/// A JSON object being written into a line buffer: `{`, then each entry
/// with the comma before it, then `}` ([`Object::end`]).
pub struct Object<'a>(Compound<'a>);

impl<'a> Object<'a> {
    pub fn begin(out: &'a mut Vec<u8>) -> Object<'a> {
        Object(Writer(out).open(b'{', b'}', None))
    }

    /// One entry. A value that fails to serialise leaves what it wrote.
    pub fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        self.0.field(key, value)
    }

    pub fn end(self) {
        let _ = self.0.finish();
    }
}

/// serde's serializer for one JSON value, into a line buffer.
pub struct Writer<'a>(pub &'a mut Vec<u8>);

/// A sequence, map or struct being written; `variant` closes the object
/// that holds an enum variant's name.
pub struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: u8,
    variant: bool,
}

impl Compound<'_> {
    fn sep(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// `"key":value` (with the comma before it when not the first).
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        self.sep();
        write_str(self.out, key);
        self.out.push(b':');
        value.serialize(Writer(self.out))
    }

    fn finish(self) -> Result {
        self.out.push(self.close);
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl<'a> Writer<'a> {
    fn open(self, open: u8, close: u8, variant: Option<&str>) -> Compound<'a> {
        if let Some(v) = variant {
            self.0.push(b'{');
            write_str(self.0, v);
            self.0.push(b':');
        }
        self.0.push(open);
        Compound {
            out: self.0,
            first: true,
            close,
            variant: variant.is_some(),
        }
    }
}

macro_rules! number {
    ($($name:ident($t:ty) => $w:ident;)*) => {
        $(fn $name(self, v: $t) -> Result {
            CompactFormatter.$w(self.0, v).map_err(io)
        })*
    };
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.0.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    number! {
        serialize_i8(i8) => write_i8;
        serialize_i16(i16) => write_i16;
        serialize_i32(i32) => write_i32;
        serialize_i64(i64) => write_i64;
        serialize_i128(i128) => write_i128;
        serialize_u128(u128) => write_u128;
    }

    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result {
        write_u64(self.0, v);
        Ok(())
    }

    /// serde_json writes a float that is not finite as `null`.
    fn serialize_f32(self, v: f32) -> Result {
        if v.is_finite() {
            CompactFormatter.write_f32(self.0, v).map_err(io)
        } else {
            self.serialize_unit()
        }
    }

    fn serialize_f64(self, v: f64) -> Result {
        write_f64(self.0, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.0, v);
        Ok(())
    }

    /// serde_json writes bytes as an array of numbers.
    fn serialize_bytes(self, v: &[u8]) -> Result {
        CompactFormatter.write_byte_array(self.0, v).map_err(io)
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        let mut o = Object::begin(self.0);
        o.entry(variant, value)?;
        o.end();
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open(b'[', b']', None))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        Ok(self.open(b'[', b']', Some(variant)))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open(b'{', b'}', None))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(self.open(b'{', b'}', None))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        Ok(self.open(b'{', b'}', Some(variant)))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.sep();
        value.serialize(Writer(self.out))
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// Tuples are written as sequences.
macro_rules! like_seq {
    ($($tr:ident::$m:ident;)*) => {
        $(impl ser::$tr for Compound<'_> {
            type Ok = ();
            type Error = serde_json::Error;
            fn $m<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> Result {
                self.finish()
            }
        })*
    };
}

like_seq! {
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.sep();
        key.serialize(KeyWriter(self.out))?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(Writer(self.out))
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.field(key, value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.field(key, value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// A map key: a JSON key is a string, so serde_json writes a string as
/// itself and a number, a boolean or a character as its text in quotes;
/// other keys are an error, as there.
struct KeyWriter<'a>(&'a mut Vec<u8>);

fn key_must_be_a_string() -> serde_json::Error {
    ser::Error::custom("key must be a string")
}

fn float_key_must_be_finite() -> serde_json::Error {
    ser::Error::custom("float key must be finite")
}

impl KeyWriter<'_> {
    /// `v`'s value text in quotes.
    fn quoted<T: Serialize>(self, v: T) -> Result {
        self.0.push(b'"');
        v.serialize(Writer(&mut *self.0))?;
        self.0.push(b'"');
        Ok(())
    }
}

macro_rules! quoted {
    ($($name:ident($t:ty);)*) => {
        $(fn $name(self, v: $t) -> Result {
            self.quoted(v)
        })*
    };
}

macro_rules! refused {
    ($($name:ident($($arg:ty),*) -> $r:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$r> {
            Err(key_must_be_a_string())
        })*
    };
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = ser::Impossible<(), serde_json::Error>;
    type SerializeTuple = ser::Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = ser::Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = ser::Impossible<(), serde_json::Error>;
    type SerializeMap = ser::Impossible<(), serde_json::Error>;
    type SerializeStruct = ser::Impossible<(), serde_json::Error>;
    type SerializeStructVariant = ser::Impossible<(), serde_json::Error>;

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.0, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(self, _n: &'static str, _i: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _n: &'static str, v: &T) -> Result {
        v.serialize(self)
    }

    quoted! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
    }

    /// serde_json writes a finite float key as its text in quotes.
    fn serialize_f32(self, v: f32) -> Result {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(v)
    }

    refused! {
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {

    fn serde_f64(v: f64) -> String {
        serde_json::to_string(&v).expect("f64")
    }

    fn ours_f64(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).expect("utf-8")
    }

    /// Every microsecond count below 3 s, a million spread up to 2^31 s
    /// and those around each power of ten and of two: what serde_json
    /// writes for `m / 10^6`, and the fast path is taken where it should be.
    #[test]
    fn micro_seconds_are_written_as_serde_json_writes_them() {
        let check = |m: u64| {
            let v = m as f64 / 1e6;
            assert_eq!(ours_f64(v), serde_f64(v), "m = {m}");
            if (10..2_147_483_648_000_000).contains(&m) || m == 0 {
                assert_eq!(exact_micros(v), Some(m), "m = {m}");
            }
        };
        (0..3_000_000).for_each(check);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x % 2_200_000_000_000_000);
        }
        for p in 0..20 {
            for b in [10u64.pow(p), 1 << (p * 2 + 9)] {
                for d in 0..3 {
                    check(b.saturating_sub(d));
                    check(b + d);
                }
            }
        }
    }

    /// Values that are not microsecond counts go to serde_json's formatter.
    #[test]
    fn other_floats_are_written_as_serde_json_writes_them() {
        let mut vals = vec![
            -0.0,
            -1.5,
            1e-6,
            9e-6,
            1e-7,
            0.1 + 0.2,
            1.0 / 3.0,
            2_147_483_648.5,
            1e16,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1_700_000_000.123_456_7,
        ];
        let mut x: u64 = 7;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals.push(f64::from_bits(x));
            vals.push((x % 1_000_000_000) as f64 / 1e7);
        }
        for v in vals {
            let want = if v.is_finite() {
                serde_f64(v)
            } else {
                "null".into()
            };
            assert_eq!(ours_f64(v), want, "{v:e} ({:#x})", v.to_bits());
        }
        assert_eq!(ours_f64(f64::NAN), "null");
        assert_eq!(ours_f64(f64::NEG_INFINITY), "null");
    }

    #[test]
    fn integers_are_written_as_itoa_writes_them() {
        for v in crate::bytes::tests::decimal_edges(200_000) {
            let mut out = Vec::new();
            write_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes(), "{v}");
        }
    }
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn ours<T: Serialize + ?Sized>(v: &T) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        v.serialize(Writer(&mut out)).ok().map(|_| out)
    }

    fn same<T: Serialize + ?Sized + std::fmt::Debug>(v: &T) {
        let want = serde_json::to_vec(v).ok();
        assert_eq!(ours(v), want, "{v:?}");
    }

    #[test]
    fn plain_check_agrees_with_the_rfc_on_every_byte_at_every_position() {
        for len in 0..=24usize {
            for pos in 0..len {
                for b in 0u8..=127 {
                    let mut s = vec![b'a'; len];
                    s[pos] = b;
                    let must = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_no_escape(&s), !must, "len {len} pos {pos} byte {b}");
                }
            }
        }
        assert!(needs_no_escape("é ü 中文 \u{7f}".as_bytes()));
    }

    #[test]
    fn scalars_and_strings_as_serde_json_writes_them() {
        same(&true);
        same(&false);
        for v in [0i64, -1, 42, i64::MIN, i64::MAX] {
            same(&v);
        }
        for v in [0u64, 7, u64::MAX] {
            same(&v);
        }
        same(&u128::MAX);
        same(&i128::MIN);
        same(&-5i8);
        same(&300u16);
        for v in [
            0.0f64,
            -0.0,
            1.5,
            1700000000.000001,
            1e21,
            1e-7,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            same(&v);
        }
        for v in [0.1f32, f32::NAN, 3.0e38] {
            same(&v);
        }
        for s in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nul\0",
            "\u{1f}\u{7f}",
            "é中文",
            "exactly8",
            "sixteen bytes...",
            "a longer string with a quote \" at byte 29",
        ] {
            same(s);
        }
        same(&'x');
        same(&'"');
        same(&());
        same(&Some(3u8));
        same(&None::<u8>);
        same(&b"raw"[..].to_vec());
        same(&Bytes(b"\x00\xff"));
        same(&Bytes(b""));
    }

    /// A value serialised with `serialize_bytes` (as `serde_bytes` does).
    #[derive(Debug)]
    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    #[derive(Serialize, Debug)]
    struct Unit;
    #[derive(Serialize, Debug)]
    struct Newtype(u32);
    #[derive(Serialize, Debug)]
    struct Tuple(u8, &'static str);
    #[derive(Serialize, Debug)]
    enum E {
        A,
        B(i32),
        C(u8, u8),
        D { x: u8, y: Option<String> },
    }
    #[derive(Serialize, Debug)]
    struct Rec {
        name: String,
        port: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        gone: Option<u8>,
        list: Vec<E>,
        empty: Vec<u8>,
        map: BTreeMap<String, f64>,
        nested: Option<Box<Rec>>,
        unit: Unit,
        newtype: Newtype,
        tuple: Tuple,
        tag: E,
    }

    #[test]
    fn compounds_as_serde_json_writes_them() {
        let leaf = Rec {
            name: "in\"ner".into(),
            port: 80,
            gone: None,
            list: vec![],
            empty: vec![],
            map: BTreeMap::new(),
            nested: None,
            unit: Unit,
            newtype: Newtype(9),
            tuple: Tuple(1, "t"),
            tag: E::A,
        };
        let rec = Rec {
            name: "outer\n".into(),
            port: 443,
            gone: Some(1),
            list: vec![
                E::A,
                E::B(-3),
                E::C(1, 2),
                E::D {
                    x: 4,
                    y: Some("why".into()),
                },
            ],
            empty: vec![],
            map: [("k".to_string(), 1.25), ("\\".to_string(), f64::NAN)]
                .into_iter()
                .collect(),
            nested: Some(Box::new(leaf)),
            unit: Unit,
            newtype: Newtype(0),
            tuple: Tuple(255, ""),
            tag: E::D { x: 0, y: None },
        };
        same(&rec);
        same(&vec![vec![1u8], vec![]]);
        same(&(1u8, "two", 3.5f64));
        same(&serde_json::json!({"a": [1, -2, 3.5, null, true, "s\u{0}"], "b": {}}));
        same(&vec![Bytes(b"ab")]);
    }

    /// A map with float keys (no std map can hold them).
    #[derive(Debug)]
    struct FloatKeys<T>(Vec<T>);
    impl<T: Serialize> Serialize for FloatKeys<T> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use ser::SerializeMap as _;
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for k in &self.0 {
                m.serialize_entry(k, &0u8)?;
            }
            m.end()
        }
    }

    #[derive(Serialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum K {
        Alpha,
        Beta,
    }

    #[test]
    fn map_keys_as_serde_json_writes_them() {
        let ints: BTreeMap<i32, u8> = [(-1, 1), (7, 2)].into_iter().collect();
        same(&ints);
        let bools: BTreeMap<bool, u8> = [(false, 1), (true, 2)].into_iter().collect();
        same(&bools);
        let chars: BTreeMap<char, u8> = [('"', 1), ('a', 2)].into_iter().collect();
        same(&chars);
        let units: BTreeMap<K, u8> = [(K::Alpha, 1), (K::Beta, 2)].into_iter().collect();
        same(&units);
        same(&FloatKeys(vec![1.5, -0.0, 1e21]));
        assert!(serde_json::to_vec(&FloatKeys(vec![f64::NAN])).is_err());
        assert!(ours(&FloatKeys(vec![f64::NAN])).is_none());
        same(&FloatKeys(vec![0.1f32, 3.0e38]));
        assert!(serde_json::to_vec(&FloatKeys(vec![f32::INFINITY])).is_err());
        assert!(ours(&FloatKeys(vec![f32::INFINITY])).is_none());
        // Keys serde_json refuses, refused here too.
        let seqs: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(serde_json::to_vec(&seqs).is_err());
        assert!(ours(&seqs).is_none());
        let opts: BTreeMap<Option<u8>, u8> = [(None, 1)].into_iter().collect();
        assert!(serde_json::to_vec(&opts).is_err());
        assert!(ours(&opts).is_none());
    }

    #[test]
    fn object_entries() {
        let mut out = Vec::new();
        let mut o = Object::begin(&mut out);
        o.entry("ts", &1.5f64).expect("entry");
        o.entry("k\"ey", &"v").expect("entry");
        o.entry("n", &None::<u8>).expect("entry");
        o.end();
        assert_eq!(out, br#"{"ts":1.5,"k\"ey":"v","n":null}"#);
        let mut out = Vec::new();
        Object::begin(&mut out).end();
        assert_eq!(out, b"{}");
    }
}
