//! HTML output: server-drawn SVG charts ([`chart`]) built from the readers' rows ([`views`]),
//! the static report ([`report`], `analyze report --html`), and the live dashboard's embedded
//! page and chart answers (served by `analyze serve`). Every figure comes from an `analyze`
//! reader; nothing here runs SQL of its own.

pub mod chart;
pub mod dashboard;
pub mod report;
pub mod views;

/// Escapes text for HTML and SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::esc(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
