//! The packetdrill subset `synack drill` reads. Every line that is not understood is an
//! error naming the line; nothing is silently skipped.

use std::fmt;

/// A parse error: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, and the accepted form.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One side of a time spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// Seconds from the script's start.
    Absolute(f64),
    /// Seconds after the previous event.
    Relative(f64),
}

/// When a line happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// At a time.
    At(At),
    /// Any time (`*`), for outbound segments.
    Any,
    /// Within a window (`a~b`), for outbound segments.
    Range(At, At),
    /// A blocking call from `start` to `end` (`start...end`).
    Blocking(At, At),
}

/// A segment line's fields; sequence numbers are relative to the sender's ISN, ACK numbers
/// to the receiver's.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    /// `true` for `<` (the script sends), `false` for `>` (the stack must send).
    pub inbound: bool,
    /// Flags as packetdrill writes them, normalized: S, F, R, P in that order, then `.`.
    pub flags: String,
    /// Relative sequence number of the first byte.
    pub start: u32,
    /// Payload length.
    pub len: u32,
    /// Relative ACK number.
    pub ack: Option<u32>,
    /// Window.
    pub win: Option<u32>,
    /// Options; `None` is `<...>` or none given (anything goes).
    pub mss: Option<u16>,
    /// TS val and ecr, when given.
    pub timestamps: Option<(u32, u32)>,
}

/// A system call and the result the script expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The call's name.
    pub name: String,
    /// Its arguments, as written (top-level commas split them).
    pub args: Vec<String>,
    /// The expected return value.
    pub ret: i64,
    /// The expected errno name, with -1.
    pub errno: Option<String>,
}

/// What a line does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A segment in or out.
    Segment(SegmentSpec),
    /// A system call.
    Call(Call),
}

/// One timed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1-based line number.
    pub line: usize,
    /// When.
    pub when: When,
    /// What.
    pub action: Action,
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// `--tolerance_usecs` (packetdrill's default 4000).
    pub tolerance_usecs: u64,
    /// `sysctl` settings, in order: (line, name without `net.ipv4.`/`net.core.`, value).
    pub sysctls: Vec<(usize, String, String)>,
    /// The timed lines.
    pub events: Vec<Event>,
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

fn parse_at(text: &str, line: usize) -> Result<At, ParseError> {
    let bad = || {
        err(
            line,
            format!("bad time {text:?}: expected seconds like 0.100 or +0.1"),
        )
    };
    if let Some(rel) = text.strip_prefix('+') {
        let rel = if rel.starts_with('.') {
            format!("0{rel}")
        } else {
            rel.to_string()
        };
        rel.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(At::Relative)
            .ok_or_else(bad)
    } else {
        let abs = if text.starts_with('.') {
            format!("0{text}")
        } else {
            text.to_string()
        };
        abs.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(At::Absolute)
            .ok_or_else(bad)
    }
}

fn parse_when(text: &str, line: usize) -> Result<When, ParseError> {
    if text == "*" {
        return Ok(When::Any);
    }
    if let Some((a, b)) = text.split_once("...") {
        return Ok(When::Blocking(parse_at(a, line)?, parse_at(b, line)?));
    }
    if let Some((a, b)) = text.split_once('~') {
        return Ok(When::Range(parse_at(a, line)?, parse_at(b, line)?));
    }
    Ok(When::At(parse_at(text, line)?))
}

fn parse_flags(text: &str, line: usize) -> Result<String, ParseError> {
    if text == "-" {
        return Ok(String::new());
    }
    let mut out = String::new();
    for c in ['S', 'F', 'R', 'P'] {
        if text.contains(c) {
            out.push(c);
        }
    }
    if text.contains('.') {
        out.push('.');
    }
    if text.chars().any(|c| !"SFRP.".contains(c)) || out.len() != text.len() {
        return Err(err(
            line,
            format!("unsupported flags {text:?}: expected a combination of S F R P . or -"),
        ));
    }
    Ok(out)
}

fn parse_options(text: &str, spec: &mut SegmentSpec, line: usize) -> Result<(), ParseError> {
    if text.trim() == "..." {
        return Ok(());
    }
    for opt in text.split(',').map(str::trim) {
        let words: Vec<&str> = opt.split_whitespace().collect();
        match words.as_slice() {
            ["mss", n] => {
                spec.mss = Some(n.parse().map_err(|_| err(line, format!("bad mss {n:?}")))?)
            }
            ["TS", "val", v, "ecr", e] => {
                let num = |s: &str| {
                    s.parse::<u32>()
                        .map_err(|_| err(line, format!("bad TS value {s:?}")))
                };
                spec.timestamps = Some((num(v)?, num(e)?));
            }
            // Not modeled (no SACK, no window scaling): accepted and not checked.
            ["nop"] | ["sackOK"] | ["wscale", _] | ["eol"] => {}
            _ => {
                return Err(err(
                    line,
                    format!(
                        "unsupported option {opt:?}: expected mss N, sackOK, TS val X ecr Y, nop, wscale N or ..."
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn parse_segment(text: &str, inbound: bool, line: usize) -> Result<SegmentSpec, ParseError> {
    let (main, options) = match text.find('<') {
        Some(i) => {
            let close = text
                .rfind('>')
                .filter(|&j| j > i)
                .ok_or_else(|| err(line, "unclosed option list: expected <...>"))?;
            (&text[..i], Some(&text[i + 1..close]))
        }
        None => (text, None),
    };
    let words: Vec<&str> = main.split_whitespace().collect();
    let form = "expected FLAGS START:END(LEN) [ack N] [win N] [<options>]";
    let (flags, range, rest) = match words.as_slice() {
        [flags, range, rest @ ..] => (*flags, *range, rest),
        _ => return Err(err(line, format!("bad segment: {form}"))),
    };
    let flags = parse_flags(flags, line)?;
    let bad_range = || {
        err(
            line,
            format!("bad sequence range {range:?}: expected START:END(LEN)"),
        )
    };
    let (start, tail) = range.split_once(':').ok_or_else(bad_range)?;
    let (end, len) = tail
        .trim_end_matches(')')
        .split_once('(')
        .ok_or_else(bad_range)?;
    let (start, end, len): (u32, u32, u32) = (
        start.parse().map_err(|_| bad_range())?,
        end.parse().map_err(|_| bad_range())?,
        len.parse().map_err(|_| bad_range())?,
    );
    if end.wrapping_sub(start) != len {
        return Err(err(
            line,
            format!("sequence range {range}: END - START must equal LEN"),
        ));
    }
    let mut spec = SegmentSpec {
        inbound,
        flags,
        start,
        len,
        ack: None,
        win: None,
        mss: None,
        timestamps: None,
    };
    let mut it = rest.iter();
    while let Some(word) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u32>().ok());
        match (*word, value) {
            ("ack", Some(v)) => spec.ack = Some(v),
            ("win", Some(v)) => spec.win = Some(v),
            _ => {
                return Err(err(
                    line,
                    format!("unsupported segment field {word:?}: {form}"),
                ));
            }
        }
    }
    if let Some(options) = options {
        parse_options(options, &mut spec, line)?;
    }
    Ok(spec)
}

/// Splits arguments at top-level commas.
fn split_args(text: &str) -> Vec<String> {
    let (mut args, mut depth, mut current) = (Vec::new(), 0i32, String::new());
    for c in text.chars() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        args.push(current.trim().to_string());
    }
    args
}

fn parse_call(text: &str, line: usize) -> Result<Call, ParseError> {
    let form = "expected NAME(ARGS) = RESULT [ERRNO (text)]";
    let (call, result) = text
        .rsplit_once(" = ")
        .ok_or_else(|| err(line, format!("bad call: {form}")))?;
    let open = call
        .find('(')
        .ok_or_else(|| err(line, format!("bad call: {form}")))?;
    let name = call[..open].trim().to_string();
    let args = split_args(
        call[open + 1..]
            .trim_end()
            .strip_suffix(')')
            .ok_or_else(|| err(line, format!("bad call: {form}")))?,
    );
    let mut words = result.split_whitespace();
    let ret = words
        .next()
        .and_then(|r| r.parse::<i64>().ok())
        .ok_or_else(|| err(line, format!("bad result {result:?}: {form}")))?;
    let errno = words.next().map(str::to_string);
    if ret == -1 && errno.is_none() {
        return Err(err(
            line,
            "a result of -1 needs its errno, e.g. -1 ECONNREFUSED",
        ));
    }
    Ok(Call {
        name,
        args,
        ret,
        errno,
    })
}

fn parse_sysctl(text: &str, line: usize) -> Result<(String, String), ParseError> {
    let unsupported = || {
        err(
            line,
            format!("unsupported command `{text}`: only `sysctl -q net.ipv4.NAME=VALUE` is"),
        )
    };
    let rest = text.strip_prefix("sysctl").ok_or_else(unsupported)?.trim();
    let rest = rest
        .strip_prefix("-q")
        .or_else(|| rest.strip_prefix("-w"))
        .unwrap_or(rest)
        .trim();
    let (name, value) = rest.split_once('=').ok_or_else(unsupported)?;
    let name = name.trim();
    let short = name
        .strip_prefix("net.ipv4.")
        .or_else(|| name.strip_prefix("net.core."))
        .ok_or_else(|| {
            err(
                line,
                format!("unsupported sysctl {name}: expected net.ipv4.* or net.core.*"),
            )
        })?;
    Ok((
        short.to_string(),
        value.trim().trim_matches('"').to_string(),
    ))
}

/// Parses a script.
pub fn parse(text: &str) -> Result<Script, ParseError> {
    let mut script = Script {
        tolerance_usecs: 4000,
        ..Script::default()
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.split("//").next().unwrap_or("").trim();
        if body.is_empty() {
            continue;
        }
        if let Some(option) = body.strip_prefix("--") {
            match option.split_once('=') {
                Some(("tolerance_usecs", v)) => {
                    script.tolerance_usecs = v
                        .trim()
                        .parse()
                        .map_err(|_| err(line, "bad --tolerance_usecs: expected microseconds"))?;
                }
                _ => {
                    return Err(err(
                        line,
                        format!("unsupported option --{option}: only --tolerance_usecs=N is"),
                    ));
                }
            }
            continue;
        }
        if let Some(command) = body.strip_prefix('`') {
            let command = command
                .strip_suffix('`')
                .ok_or_else(|| err(line, "unclosed backtick"))?;
            let (name, value) = parse_sysctl(command.trim(), line)?;
            script.sysctls.push((line, name, value));
            continue;
        }
        let (time, rest) = body
            .split_once(char::is_whitespace)
            .ok_or_else(|| err(line, "expected TIME then a segment or a call"))?;
        let when = parse_when(time, line)?;
        let rest = rest.trim();
        let action = if let Some(seg) = rest.strip_prefix('<') {
            Action::Segment(parse_segment(seg, true, line)?)
        } else if let Some(seg) = rest.strip_prefix('>') {
            Action::Segment(parse_segment(seg, false, line)?)
        } else {
            Action::Call(parse_call(rest, line)?)
        };
        script.events.push(Event { line, when, action });
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_packetdrill_lines() {
        let s = parse(
            "--tolerance_usecs=1000\n`sysctl -q net.ipv4.tcp_syn_retries=3`\n\
             0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             +.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n\
             * > S. 0:0(0) ack 1 <...> // comment\n\
             0.1...0.3 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)\n\
             +0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n",
        )
        .unwrap();
        assert_eq!(s.tolerance_usecs, 1000);
        assert_eq!(
            s.sysctls,
            [(2, "tcp_syn_retries".to_string(), "3".to_string())]
        );
        assert_eq!(s.events.len(), 5);
        assert_eq!(s.events[1].when, When::At(At::Relative(0.1)));
        let Action::Segment(seg) = &s.events[1].action else {
            panic!()
        };
        assert_eq!(
            (seg.inbound, seg.flags.as_str(), seg.win, seg.mss),
            (true, "S", Some(32792), Some(1000))
        );
        assert_eq!(s.events[2].when, When::Any);
        let Action::Call(call) = &s.events[3].action else {
            panic!()
        };
        assert_eq!(
            (call.ret, call.errno.as_deref()),
            (-1, Some("ECONNREFUSED"))
        );
        let Action::Call(call) = &s.events[4].action else {
            panic!()
        };
        assert_eq!(call.args[3], "{onoff=1, linger=0}");
    }

    #[test]
    fn unsupported_syntax_names_the_line() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            e("0 > SEW 0:0(0)"),
            "line 1: unsupported flags \"SEW\": expected a combination of S F R P . or -"
        );
        assert!(e("\n`echo hi`").starts_with("line 2: unsupported command `echo hi`"));
        assert!(e("--ip_version=ipv6").starts_with("line 1: unsupported option --ip_version=ipv6"));
        assert!(e("0 > S. 0:5(4) ack 1").contains("END - START must equal LEN"));
        assert!(e("0 > . 1:1(0) urg 3").contains("unsupported segment field \"urg\""));
        assert!(e("0 < S 0:0(0) <md5 abc>").contains("unsupported option \"md5 abc\""));
    }
}
