//! The HTML part of a message, made from its text: the answer is Markdown
//! (agents answer in it), rendered by pulldown-cmark with raw HTML shown as
//! text, links only to http, https and mailto, and single line breaks kept.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// A whole HTML document for `text`.
pub(crate) fn to_html(text: &str) -> String {
    let mut body = String::with_capacity(text.len() * 5 / 4 + 64);
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut unsafe_links = 0usize;
    let events = Parser::new_ext(text, options).filter_map(|event| match event {
        // Raw HTML in the answer is shown, never interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        // A chat answer's single newline is a line break.
        Event::SoftBreak => Some(Event::HardBreak),
        Event::Start(Tag::Link { dest_url, .. }) if !safe_link(&dest_url) => {
            unsafe_links += 1;
            None
        }
        Event::End(TagEnd::Link) if unsafe_links > 0 => {
            unsafe_links -= 1;
            None
        }
        Event::Start(Tag::Image {
            dest_url, title, ..
        }) => {
            // Images would be fetched by the mail client: shown as links.
            if safe_link(&dest_url) {
                Some(Event::Start(Tag::Link {
                    link_type: pulldown_cmark::LinkType::Inline,
                    dest_url,
                    title,
                    id: CowStr::Borrowed(""),
                }))
            } else {
                unsafe_links += 1;
                None
            }
        }
        Event::End(TagEnd::Image) => {
            if unsafe_links > 0 {
                unsafe_links -= 1;
                None
            } else {
                Some(Event::End(TagEnd::Link))
            }
        }
        other => Some(other),
    });
    pulldown_cmark::html::push_html(&mut body, events);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}</body></html>\n"
    )
}

fn safe_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn raw_html_is_escaped() {
        let html = to_html("Hello <script>alert(1)</script> & <b>bye</b>");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("&amp;"), "{html}");
    }

    #[test]
    fn bold_links_and_lists_become_html() {
        let html = to_html("**Laptop** ready: [portal](https://it.example.com)\n\n- one\n- two");
        assert!(html.contains("<strong>Laptop</strong>"), "{html}");
        assert!(
            html.contains("<a href=\"https://it.example.com\">portal</a>"),
            "{html}"
        );
        assert!(html.contains("<li>one</li>"), "{html}");
    }

    #[test]
    fn paragraphs_and_line_breaks_are_kept() {
        let html = to_html("first line\nsecond line\n\nnext paragraph");
        assert!(html.contains("first line<br />\nsecond line</p>"), "{html}");
        assert!(html.contains("<p>next paragraph</p>"), "{html}");
    }

    #[test]
    fn javascript_links_lose_their_link() {
        let html = to_html("[click](javascript:alert(1))");
        assert!(!html.contains("href"), "{html}");
        assert!(html.contains("click"), "{html}");
    }
}
