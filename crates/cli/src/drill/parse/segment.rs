//! A TCP segment line: flags, the sequence range, `ack`, `win` and the options, as
//! packetdrill writes them.

use super::{ParseError, SegmentSpec, TcpOption, err};

/// Splits packetdrill's flag letters into the modelled ones (S F R P .) and ECN's (E W);
/// `U` (urgent) is reported apart by the caller.
fn parse_flags(text: &str, line: usize) -> Result<(String, String), ParseError> {
    if text == "-" {
        return Ok((String::new(), String::new()));
    }
    if text.chars().any(|c| !"SFRPU.EW".contains(c)) {
        return Err(err(
            line,
            format!("unsupported flags {text:?}: expected a combination of S F R P U E W . or -"),
        ));
    }
    let tcp = ['S', 'F', 'R', 'P', '.']
        .into_iter()
        .filter(|c| text.contains(*c))
        .collect();
    let ecn = ['E', 'W']
        .into_iter()
        .filter(|c| text.contains(*c))
        .collect();
    Ok((tcp, ecn))
}

fn parse_option(opt: &str, line: usize) -> Result<TcpOption, ParseError> {
    let words: Vec<&str> = opt.split_whitespace().collect();
    let number = |s: &str, what: &str| {
        s.parse::<u32>()
            .map_err(|_| err(line, format!("bad {what} {s:?}: expected a number")))
    };
    Ok(match words.as_slice() {
        ["nop"] => TcpOption::Nop,
        ["eol"] => TcpOption::Eol,
        ["sackOK"] => TcpOption::SackPermitted,
        ["mss", n] => TcpOption::Mss(
            n.parse()
                .map_err(|_| err(line, format!("bad mss {n:?}: expected 0 to 65535")))?,
        ),
        ["wscale", n] => TcpOption::WindowScale(
            n.parse()
                .map_err(|_| err(line, format!("bad wscale {n:?}: expected 0 to 255")))?,
        ),
        ["TS", "val", v, "ecr", e] => TcpOption::Timestamps {
            val: number(v, "TS val")?,
            ecr: number(e, "TS ecr")?,
        },
        ["sack", blocks @ ..] => TcpOption::Sack(blocks.join(" ")),
        ["FO" | "FOEXP" | "md5", ..] => TcpOption::Other(opt.to_string()),
        _ => {
            return Err(err(
                line,
                format!(
                    "unsupported option {opt:?}: expected nop, eol, mss N, wscale N, sackOK, \
                     sack A:B..., TS val X ecr Y, FO, FOEXP, md5 or ..."
                ),
            ));
        }
    })
}

fn parse_options(text: &str, line: usize) -> Result<Option<Vec<TcpOption>>, ParseError> {
    if text.trim() == "..." {
        return Ok(None);
    }
    text.split(',')
        .map(|opt| parse_option(opt.trim(), line))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_range(range: &str, line: usize) -> Result<(Option<u32>, u32), ParseError> {
    let bad = || {
        err(
            line,
            format!("bad sequence range {range:?}: expected START:END(LEN) or ...(LEN)"),
        )
    };
    if let Some(len) = range.strip_prefix("...(").and_then(|t| t.strip_suffix(')')) {
        return Ok((None, len.parse().map_err(|_| bad())?));
    }
    let (start, tail) = range.split_once(':').ok_or_else(bad)?;
    let (end, len) = tail
        .strip_suffix(')')
        .and_then(|t| t.split_once('('))
        .ok_or_else(bad)?;
    let (start, end, len): (u32, u32, u32) = (
        start.parse().map_err(|_| bad())?,
        end.parse().map_err(|_| bad())?,
        len.parse().map_err(|_| bad())?,
    );
    if end.wrapping_sub(start) != len {
        return Err(err(
            line,
            format!("sequence range {range}: END - START must equal LEN"),
        ));
    }
    Ok((Some(start), len))
}

pub(super) fn parse_segment(
    text: &str,
    inbound: bool,
    line: usize,
) -> Result<SegmentSpec, ParseError> {
    let (main, options) = match text.find('<') {
        Some(i) => {
            let close = text
                .rfind('>')
                .filter(|&j| j > i)
                .ok_or_else(|| err(line, "unclosed option list: expected <...>"))?;
            if !text[close + 1..].trim().is_empty() {
                return Err(err(line, "text after the option list"));
            }
            (&text[..i], parse_options(&text[i + 1..close], line)?)
        }
        None => (text, Some(Vec::new())),
    };
    let mut words: Vec<&str> = main.split_whitespace().collect();
    let form = "expected [ECN] FLAGS START:END(LEN) [ack N] [win N] [urg N] [<options>]";
    // An IP ECN codepoint before the flags (`[ect0]`, `[noecn]`, `[ce]`).
    let codepoint = match words.first() {
        Some(w) if w.starts_with('[') && w.ends_with(']') => Some(words.remove(0).to_string()),
        _ => None,
    };
    let [flags, range, rest @ ..] = words.as_slice() else {
        return Err(err(line, format!("bad segment: {form}")));
    };
    let urgent = flags.contains('U');
    let (flags, mut ecn_flags) = parse_flags(flags, line)?;
    if let Some(codepoint) = codepoint.filter(|c| c != "[noecn]") {
        ecn_flags.push_str(&codepoint);
    }
    let (start, len) = parse_range(range, line)?;
    if inbound && start.is_none() {
        return Err(err(
            line,
            format!("sequence range {range}: ... only in a segment the stack sends (>)"),
        ));
    }
    let mut spec = SegmentSpec {
        inbound,
        flags,
        ecn_flags,
        urgent,
        start,
        len,
        ack: None,
        win: None,
        options,
    };
    let mut it = rest.iter();
    while let Some(word) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u32>().ok());
        match (*word, value) {
            ("ack", Some(v)) => spec.ack = Some(v),
            ("win", Some(v)) => spec.win = Some(v),
            ("urg", Some(_)) => spec.urgent = true,
            _ => {
                return Err(err(
                    line,
                    format!("unsupported segment field {word:?}: {form}"),
                ));
            }
        }
    }
    Ok(spec)
}
