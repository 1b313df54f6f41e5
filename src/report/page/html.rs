//! HTML building blocks of the report pages: escaping, the page shell
//! (one self-contained document: the style sheet and the script are
//! inline, images are `data:` URIs, and a content security policy forbids
//! anything from the network), tables and number formats.

use serde::Serialize;
use std::fmt::Write;

/// The style sheet, inline in every page.
const STYLE: &str = include_str!("style.css");
/// The script: hover read-outs on the charts. Inline in every page.
const SCRIPT: &str = include_str!("script.js");

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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

/// JSON for a `<script type="application/json">` element: `</` cannot
/// end the element early.
pub(crate) fn json<T: Serialize>(value: &T) -> crate::error::Result<String> {
    serde_json::to_string(value)
        .map(|s| s.replace("</", "<\\/"))
        .map_err(|e| crate::error::Error::Runtime(format!("cannot encode chart data: {e}")))
}

/// A metric value as the page shows it: 4 significant digits for ordinary
/// magnitudes, `nan`/`inf` spelled out.
pub(crate) fn fmt(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A fraction as a percentage with two decimals (`98.75 %`).
pub(crate) fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2} %", x * 100.0)
    } else {
        fmt(x)
    }
}

/// The whole document around `body`. `data` is the charts' JSON.
pub(crate) fn page(title: &str, body: &str, data: &str) -> String {
    let mut s = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + data.len() + 600);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing from the network, ever: the page must read the same from a
    // disk, an archive or a CI artifact.
    s.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n",
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, "<style>\n{STYLE}</style>\n</head>\n<body>");
    s.push_str(body);
    let _ = writeln!(
        s,
        "<script type=\"application/json\" id=\"chart-data\">{data}</script>"
    );
    let _ = writeln!(s, "<script>\n{SCRIPT}</script>\n</body>\n</html>");
    s
}

/// A table: header cells, then rows of cells that are already HTML (the
/// first cell of a row is its heading), with classes on some rows (`sum`)
/// and cells (`best`, `changed`).
pub(crate) struct Table {
    pub class: &'static str,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
    row_classes: Vec<(usize, &'static str)>,
    cell_classes: Vec<(usize, usize, &'static str)>,
}

impl Table {
    pub(crate) fn new(class: &'static str, head: &[&str]) -> Table {
        Table {
            class,
            head: head.iter().map(|h| escape(h)).collect(),
            rows: Vec::new(),
            row_classes: Vec::new(),
            cell_classes: Vec::new(),
        }
    }

    /// Adds a row whose `<tr>` has `class`.
    pub(crate) fn push_marked(&mut self, row: Vec<String>, class: &'static str) {
        self.row_classes.push((self.rows.len(), class));
        self.rows.push(row);
    }

    /// Gives cell `col` of row `row` the class `class`.
    pub(crate) fn mark(&mut self, row: usize, col: usize, class: &'static str) {
        self.cell_classes.push((row, col, class));
    }

    /// Renders the table in a horizontally scrolling wrapper (phones).
    pub(crate) fn html(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "<div class=\"scroll\"><table class=\"{}\">", self.class);
        if !self.head.is_empty() {
            s.push_str("<thead><tr>");
            for h in &self.head {
                let _ = write!(s, "<th>{h}</th>");
            }
            s.push_str("</tr></thead>");
        }
        s.push_str("<tbody>");
        let attr = |class: Option<&str>| class.map_or(String::new(), |c| format!(" class=\"{c}\""));
        for (r, cells) in self.rows.iter().enumerate() {
            let row_class = self.row_classes.iter().find(|x| x.0 == r).map(|x| x.1);
            let _ = write!(s, "<tr{}>", attr(row_class));
            for (i, c) in cells.iter().enumerate() {
                let class = self
                    .cell_classes
                    .iter()
                    .find(|x| x.0 == r && x.1 == i)
                    .map(|x| x.2);
                let tag = if i == 0 { "th" } else { "td" };
                let _ = write!(s, "<{tag}{}>{c}</{tag}>", attr(class));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table></div>\n");
        s
    }
}

/// A `<section>` with an id, a heading and content.
pub(crate) fn section(id: &str, title: &str, content: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n{content}</section>\n",
        escape(id),
        escape(title)
    )
}

/// A chart in its figure, with its title and an HTML legend.
pub(crate) fn figure(title: &str, svg: &str, legend: &[(String, String, bool)]) -> String {
    let mut s = format!(
        "<figure class=\"chart-box\"><figcaption>{}</figcaption>{svg}",
        escape(title)
    );
    if !legend.is_empty() {
        s.push_str("<div class=\"legend\">");
        for (name, colour, dashed) in legend {
            let _ = write!(
                s,
                "<span><i class=\"{}\" style=\"border-color:{}\"></i>{}</span>",
                if *dashed { "dash" } else { "solid" },
                escape(colour),
                escape(name)
            );
        }
        s.push_str("</div>");
    }
    s.push_str("<div class=\"tip\" hidden></div></figure>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_table() {
        assert_eq!(
            escape("<a href=\"x\">T-shirt & 'top'</a>"),
            "&lt;a href=&quot;x&quot;&gt;T-shirt &amp; &#39;top&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn number_formats() {
        let t: &[(f64, &str)] = &[
            (0.99, "0.99"),
            (0.988919413919414, "0.9889"),
            (0.04546329006552696, "0.04546"),
            (1.0, "1"),
            (123.456, "123.5"),
            (45000.0, "45000"),
            (1e-7, "1.000e-7"),
            (0.0001, "0.0001"),
            (-0.5, "-0.5"),
            (0.0, "0"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in t {
            assert_eq!(fmt(x), want, "{x}");
        }
        assert_eq!(pct(0.9875), "98.75 %");
    }

    #[test]
    fn tables_carry_row_and_cell_classes() {
        let mut t = Table::new("t", &["a", "b"]);
        t.rows.push(vec!["x".into(), "1".into()]);
        t.push_marked(vec!["sum".into(), "2".into()], "sum");
        t.mark(0, 1, "best");
        assert_eq!(
            t.html(),
            "<div class=\"scroll\"><table class=\"t\"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><th>x</th><td class=\"best\">1</td></tr><tr class=\"sum\"><th>sum</th><td>2</td></tr></tbody></table></div>\n"
        );
    }

    #[test]
    fn json_cannot_close_the_script_element() -> crate::error::Result<()> {
        assert_eq!(json(&"</script>")?, "\"<\\/script>\"");
        Ok(())
    }
}
