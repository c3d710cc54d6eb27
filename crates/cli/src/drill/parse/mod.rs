//! packetdrill's script language (google/packetdrill's README and `parser.y`), as far as
//! connection management needs it: `--` options, the init command, timed and cleanup
//! commands in backticks, TCP segments, system calls and `%{ }%` code blocks. Every line
//! that is not understood is an error naming the line; nothing is silently skipped.
//!
//! A hand-written line parser, not a parser library: a script is a list of lines, each of
//! one of five shapes, and the error must name the line in the script's own terms.

mod segment;

use super::syscall::Syscall;
use segment::parse_segment;
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

/// A TCP option as a script writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    Nop,
    Eol,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks (not modelled).
    Sack(String),
    Timestamps {
        val: u32,
        ecr: u32,
    },
    /// Fast Open, MD5 and other options the model has no meaning for, as written.
    Other(String),
}

impl fmt::Display for TcpOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOption::Nop => write!(f, "nop"),
            TcpOption::Eol => write!(f, "eol"),
            TcpOption::Mss(m) => write!(f, "mss {m}"),
            TcpOption::WindowScale(s) => write!(f, "wscale {s}"),
            TcpOption::SackPermitted => write!(f, "sackOK"),
            TcpOption::Sack(b) => write!(f, "sack {b}"),
            TcpOption::Timestamps { val, ecr } => write!(f, "TS val {val} ecr {ecr}"),
            TcpOption::Other(o) => write!(f, "{o}"),
        }
    }
}

/// A segment line's fields; sequence numbers are relative to the sender's ISN, ACK numbers
/// to the receiver's.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    /// `true` for `<` (the script sends), `false` for `>` (the stack must send).
    pub inbound: bool,
    /// Flags as packetdrill writes them, normalized: S, F, R, P in that order, then `.`.
    pub flags: String,
    /// ECN flags (`E`, `W`) and ECN codepoints (`[ect0]`) as written: not modelled.
    pub ecn_flags: String,
    /// The URG flag (`U`) or an urgent pointer (`urg N`): urgent data, not modelled.
    pub urgent: bool,
    /// Relative sequence number of the first byte; `None` is `...(LEN)`, any number (NPLab's
    /// packetdrill, for a stack's SYN-ACK with a new ISN), only for a segment the stack sends.
    pub start: Option<u32>,
    /// Payload length.
    pub len: u32,
    /// Relative ACK number.
    pub ack: Option<u32>,
    /// Window as on the wire (scaled, once window scaling is agreed).
    pub win: Option<u32>,
    /// Options; `None` is `<...>` (anything goes); an empty list is no options at all.
    pub options: Option<Vec<TcpOption>>,
}

/// A system call and the result the script expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The call's name.
    pub name: String,
    /// The call, if `synack drill` supports it (parsed once, from `name`).
    pub syscall: Option<Syscall>,
    /// Its arguments, as written (top-level commas split them).
    pub args: Vec<String>,
    /// The expected return value.
    pub ret: i64,
    /// The expected errno name, with -1; packetdrill checks no errno where none is written.
    pub errno: Option<String>,
}

/// What a line does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A segment in or out.
    Segment(SegmentSpec),
    /// A system call.
    Call(Call),
    /// A shell command in backticks.
    Command(String),
    /// A `%{ }%` code block.
    Code(String),
    /// An ICMP message (`< icmp unreachable ...`), as written: not modelled.
    Icmp(String),
}

/// One timed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1-based line number (of the first line, for a code block).
    pub line: usize,
    /// When.
    pub when: When,
    /// What.
    pub action: Action,
}

/// A `--name[=value]` option line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOption {
    pub line: usize,
    pub name: String,
    pub value: Option<String>,
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// `--` options, in order.
    pub options: Vec<ScriptOption>,
    /// The init command before the first event: (line, command).
    pub init: Option<(usize, String)>,
    /// The timed lines.
    pub events: Vec<Event>,
    /// The cleanup command after the last event: (line, command).
    pub cleanup: Option<(usize, String)>,
}

pub(super) fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

fn parse_seconds(text: &str) -> Option<f64> {
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_string()
    };
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

fn parse_at(text: &str, line: usize) -> Result<At, ParseError> {
    let bad = || {
        err(
            line,
            format!("bad time {text:?}: expected seconds like 0.100 or +0.1"),
        )
    };
    match text.strip_prefix('+') {
        Some(rel) => parse_seconds(rel).map(At::Relative).ok_or_else(bad),
        None => parse_seconds(text).map(At::Absolute).ok_or_else(bad),
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

/// A number as packetdrill and the shell write it: decimal, or hex (`0x02`, `0X70403`).
pub(super) fn parse_int(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_call(text: &str, line: usize) -> Result<Call, ParseError> {
    let form = "expected NAME(ARGS) = RESULT [ERRNO] [(note)]";
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
    // The note in parentheses, e.g. `(flags O_RDWR)` or `(Connection refused)`, is text.
    let result = result.split_once('(').map_or(result, |(head, _)| head);
    let mut words = result.split_whitespace();
    let ret = words
        .next()
        .and_then(parse_int)
        .ok_or_else(|| err(line, format!("bad result {result:?}: {form}")))?;
    let errno = words.next().map(str::to_string);
    Ok(Call {
        syscall: Syscall::parse(&name),
        name,
        args,
        ret,
        errno,
    })
}

/// The text between backticks, which must close on the same line.
fn backticked(text: &str, line: usize) -> Result<String, ParseError> {
    text.strip_prefix('`')
        .and_then(|t| t.strip_suffix('`'))
        .map(|t| t.trim().to_string())
        .ok_or_else(|| err(line, "unclosed backtick: expected `command`"))
}

/// Removes `//` comments, leaving `//` inside backticks alone.
fn strip_comment(raw: &str) -> &str {
    let mut in_backticks = false;
    let bytes = raw.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'`' => in_backticks = !in_backticks,
            b'/' if !in_backticks && bytes.get(i + 1) == Some(&b'/') => return &raw[..i],
            _ => {}
        }
    }
    raw
}

fn parse_option_line(option: &str, line: usize) -> ScriptOption {
    let (name, value) = match option.split_once('=') {
        Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
        None => (option.trim(), None),
    };
    ScriptOption {
        line,
        name: name.to_string(),
        value,
    }
}

fn parse_action(rest: &str, line: usize) -> Result<Action, ParseError> {
    Ok(
        if let Some(icmp) = rest
            .strip_prefix('<')
            .filter(|r| r.trim_start().starts_with("icmp"))
        {
            Action::Icmp(icmp.trim().to_string())
        } else if let Some(seg) = rest.strip_prefix('<') {
            Action::Segment(parse_segment(seg, true, line)?)
        } else if let Some(seg) = rest.strip_prefix('>') {
            Action::Segment(parse_segment(seg, false, line)?)
        } else if rest.starts_with('`') {
            Action::Command(backticked(rest, line)?)
        } else {
            Action::Call(parse_call(rest, line)?)
        },
    )
}

/// How far brackets are open: `(`, `[` and `{` against their closers.
fn open_brackets(text: &str) -> i32 {
    text.chars().fold(0, |depth, c| match c {
        '(' | '[' | '{' => depth + 1,
        ')' | ']' | '}' => depth - 1,
        _ => depth,
    })
}

/// The script's lines as packetdrill's grammar reads them, each with the number of its first
/// line and its comments removed: a command in backticks runs on to its closing backtick,
/// and a system call to its closing bracket (packetdrill's parser reads tokens, not lines).
/// Code blocks are joined by `parse` itself, since their text is Python.
fn logical_lines(text: &str) -> Result<Vec<(usize, String)>, ParseError> {
    let raw: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let line = i + 1;
        if raw[i].contains("%{") {
            // A code block, verbatim up to its `}%`.
            out.push((line, raw[i].to_string()));
            let mut closed = raw[i].contains("}%");
            i += 1;
            while !closed && i < raw.len() {
                out.push((i + 1, raw[i].to_string()));
                closed = raw[i].contains("}%");
                i += 1;
            }
            continue;
        }
        let mut body = strip_comment(raw[i]).trim_end().to_string();
        i += 1;
        let is_segment_or_code = |b: &str| {
            b.split_once(char::is_whitespace)
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['<', '>', '%']))
        };
        loop {
            let unclosed_backtick = body.matches('`').count() % 2 == 1;
            let unclosed_call = !unclosed_backtick
                && !body.contains('`')
                && !is_segment_or_code(&body)
                && open_brackets(&body) > 0;
            if !(unclosed_backtick || unclosed_call) {
                break;
            }
            let Some(next) = raw.get(i) else {
                return Err(err(
                    line,
                    if unclosed_backtick {
                        "unclosed backtick: expected `command`"
                    } else {
                        "unclosed bracket: expected the call to close with ) = RESULT"
                    },
                ));
            };
            i += 1;
            if unclosed_backtick {
                body.push('\n');
                body.push_str(next.trim_end());
            } else {
                body.push(' ');
                body.push_str(strip_comment(next).trim());
            }
        }
        out.push((line, body));
    }
    Ok(out)
}

/// Parses a script.
pub fn parse(text: &str) -> Result<Script, ParseError> {
    let mut script = Script::default();
    let logical = logical_lines(text)?;
    let lines: Vec<&str> = logical.iter().map(|(_, l)| l.as_str()).collect();
    let mut i = 0;
    while i < lines.len() {
        let line = logical[i].0;
        let body = strip_comment(lines[i]).trim();
        i += 1;
        if body.is_empty() {
            continue;
        }
        if let Some(option) = body.strip_prefix("--") {
            if script.init.is_some() || !script.events.is_empty() {
                return Err(err(line, "a -- option after the first event or command"));
            }
            script.options.push(parse_option_line(option, line));
            continue;
        }
        if body.starts_with('`') {
            let command = backticked(body, line)?;
            if script.cleanup.is_some() {
                return Err(err(line, "a command after the cleanup command"));
            }
            if !script.events.is_empty() {
                script.cleanup = Some((line, command));
            } else if script.init.is_some() {
                return Err(err(
                    line,
                    "a second init command: packetdrill takes one (join them with ;)",
                ));
            } else {
                script.init = Some((line, command));
            }
            continue;
        }
        if let Some((line, _)) = script.cleanup {
            return Err(err(
                line,
                "a command without a time between events: expected +0 `command`",
            ));
        }
        let (time, rest) = body
            .split_once(char::is_whitespace)
            .ok_or_else(|| err(line, "expected TIME then a segment, a call or a command"))?;
        // A blocking call's span may be written with spaces: `+.002 ... 0.004`, `+0 ...0.010`.
        let (time, rest) = match rest.trim_start().strip_prefix("...") {
            Some(after) => {
                let after = after.trim_start();
                let (end, rest) = after
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| err(line, "expected START...END then a call"))?;
                (format!("{time}...{end}"), rest)
            }
            None => (time.to_string(), rest),
        };
        let when = parse_when(&time, line)?;
        let rest = rest.trim();
        let action = if let Some(code) = rest.strip_prefix("%{") {
            // A code block may span lines, up to `}%`.
            let mut block = code.to_string();
            while !block.contains("}%") {
                let next = lines
                    .get(i)
                    .ok_or_else(|| err(line, "unclosed code block: expected }%"))?;
                block.push('\n');
                block.push_str(next);
                i += 1;
            }
            let (code, after) = block.split_once("}%").expect("checked");
            if !after.trim().is_empty() {
                return Err(err(line, "text after }%"));
            }
            Action::Code(code.trim().to_string())
        } else {
            parse_action(rest, line)?
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
            "--tolerance_usecs=1000\n`sysctl -q net.ipv4.tcp_syn_retries=3; sysctl -q net.ipv4.tcp_sack=0`\n\
             0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             +.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n\
             * > S. 0:0(0) ack 1 <...> // comment\n\
             0.1...0.3 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)\n\
             +0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n\
             +0 `sysctl -q net.ipv4.tcp_fin_timeout=5`\n\
             +0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)\n\
             +0 %{ assert tcpi_state == TCP_CLOSE,\n  tcpi_state }%\n\
             `echo done`\n",
        )
        .unwrap();
        assert_eq!(
            s.options,
            [ScriptOption {
                line: 1,
                name: "tolerance_usecs".into(),
                value: Some("1000".into())
            }]
        );
        assert_eq!(
            s.init,
            Some((
                2,
                "sysctl -q net.ipv4.tcp_syn_retries=3; sysctl -q net.ipv4.tcp_sack=0".into()
            ))
        );
        assert_eq!(s.events.len(), 8);
        assert_eq!(s.events[1].when, When::At(At::Relative(0.1)));
        let Action::Segment(seg) = &s.events[1].action else {
            panic!()
        };
        assert_eq!(
            (seg.inbound, seg.flags.as_str(), seg.win),
            (true, "S", Some(32792))
        );
        assert_eq!(seg.options.as_ref().unwrap()[0], TcpOption::Mss(1000));
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
        assert_eq!(
            s.events[5].action,
            Action::Command("sysctl -q net.ipv4.tcp_fin_timeout=5".into())
        );
        let Action::Call(call) = &s.events[6].action else {
            panic!()
        };
        assert_eq!((call.ret, call.errno.as_deref()), (2, None));
        assert_eq!(
            s.events[7].action,
            Action::Code("assert tcpi_state == TCP_CLOSE,\n  tcpi_state".into())
        );
        assert_eq!(s.cleanup, Some((12, "echo done".into())));
    }

    #[test]
    fn multi_line_commands_and_calls_join_as_packetdrill_reads_them() {
        let s = parse(
            "`../common/defaults.sh\n sysctl -q net.ipv4.tcp_ecn=1  # on\n`\n\
             0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n\
             +0 sendmsg(4, {msg_name(...)=...,\n  msg_iov(2)=[{..., 40}, // two\n {..., 20}],\n  msg_flags=0}, 0) = 60\n\
             +.002 ... 0.004 connect(4, ..., ...) = 0\n\
             +0 read(4, ..., 512) = -1\n\
             +0 > [ect0] P. 1:1001(1000) ack 1\n\
             +0 < U. 1:101(100) ack 1 win 257 urg 100\n\
             +0 < icmp unreachable [5000:6000(1000)]\n",
        )
        .unwrap();
        assert_eq!(
            s.init,
            Some((
                1,
                "../common/defaults.sh\n sysctl -q net.ipv4.tcp_ecn=1  # on".into()
            ))
        );
        let Action::Call(call) = &s.events[1].action else {
            panic!()
        };
        assert_eq!((s.events[1].line, call.args.len(), call.ret), (5, 3, 60));
        assert!(call.args[1].contains("{..., 20}"));
        assert_eq!(
            s.events[2].when,
            When::Blocking(At::Relative(0.002), At::Absolute(0.004))
        );
        let Action::Call(call) = &s.events[3].action else {
            panic!()
        };
        assert_eq!((call.ret, call.errno.as_deref()), (-1, None));
        let Action::Segment(seg) = &s.events[4].action else {
            panic!()
        };
        assert_eq!(
            (seg.flags.as_str(), seg.ecn_flags.as_str()),
            ("P.", "[ect0]")
        );
        let Action::Segment(seg) = &s.events[5].action else {
            panic!()
        };
        assert!(seg.urgent);
        assert_eq!(
            s.events[6].action,
            Action::Icmp("icmp unreachable [5000:6000(1000)]".into())
        );
    }

    #[test]
    fn unsupported_syntax_names_the_line() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            e("0 > SEX 0:0(0)"),
            "line 1: unsupported flags \"SEX\": expected a combination of S F R P U E W . or -"
        );
        assert!(e("`a`\n`b`").starts_with("line 2: a second init command"));
        assert!(e("0 > S. 0:5(4) ack 1").contains("END - START must equal LEN"));
        assert!(e("0 > . 1:1(0) tos 3").contains("unsupported segment field \"tos\""));
        assert!(e("0 `sysctl -q\n").starts_with("line 1: unclosed backtick"));
        assert!(e("0 write(3,\n").starts_with("line 1: unclosed bracket"));
        assert!(e("0 < S 0:0(0) <foo abc>").contains("unsupported option \"foo abc\""));
        assert!(e("0 %{ assert x").starts_with("line 1: unclosed code block"));
        assert!(e("0 close(3) = x").contains("bad result"));
    }
}
