//! `#ifdef NAME`, `#ifndef NAME`, `#else` and `#endif`, as NPLab's packetdrill (the
//! FreeBSD suite's) lets a script hold what differs between systems: the suite writes the
//! standard's behaviour under `#ifdef STANDARD` and FreeBSD's under `#ifdef FreeBSD`. The
//! drill defines the profile's system name (`Profile::uname`) and nothing else, so a
//! script runs the branch for the system the profile models.
//!
//! Lines left out become empty, so every line keeps its number for error messages. Other
//! lines that start with `#` (Python comments in `%{ }%` blocks) are left as they are.

use super::parse::ParseError;

/// The script with the branches that do not apply blanked out.
pub fn resolve(text: &str, defined: &[&str]) -> Result<String, ParseError> {
    // One entry per open #if: whether its branch is taken, and where it opened.
    let mut open: Vec<(bool, bool, usize)> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        let bad = |message: &str| ParseError {
            line,
            message: message.to_string(),
        };
        let active = open.iter().all(|&(taken, _, _)| taken);
        let mut words = trimmed.split_whitespace();
        match words.next() {
            Some(directive @ ("#ifdef" | "#ifndef")) => {
                let name = words.next().ok_or_else(|| {
                    bad(&format!(
                        "{directive} without a name: expected {directive} NAME"
                    ))
                })?;
                let taken = defined.contains(&name) == (directive == "#ifdef");
                open.push((taken, false, line));
            }
            Some("#else") => {
                let Some((taken, seen_else, _)) = open.last_mut() else {
                    return Err(bad("#else without #ifdef or #ifndef"));
                };
                if *seen_else {
                    return Err(bad("a second #else: expected #endif"));
                }
                *taken = !*taken;
                *seen_else = true;
            }
            Some("#endif") if open.pop().is_none() => {
                return Err(bad("#endif without #ifdef or #ifndef"));
            }
            Some("#endif") => {}
            _ if active => out.push_str(raw),
            _ => {}
        }
        out.push('\n');
    }
    if let Some(&(_, _, line)) = open.last() {
        return Err(ParseError {
            line,
            message: "unclosed #ifdef: expected #endif".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "a\n#ifdef STANDARD\nb\n#else\nc\n#endif\n#ifdef FreeBSD\nd\n#endif\n#ifndef FreeBSD\ne\n#endif\n";

    #[test]
    fn freebsd_runs_its_own_branches_and_keeps_line_numbers() {
        let out = resolve(SCRIPT, &["FreeBSD"]).unwrap();
        assert_eq!(out, "a\n\n\n\nc\n\n\nd\n\n\n\n\n");
    }

    #[test]
    fn linux_runs_neither_freebsd_branch() {
        let out = resolve(SCRIPT, &["Linux"]).unwrap();
        assert_eq!(out, "a\n\n\n\nc\n\n\n\n\n\ne\n\n");
    }

    #[test]
    fn an_unclosed_or_stray_directive_names_its_line() {
        let unclosed = resolve("a\n#ifdef X\nb\n", &[]).unwrap_err();
        assert_eq!(
            unclosed.to_string(),
            "line 2: unclosed #ifdef: expected #endif"
        );
        let stray = resolve("#endif\n", &[]).unwrap_err();
        assert_eq!(
            stray.to_string(),
            "line 1: #endif without #ifdef or #ifndef"
        );
        // Other lines starting with # (a Python comment in a %{ }% block) pass through.
        assert_eq!(resolve("# note\n", &[]).unwrap(), "# note\n");
    }
}
