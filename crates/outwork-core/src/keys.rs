//! What `config check` needs beyond a parse: the keys a config type knows
//! (read from its `Deserialize`, so the list can't drift from the code),
//! "did you mean" for a misspelt key or symbol, and a check of every key on
//! its own, so one wrong value doesn't hide the next.

use crate::config::ConfigIssue;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, Visitor};
use std::cell::Cell;

type E = de::value::Error;

/// The field names of the struct at `path` inside `T` (`&[]`: `T`'s own;
/// `&["thresholds"]`: `[thresholds]`'s). Empty when `path` names no struct.
pub(crate) fn fields_of<T: DeserializeOwned>(path: &[&str]) -> &'static [&'static str] {
    let found = Cell::new(None);
    let _ = T::deserialize(Probe {
        path,
        found: &found,
    });
    found.get().unwrap_or(&[])
}

/// A deserializer that walks `path` through nested structs (`Option`s and
/// sequence indexes included) and records the fields of the last one.
struct Probe<'a> {
    path: &'a [&'a str],
    found: &'a Cell<Option<&'static [&'static str]>>,
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, E> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        let Some((first, rest)) = self.path.split_first() else {
            self.found.set(Some(fields));
            return Err(de::Error::custom("found"));
        };
        visitor.visit_map(OneEntry {
            key: Some(first),
            value: Some(Probe {
                path: rest,
                found: self.found,
            }),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.path.split_first() {
            Some((i, rest)) if i.parse::<usize>().is_ok() => {
                visitor.visit_seq(OneElement(Some(Probe {
                    path: rest,
                    found: self.found,
                })))
            }
            _ => Err(de::Error::custom("not a struct")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct OneEntry<'a> {
    key: Option<&'a str>,
    value: Option<Probe<'a>>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = E;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, E> {
        match self.key.take() {
            Some(k) => seed
                .deserialize(IntoDeserializer::<E>::into_deserializer(k))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        match self.value.take() {
            Some(p) => seed.deserialize(p),
            None => Err(de::Error::custom("no value")),
        }
    }
}

struct OneElement<'a>(Option<Probe<'a>>);

impl<'de> de::SeqAccess<'de> for OneElement<'_> {
    type Error = E;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        match self.0.take() {
            Some(p) => seed.deserialize(p).map(Some),
            None => Ok(None),
        }
    }
}

/// The candidate closest to `word` if it is close enough to be a slip
/// (case ignored; a few edits, fewer for short words).
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let max = (w.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&w, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "unknown key", with a suggestion from the keys `T` knows at `path`'s
/// parent.
pub(crate) fn unknown_key_message<T: DeserializeOwned>(path: &str) -> String {
    let segs: Vec<&str> = path.split('.').collect();
    let Some((last, parent)) = segs.split_last() else {
        return "unknown key".into();
    };
    match did_you_mean(last, fields_of::<T>(parent).iter().copied()) {
        Some(s) => format!("unknown key (did you mean `{s}`?)"),
        None => "unknown key".into(),
    }
}

/// Deserialize every key of `doc` on its own as `T` (a table's keys one by
/// one: `{table: {key: value}}`), so each wrong value and unknown key is
/// reported, not just the first. `tables`: the top-level keys to check
/// (`None`: all). Returns the issues and `doc` without the keys that
/// failed, for the checks that need the whole (a value against another).
pub fn check_each_key<T: DeserializeOwned>(
    text: &str,
    doc: &toml::Table,
    tables: Option<&[&str]>,
) -> (Vec<ConfigIssue>, toml::Table) {
    let mut issues = Vec::new();
    let mut good = toml::Table::new();
    for (top, value) in doc {
        if tables.is_some_and(|t| !t.contains(&top.as_str())) {
            continue;
        }
        let singles: Vec<(String, toml::Table)> = match value {
            toml::Value::Table(t) => t
                .iter()
                .map(|(k, v)| {
                    let mut inner = toml::Table::new();
                    inner.insert(k.clone(), v.clone());
                    let mut one = toml::Table::new();
                    one.insert(top.clone(), toml::Value::Table(inner));
                    (format!("{top}.{k}"), one)
                })
                .collect(),
            v => {
                let mut one = toml::Table::new();
                one.insert(top.clone(), v.clone());
                vec![(top.clone(), one)]
            }
        };
        let mut kept = toml::Table::new();
        for (path, one) in singles {
            let mut unknown = Vec::new();
            let r: Result<T, _> =
                serde_ignored::deserialize(toml::Value::Table(one.clone()), |p| {
                    unknown.push(p.to_string())
                });
            match r {
                Ok(_) => {
                    for u in unknown {
                        issues.push(ConfigIssue {
                            line: crate::config::find_key_line(text, &u),
                            message: unknown_key_message::<T>(&u),
                            path: u,
                        });
                    }
                    merge(&mut kept, one);
                }
                Err(e) => {
                    let msg = e.to_string();
                    // deny_unknown_fields says it this way.
                    let message = if msg.starts_with("unknown field") {
                        unknown_key_message::<T>(&path)
                    } else {
                        msg.lines().next().unwrap_or("invalid value").to_string()
                    };
                    issues.push(ConfigIssue {
                        line: crate::config::find_key_line(text, &path),
                        path,
                        message,
                    });
                }
            }
        }
        if let Some(v) = kept.remove(top) {
            good.insert(top.clone(), v);
        } else if !value.is_table() {
            // A scalar that failed: left out.
        } else {
            good.insert(top.clone(), toml::Value::Table(toml::Table::new()));
        }
    }
    (issues, good)
}

fn merge(into: &mut toml::Table, one: toml::Table) {
    for (k, v) in one {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => a.extend(b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn fields_come_from_the_types() {
        let top = fields_of::<Config>(&[]);
        assert!(
            top.contains(&"thresholds") && top.contains(&"weights"),
            "{top:?}"
        );
        let t = fields_of::<Config>(&["thresholds"]);
        assert!(t.contains(&"tag") && t.contains(&"reject"), "{t:?}");
        let f = fields_of::<Config>(&["intel", "feeds", "0"]);
        assert!(f.contains(&"url") && f.contains(&"format"), "{f:?}");
        assert!(fields_of::<Config>(&["nonesuch"]).is_empty());
    }

    #[test]
    fn suggestions_are_close_or_nothing() {
        let c = ["tag", "quarantine", "reject"];
        assert_eq!(did_you_mean("rejct", c), Some("reject"));
        assert_eq!(did_you_mean("Quarantien", c), Some("quarantine"));
        assert_eq!(did_you_mean("colour", c), None);
    }
}
