//! The Markdown an LLM writes, as Slack's mrkdwn: `**bold**` → `*bold*`,
//! `*italic*` → `_italic_`, `~~strike~~` → `~strike~`, `[text](url)` →
//! `<url|text>`, `# Heading` → a bold line, `- item` → `• item`. Code
//! spans and fenced blocks are kept (a fence loses its language, which
//! Slack does not show). `&`, `<` and `>` are escaped everywhere, as
//! Slack requires, except for the `<…>` of the links made here and a `>`
//! starting a quote.

/// Escapes `&`, `<` and `>` for Slack text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, &mut out);
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// `markdown` as Slack mrkdwn.
pub fn to_mrkdwn(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 8);
    let mut in_fence = false;
    for (index, line) in markdown.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if let Some(after_fence) = trimmed.strip_prefix("```") {
            in_fence = !in_fence;
            out.push_str(&line[..line.len() - trimmed.len()]);
            out.push_str("```");
            // An opening fence's language is dropped; a closing fence
            // keeps what follows it.
            if !in_fence {
                escape_into(after_fence, &mut out);
            }
        } else if in_fence {
            escape_into(line, &mut out);
        } else {
            block_line(line, &mut out);
        }
    }
    out
}

fn block_line(line: &str, out: &mut String) {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    if let Some(heading) = heading_text(trimmed) {
        out.push('*');
        let mut text = String::new();
        inline(heading, &mut text);
        // Bold markers inside a heading would close the heading's own.
        out.push_str(text.trim_matches('*'));
        out.push('*');
    } else if let Some(item) = bullet_text(trimmed) {
        out.push_str(indent);
        out.push_str("• ");
        inline(item, out);
    } else if let Some(quoted) = trimmed.strip_prefix('>') {
        out.push_str(indent);
        out.push('>');
        inline(quoted, out);
    } else {
        inline(line, out);
    }
}

/// `# Title` (up to six `#`, then a space): `Title`, closing `#`s dropped.
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = line[hashes..].strip_prefix([' ', '\t'])?;
    let text = rest.trim().trim_end_matches('#').trim_end();
    (!text.is_empty()).then_some(text)
}

/// `- item`, `* item`, `+ item`: `item`.
fn bullet_text(line: &str) -> Option<&str> {
    let mut chars = line.chars();
    let marker = chars.next()?;
    if !matches!(marker, '-' | '*' | '+') {
        return None;
    }
    line[1..].strip_prefix([' ', '\t']).map(str::trim_start)
}

fn inline(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`'
            && let Some(end) = rest[1..].find('`')
        {
            out.push('`');
            escape_into(&rest[1..1 + end], out);
            out.push('`');
            rest = &rest[end + 2..];
            continue;
        }
        if c == '['
            && let Some((label, url, used)) = link(rest)
        {
            out.push('<');
            escape_into(url, out);
            out.push('|');
            let mut shown = String::new();
            inline(label, &mut shown);
            // A `>` would end the link; the label's own are escaped already.
            out.push_str(&shown);
            out.push('>');
            rest = &rest[used..];
            continue;
        }
        if let Some((marker, slack)) = [("**", '*'), ("~~", '~')]
            .into_iter()
            .find(|(marker, _)| rest.starts_with(marker))
            && let Some(end) = closing(&rest[2..], marker)
        {
            out.push(slack);
            inline(&rest[2..2 + end], out);
            out.push(slack);
            rest = &rest[end + 4..];
            continue;
        }
        if c == '*'
            && let Some(end) = closing(&rest[1..], "*")
        {
            out.push('_');
            inline(&rest[1..1 + end], out);
            out.push('_');
            rest = &rest[end + 2..];
            continue;
        }
        escape_into(&rest[..c.len_utf8()], out);
        rest = &rest[c.len_utf8()..];
    }
}

/// Where `marker` closes an emphasis in `after` (the text past the opening
/// marker): the content is not empty, starts and ends without a space,
/// and for `*` is not itself a `**`.
fn closing(after: &str, marker: &str) -> Option<usize> {
    if after.starts_with(char::is_whitespace) || after.starts_with(marker) {
        return None;
    }
    let mut from = 0;
    while let Some(found) = after[from..].find(marker) {
        let end = from + found;
        let content = &after[..end];
        let doubled = marker == "*" && after[end + 1..].starts_with('*');
        if !content.is_empty() && !content.ends_with(char::is_whitespace) && !doubled {
            return Some(end);
        }
        from = end + marker.len();
        if doubled {
            from += 1;
        }
    }
    None
}

/// `[label](url)` at the start of `text`, for http(s) and mailto URLs:
/// the label, the URL and how many bytes they took.
fn link(text: &str) -> Option<(&str, &str, usize)> {
    let close = text.find(']')?;
    let label = &text[1..close];
    let after = text[close + 1..].strip_prefix('(')?;
    let end = after.find(')')?;
    let url = after[..end].trim();
    let acceptable = ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
        && !url.contains(char::is_whitespace);
    (acceptable && !label.is_empty()).then_some((label, url, close + 2 + end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_italic_and_strike_become_slacks_markers() {
        assert_eq!(
            to_mrkdwn("**Done**, *really* ~~not~~"),
            "*Done*, _really_ ~not~"
        );
    }

    #[test]
    fn links_become_angle_bracket_links() {
        assert_eq!(
            to_mrkdwn("See [the portal](https://it.example.com/a?b=1&c=2)."),
            "See <https://it.example.com/a?b=1&amp;c=2|the portal>."
        );
    }

    #[test]
    fn a_bracket_that_is_no_link_stays_text() {
        assert_eq!(to_mrkdwn("[x] done (mostly)"), "[x] done (mostly)");
    }

    #[test]
    fn headings_become_bold_lines_and_bullets_get_a_dot() {
        assert_eq!(
            to_mrkdwn("## Your options\n- **Dell** laptop\n  * MacBook"),
            "*Your options*\n• *Dell* laptop\n  • MacBook"
        );
    }

    #[test]
    fn angle_brackets_and_ampersands_are_escaped_outside_and_inside_code() {
        assert_eq!(to_mrkdwn("a < b & `x > y`"), "a &lt; b &amp; `x &gt; y`");
    }

    #[test]
    fn fenced_code_is_kept_verbatim_but_escaped() {
        assert_eq!(
            to_mrkdwn("```bash\n# not a heading\n- **not bold** <x>\n```"),
            "```\n# not a heading\n- **not bold** &lt;x&gt;\n```"
        );
    }

    #[test]
    fn a_quote_keeps_its_marker() {
        assert_eq!(to_mrkdwn("> quoted **text**"), "> quoted *text*");
    }

    #[test]
    fn lone_asterisks_are_left_alone() {
        assert_eq!(to_mrkdwn("2 * 3 * 4 = 24"), "2 * 3 * 4 = 24");
        assert_eq!(to_mrkdwn("a **b"), "a **b");
    }
}
