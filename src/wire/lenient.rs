//! Lenient field readers for Claude Code's shapes: every field is optional, a field of an
//! unexpected type reads as absent (never fails its line or payload), unknown fields are skipped
//! without being materialised (`IgnoredAny`).
//!
//! Two forms of each: a newtype (`LStr`, `LBool`, …) and a `deserialize_with` function (`string`,
//! `boolean`, …) for structs whose fields stay plain `Option`s. Both read from borrowed input
//! (the importer's whole-file buffers) and from `serde_json::Value` (payloads derive re-reads).

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Visitor methods reading every scalar (and null) as `$v`: the field was not what we expected.
macro_rules! scalars_as {
    ($ty:ty, $v:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$ty, E> {
            Ok($v)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$ty, E> {
            Ok($v)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$ty, E> {
            Ok($v)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$ty, E> {
            Ok($v)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$ty, E> {
            Ok($v)
        }
        fn visit_none<E: de::Error>(self) -> Result<$ty, E> {
            Ok($v)
        }
    };
}
pub(crate) use scalars_as;

enum Scalar {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Scalar, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Scalar, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string field; a number reads as its text, anything else as absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LStr(pub(crate) Option<String>);

impl<'de> Deserialize<'de> for LStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LStr(match Scalar::deserialize(d)? {
            Scalar::Str(s) => Some(s),
            Scalar::Int(i) => Some(i.to_string()),
            _ => None,
        }))
    }
}

/// A boolean field; `"true"`/`"false"` strings and 0/1 accepted.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LBool(pub(crate) Option<bool>);

impl<'de> Deserialize<'de> for LBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LBool(match Scalar::deserialize(d)? {
            Scalar::Bool(b) => Some(b),
            Scalar::Int(i) => Some(i != 0),
            Scalar::Str(s) => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }))
    }
}

/// An integer field; floats truncate, numeric strings parse.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LInt(pub(crate) Option<i64>);

impl<'de> Deserialize<'de> for LInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LInt(match Scalar::deserialize(d)? {
            Scalar::Int(i) => Some(i),
            Scalar::Float(f) if f.is_finite() => Some(f as i64),
            Scalar::Str(s) => s.trim().parse().ok(),
            _ => None,
        }))
    }
}

/// An object field read into `T`; any other JSON value reads as `T::default()`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Obj<T>(pub(crate) T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MaybeObj::<T>::deserialize(d).map(|m| Obj(m.0.unwrap_or_default()))
    }
}

/// An object field read into `Some(T)`; any other JSON value (null included) reads as `None`.
#[derive(Debug, Default, Clone)]
pub(crate) struct MaybeObj<T>(pub(crate) Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MaybeObj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = MaybeObj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<MaybeObj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(m)).map(|t| MaybeObj(Some(t)))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<MaybeObj<T>, D::Error> {
                MaybeObj::<T>::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<MaybeObj<T>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeObj(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<MaybeObj<T>, E> {
                Ok(MaybeObj(None))
            }
            scalars_as!(MaybeObj<T>, MaybeObj(None));
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The text of a string, a text block, or a list of text blocks (joined by newlines).
#[derive(Debug, Default, Clone)]
pub(crate) struct Text(pub(crate) String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                Text::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Text, A::Error> {
                let mut out = String::new();
                while let Some(k) = m.next_key::<LStr>()? {
                    if k.0.as_deref() == Some("text") {
                        out = m.next_value::<LStr>()?.0.unwrap_or_default();
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Text(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Text, A::Error> {
                let mut out = String::new();
                while let Some(Text(t)) = s.next_element::<Text>()? {
                    if !t.is_empty() {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&t);
                    }
                }
                Ok(Text(out))
            }
            scalars_as!(Text, Text::default());
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with`: a string; a number reads as its text, anything else as absent.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    LStr::deserialize(d).map(|v| v.0)
}

/// `deserialize_with`: a boolean; `"true"`/`"false"` strings and 0/1 accepted.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    LBool::deserialize(d).map(|v| v.0)
}

/// `deserialize_with`: an integer; floats truncate, numeric strings parse.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    LInt::deserialize(d).map(|v| v.0)
}

/// `deserialize_with`: the text of a string, a text block, or a list of text blocks.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Text::deserialize(d).map(|v| v.0)
}

/// `deserialize_with`: an object read into `T`; anything else reads as `None`.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    MaybeObj::<T>::deserialize(d).map(|v| v.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct T {
        #[serde(deserialize_with = "string")]
        s: Option<String>,
        #[serde(deserialize_with = "boolean")]
        b: Option<bool>,
        #[serde(deserialize_with = "int")]
        i: Option<i64>,
        #[serde(deserialize_with = "text")]
        t: String,
        #[serde(deserialize_with = "object")]
        o: Option<Box<T>>,
    }

    #[test]
    fn every_shape_reads_from_text_and_from_values() {
        let json =
            r#"{"s":7,"b":"true","i":"12","t":[{"type":"text","text":"a"},"b"],"o":{"s":"x"}}"#;
        let from_text: T = serde_json::from_str(json).unwrap();
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let from_value: T = serde_json::from_value(value).unwrap();
        for t in [from_text, from_value] {
            assert_eq!(t.s.as_deref(), Some("7"));
            assert_eq!(t.b, Some(true));
            assert_eq!(t.i, Some(12));
            assert_eq!(t.t, "a\nb");
            assert_eq!(t.o.and_then(|o| o.s).as_deref(), Some("x"));
        }
        // Wrong types read as absent; the struct still reads.
        let t: T = serde_json::from_str(r#"{"s":{},"b":[1],"i":"x","t":5,"o":"no"}"#).unwrap();
        assert!(t.s.is_none() && t.b.is_none() && t.i.is_none() && t.t.is_empty() && t.o.is_none());
    }
}
