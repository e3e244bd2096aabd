//! OTLP/JSON values: `KeyValue` lists, `AnyValue` objects, strings that borrow from the input,
//! and 64-bit integers written as decimal strings.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

use crate::span::{AttrValue, Attribute};

/// Appends a `KeyValue` list (span attributes, `kvlistValue.values`) to a vector; `null` is
/// an empty list.
pub(super) struct AttributesSeed<'s, 'a> {
    pub(super) out: &'s mut Vec<Attribute<'a>>,
}

impl<'de> DeserializeSeed<'de> for AttributesSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttributesSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(kv) = seq.next_element::<JsonKeyValue<'de>>()? {
            self.out.push(kv.0);
        }
        Ok(())
    }
}

/// One `KeyValue` object: `{"key": …, "value": {…}}`.
struct JsonKeyValue<'a>(Attribute<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for JsonKeyValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonKeyValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTLP KeyValue object")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut key = None;
                let mut value = AttrValue::Empty;
                while let Some(member) = map.next_key::<BStr<'de>>()? {
                    match member.0.as_ref() {
                        "key" => key = Some(map.next_value::<BStr<'de>>()?.0),
                        "value" => value = map.next_value::<JsonValue<'de>>()?.0,
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                let key = key.ok_or_else(|| de::Error::missing_field("key"))?;
                Ok(JsonKeyValue(Attribute { key, value }))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// An `AnyValue` object (`{"stringValue": …}`, `{"intValue": …}`, …) decoded straight into
/// an [`AttrValue`]; unknown members are skipped, an empty object or `null` is
/// [`AttrValue::Empty`].
struct JsonValue<'a>(AttrValue<'a>);

#[derive(Deserialize)]
struct JsonArray<'a> {
    #[serde(borrow, default)]
    values: Vec<JsonValue<'a>>,
}

/// A `kvlistValue`: `{"values": [KeyValue, …]}`.
struct JsonKvList<'a>(Vec<Attribute<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for JsonKvList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonKvList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTLP KeyValueList object")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut values = Vec::new();
                while let Some(key) = map.next_key::<BStr<'de>>()? {
                    if key.0 == "values" {
                        map.next_value_seed(AttributesSeed { out: &mut values })?;
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(JsonKvList(values))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTLP AnyValue object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonValue(AttrValue::Empty))
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut value = AttrValue::Empty;
                while let Some(key) = map.next_key::<BStr<'de>>()? {
                    value = match key.0.as_ref() {
                        "stringValue" => AttrValue::Str(map.next_value::<BStr<'de>>()?.0),
                        "intValue" => AttrValue::Int(map.next_value::<JsonI64>()?.0),
                        "boolValue" => AttrValue::Bool(map.next_value()?),
                        "doubleValue" => AttrValue::Double(map.next_value()?),
                        "bytesValue" => AttrValue::Bytes(map.next_value::<BStr<'de>>()?.0),
                        "arrayValue" => AttrValue::Array(
                            map.next_value::<JsonArray<'de>>()?
                                .values
                                .into_iter()
                                .map(|v| v.0)
                                .collect(),
                        ),
                        "kvlistValue" => AttrValue::KvList(map.next_value::<JsonKvList<'de>>()?.0),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                            value
                        }
                    };
                }
                Ok(JsonValue(value))
            }
        }
        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string that borrows from the input unless it had escapes.
pub(super) struct BStr<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// OTLP/JSON writes 64-bit integers as decimal strings; numbers are accepted too.
pub(super) struct JsonU64(pub(super) u64);

impl<'de> Deserialize<'de> for JsonU64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(IntVisitor)
            .and_then(|i| u64::try_from(i).map_err(|_| de::Error::custom("negative timestamp")))
            .map(JsonU64)
    }
}

struct JsonI64(i64);

impl<'de> Deserialize<'de> for JsonI64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(IntVisitor)
            .and_then(|i| i64::try_from(i).map_err(|_| de::Error::custom("integer out of range")))
            .map(JsonI64)
    }
}

struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = i128;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a decimal string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
        v.parse::<i128>()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}
