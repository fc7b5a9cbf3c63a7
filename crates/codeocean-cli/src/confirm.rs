//! Confirmation of destructive commands (`delete`, `data-asset transfer`, `permissions set`).
//!
//! With `--yes` the command goes ahead. Otherwise, when stdin and stderr are both terminals, it
//! asks on stderr and reads the answer from stdin (only `y` or `yes` goes ahead); without a
//! terminal to ask on, it refuses with a usage error (exit 2) that says to pass `--yes`, so a
//! script never deletes by accident and never hangs on a question nobody sees.

use std::io::{BufRead, IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Exit, usage_error};

/// Goes ahead when `yes`, or when the user confirms `action` (e.g. "delete capsule ID") on a
/// terminal; else an error and nothing was changed.
pub(crate) async fn confirm(yes: bool, action: &str, detail: Option<&str>) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(usage_error(format!(
            "{action}: pass --yes to confirm (there is no terminal to ask on)"
        )));
    }
    let prompt = prompt(action, detail);
    // The read blocks, so it runs off the runtime: Ctrl-C still interrupts (exit 130).
    ASKING.store(true, Ordering::SeqCst);
    let answer = tokio::task::spawn_blocking(move || {
        ask(
            &prompt,
            &mut std::io::stdin().lock(),
            &mut std::io::stderr(),
        )
    })
    .await;
    ASKING.store(false, Ordering::SeqCst);
    let answer = answer??;
    if answer {
        Ok(())
    } else {
        Err(Exit {
            code: 1,
            message: format!("{action}: not confirmed; nothing was changed"),
        }
        .into())
    }
}

/// Whether a question waits for its answer on the terminal (the cursor is after `[y/N] `).
static ASKING: AtomicBool = AtomicBool::new(false);

/// Ends the question's line when the command ends while it waits (Ctrl-C), so that what is
/// said next starts a line of its own.
pub(crate) fn end_question_line() {
    if ASKING.swap(false, Ordering::SeqCst) {
        eprintln!();
    }
}

/// The question: the action, what it means, and the default (no).
fn prompt(action: &str, detail: Option<&str>) -> String {
    match detail {
        Some(d) => format!("{d}\n{action}? [y/N] "),
        None => format!("{action}? [y/N] "),
    }
}

/// Writes the question and reads one answer: `y` or `yes` (any case) is a yes; anything else,
/// including an empty line or end of input, is a no.
fn ask(prompt: &str, input: &mut dyn BufRead, output: &mut dyn Write) -> std::io::Result<bool> {
    output.write_all(prompt.as_bytes())?;
    output.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        // End of input: answer on a line of its own.
        writeln!(output)?;
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(input: &str) -> (bool, String) {
        let mut out = Vec::new();
        let yes = ask(
            &prompt("delete capsule c1", None),
            &mut input.as_bytes(),
            &mut out,
        )
        .unwrap();
        (yes, String::from_utf8(out).unwrap())
    }

    #[test]
    fn only_yes_goes_ahead() {
        for yes in ["y\n", "Y\n", "yes\n", " YES \r\n"] {
            assert_eq!(answer(yes), (true, "delete capsule c1? [y/N] ".into()));
        }
        for no in ["\n", "n\n", "no\n", "yess\n", "delete\n"] {
            assert!(!answer(no).0, "{no:?}");
        }
        assert_eq!(answer(""), (false, "delete capsule c1? [y/N] \n".into()));
        assert_eq!(
            prompt(
                "set the permissions of capsule c1",
                Some("They replace the grants.")
            ),
            "They replace the grants.\nset the permissions of capsule c1? [y/N] "
        );
    }

    #[tokio::test]
    async fn yes_needs_no_terminal_and_no_terminal_needs_yes() {
        confirm(true, "delete capsule c1", None).await.unwrap();
        // Under `cargo test` stdin is not a terminal (or stderr is captured).
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            let e = confirm(false, "delete capsule c1", None).await.unwrap_err();
            assert_eq!(
                e.to_string(),
                "delete capsule c1: pass --yes to confirm (there is no terminal to ask on)"
            );
            assert_eq!(e.downcast_ref::<Exit>().unwrap().code, 2);
        }
    }
}
