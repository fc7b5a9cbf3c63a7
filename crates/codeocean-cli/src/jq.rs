//! `--jq EXPR`: every JSON document the command prints, filtered in-process by a jq
//! expression (the jaq implementation), like `gh --jq`.
//!
//! The expression is compiled once in `main` before anything is sent (a mistake is a usage
//! error, exit 2). [`output::json`](crate::output::json) and
//! [`output::json_line`](crate::output::json_line) hand each document (each line of JSON
//! Lines) to [`apply`]: every result is printed on a line of its own, compact, and a string
//! result raw, without quotes (`--jq .id` prints the bare id).

use std::sync::OnceLock;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

/// The expression of `--jq`, set once by [`set`].
static EXPR: OnceLock<String> = OnceLock::new();

type Filter = jaq_core::Filter<data::JustLut<Val>>;

thread_local! {
    /// The compiled filter, per thread (jaq's values are not `Sync`).
    static FILTER: OnceLock<Filter> = const { OnceLock::new() };
}

/// Compiles `expr`: the filter, or a one-line description of what is wrong with it.
fn compile(expr: &str) -> Result<Filter, String> {
    let program = File {
        code: expr,
        path: (),
    };
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    // Where a piece of the expression starts in it (the errors hold slices of it).
    let at = |s: &str| (s.as_ptr() as usize).wrapping_sub(expr.as_ptr() as usize) + 1;
    let modules = loader.load(&arena, program).map_err(|errors| {
        let mut why = Vec::new();
        for (_, e) in errors {
            match e {
                jaq_core::load::Error::Io(e) => {
                    why.extend(e.into_iter().map(|(_, m)| m));
                }
                jaq_core::load::Error::Lex(e) => why.extend(
                    e.into_iter()
                        .map(|(x, s)| format!("expected {} at character {}", x.as_str(), at(s))),
                ),
                jaq_core::load::Error::Parse(e) => why.extend(e.into_iter().map(|(x, s)| {
                    if s.is_empty() {
                        format!("expected {} at the end", x.as_str())
                    } else {
                        format!("expected {} at character {} (`{s}`)", x.as_str(), at(s))
                    }
                })),
            }
        }
        why.join("; ")
    })?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            errors
                .into_iter()
                .flat_map(|(_, e)| e)
                .map(|(name, kind)| format!("undefined {} `{name}`", kind.as_str()))
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// Checks and keeps the expression of `--jq`: a usage error naming the mistake otherwise.
pub(crate) fn set(expr: &str) -> anyhow::Result<()> {
    compile(expr)
        .map_err(|why| crate::usage_error(format!("--jq `{expr}`: not a jq expression: {why}")))?;
    let _ = EXPR.set(expr.to_owned());
    Ok(())
}

/// Whether `--jq` was given.
pub(crate) fn active() -> bool {
    EXPR.get().is_some()
}

/// The output of the `--jq` filter on `value`: each result on its own line (strings raw,
/// everything else as compact JSON); `None` without `--jq`. An error of the filter at run
/// time (a number added to a string) ends the command with it.
pub(crate) fn apply(value: &serde_json::Value) -> Option<anyhow::Result<Vec<u8>>> {
    let expr = EXPR.get()?;
    Some(FILTER.with(|cell| {
        let filter = match cell.get() {
            Some(f) => f,
            None => {
                let f = compile(expr).map_err(|why| anyhow::anyhow!("--jq: {why}"))?;
                cell.get_or_init(|| f)
            }
        };
        run(filter, value)
    }))
}

/// Runs `filter` on `value`.
fn run(filter: &Filter, value: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let input = jaq_json::read::parse_single(&serde_json::to_vec(value)?)
        .map_err(|e| anyhow::anyhow!("--jq: cannot read the JSON to filter: {e}"))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for result in filter.id.run((ctx, input)).map(unwrap_valr) {
        let v = result.map_err(|e| anyhow::anyhow!("--jq: {e}"))?;
        match &v {
            Val::TStr(s) => out.extend_from_slice(s),
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(expr: &str, input: serde_json::Value) -> String {
        String::from_utf8(run(&compile(expr).unwrap(), &input).unwrap()).unwrap()
    }

    #[test]
    fn results_print_one_a_line_strings_raw() {
        let v = serde_json::json!({"id": "c1", "tags": ["a", "b"], "size": 3, "n": null});
        assert_eq!(filtered(".id", v.clone()), "c1\n");
        assert_eq!(filtered(".tags[]", v.clone()), "a\nb\n");
        assert_eq!(filtered(".tags", v.clone()), "[\"a\",\"b\"]\n");
        assert_eq!(filtered(".size + 1", v.clone()), "4\n");
        assert_eq!(filtered(".n", v.clone()), "null\n");
        assert_eq!(filtered("{id} | tojson", v.clone()), "{\"id\":\"c1\"}\n");
        assert_eq!(filtered("empty", v.clone()), "");
        assert_eq!(
            filtered(".tags | map(ascii_upcase) | join(\",\")", v),
            "A,B\n"
        );
    }

    #[test]
    fn mistakes_are_told() {
        let e = compile(".id |").err().unwrap();
        assert!(e.contains("expected"), "{e}");
        let e = compile("nosuchfilter").err().unwrap();
        assert_eq!(e, "undefined filter `nosuchfilter`");
        let e = run(&compile(".a + 1").unwrap(), &serde_json::json!({"a": "x"}))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--jq: "), "{e}");
    }
}
