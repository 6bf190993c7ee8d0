//! A verdict as JSON: the one shape the CLI (`--format json`), the HTTP
//! API (`/v1/scan`) and the dashboard share; each adds its own fields
//! around it (the CLI `path` and `error`, the API thresholds and timing).
//!
//! ```json
//! {"action": "tag", "score": 6.0,
//!  "symbols": [{"name": "URL_IP_OBFUSCATED", "score": 6.0, "evidence": ["…"]}],
//!  "authentication_results": "…"}
//! ```
//!
//! Symbols keep the verdict's order (highest contribution first, see
//! [`crate::policy`]); `authentication_results` is there only when outwork
//! verified the sender.

use crate::policy::Verdict;
use serde_json::{Map, Value, json};

/// How much each symbol carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// `name`, `score`, `evidence`: compact, for bulk output.
    Plain,
    /// Also `description` (from the symbol table; empty for YARA rules and
    /// names the table does not know): for people reading one verdict.
    Described,
}

/// One symbol: `{name, score, evidence}` (+ `description`).
pub fn symbol_json(name: &str, score: f64, evidence: &[String], detail: Detail) -> Value {
    let mut j = json!({"name": name, "score": score, "evidence": evidence});
    if detail == Detail::Described {
        let d = crate::symbol::lookup(name).map_or("", |d| d.description);
        j["description"] = json!(d);
    }
    j
}

/// `action`, `score`, `symbols` and (when present)
/// `authentication_results`, as an object the caller extends.
pub fn verdict_json(v: &Verdict, detail: Detail) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("action".into(), json!(v.action.as_str()));
    m.insert("score".into(), json!(v.score));
    let symbols = v
        .symbols
        .iter()
        .map(|s| symbol_json(s.name, s.score, &s.evidence, detail))
        .collect();
    m.insert("symbols".into(), Value::Array(symbols));
    if let Some(ar) = &v.authentication_results {
        m.insert("authentication_results".into(), json!(ar));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Action;
    use crate::symbol::Symbol;

    fn verdict(ar: Option<&str>) -> Verdict {
        Verdict {
            action: Action::Tag,
            score: 5.5,
            symbols: vec![
                Symbol {
                    name: "URL_IP_OBFUSCATED",
                    score: 6.0,
                    evidence: vec!["host 3232235777 is IP 192.168.1.1".into()],
                },
                Symbol {
                    name: "SPF_PASS",
                    score: -0.5,
                    evidence: vec![],
                },
            ],
            authentication_results: ar.map(String::from),
        }
    }

    #[test]
    fn plain_shape_keeps_the_verdict_order_and_omits_absent_auth_results() {
        let j = Value::Object(verdict_json(&verdict(None), Detail::Plain));
        assert_eq!(
            j,
            json!({"action": "tag", "score": 5.5, "symbols": [
                {"name": "URL_IP_OBFUSCATED", "score": 6.0, "evidence": ["host 3232235777 is IP 192.168.1.1"]},
                {"name": "SPF_PASS", "score": -0.5, "evidence": []},
            ]})
        );
    }

    #[test]
    fn described_symbols_carry_the_table_description() {
        let j = verdict_json(&verdict(Some("mx.example; spf=pass")), Detail::Described);
        assert_eq!(j["authentication_results"], "mx.example; spf=pass");
        let d = j["symbols"][0]["description"].as_str().unwrap_or("");
        let want = crate::symbol::lookup("URL_IP_OBFUSCATED").map(|d| d.description);
        assert_eq!(Some(d), want);
        assert!(!d.is_empty());
        let unknown = symbol_json("YARA_SOMETHING", 1.0, &[], Detail::Described);
        assert_eq!(unknown["description"], "");
    }
}
