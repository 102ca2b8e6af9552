//! The self-contained HTML report: BD and per-quality tables, the figures inline as SVG,
//! the run's configuration and the tool and codec versions. One file, no external assets.

use std::fmt::Write;

use crate::report::{Report, fmt_value};

/// What goes into the HTML report besides the tables.
#[derive(Debug, Clone, Default)]
pub struct HtmlExtras {
    /// Page title.
    pub title: String,
    /// One SVG figure per dataset: (dataset, SVG document).
    pub figures: Vec<(String, String)>,
    /// The run metadata (`run.json`), pretty-printed.
    pub run_meta: Option<String>,
    /// The run's TOML configuration.
    pub config: Option<String>,
    /// Failed rows, one line each.
    pub failures: Vec<String>,
    /// Further sections in the Markdown subset icmbench writes (the machine tasks' tables:
    /// `##`/`###` headings, `|` tables, paragraphs with `**bold**` and `` `code` ``), placed
    /// after the datasets' tables.
    pub sections: Vec<String>,
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #444}td.best{font-weight:bold}\
pre{background:#f6f6f6;padding:1em;overflow-x:auto}.note{color:#555;font-size:.9em}figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// Renders the report page.
pub fn html(r: &Report, extras: &HtmlExtras) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&extras.title)
    );
    let _ = writeln!(s, "<h1>{}</h1>", escape(&extras.title));
    let _ = writeln!(
        s,
        "<p class=\"note\">BD-rate in % (negative: fewer bits than the anchor at equal quality), BD-metric in parentheses (test − anchor, in the metric's units). Interpolation: {}. bpp: {}. Best BD-rate per column in bold; † marks an abnormal (non-monotone) curve of the codec or the anchor, n/a a cell without a value (see notes).</p>",
        r.method.name(),
        escape(r.bpp.describe())
    );
    // LL-ICM summary: the task × metric table and one figure per metric, panels per task.
    let tasks = crate::lowlevel::tasks(r);
    if !tasks.is_empty() {
        let anchors = crate::report::unique(tasks.iter().map(|d| d.anchor.as_str()));
        let _ = write!(
            s,
            "<h2>LL-ICM summary: BD-rate per task vs <code>{}</code></h2>\n<table><thead><tr><th>codec</th>",
            escape(&anchors.join(", "))
        );
        let cols = crate::lowlevel::columns(&tasks);
        for (d, i) in &cols {
            let _ = write!(s, "<th>{}</th>", escape(&crate::lowlevel::header(d, *i)));
        }
        s.push_str("</tr></thead><tbody>\n");
        for codec in crate::lowlevel::codec_rows(&tasks) {
            let _ = write!(s, "<tr><td>{}</td>", escape(&codec));
            for (d, i) in &cols {
                let (text, best, flag) = crate::lowlevel::cell_parts(d, &codec, &d.metrics[*i]);
                let _ = write!(s, "<td{}>{}{flag}</td>", if best { " class=\"best\"" } else { "" }, escape(&text));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n");
        for (name, svg) in extras.figures.iter().filter(|(name, _)| name.starts_with("ll-icm-")) {
            let _ = writeln!(
                s,
                "<figure>{svg}<figcaption class=\"note\">{}: one rate–perception panel per task; dotted lines are the reference rows.</figcaption></figure>",
                escape(name)
            );
        }
    }
    for d in &r.datasets {
        let _ = writeln!(s, "<h2>{}: BD-rate vs <code>{}</code></h2>", escape(&d.dataset), escape(&d.anchor));
        s.push_str("<table><thead><tr><th>codec</th>");
        for (m, lower) in d.metrics.iter().zip(&d.lower_is_better) {
            let _ = write!(s, "<th>{} {}</th>", escape(m), if *lower { "↓" } else { "↑" });
        }
        s.push_str("</tr></thead><tbody>\n");
        for codec in d.codecs.iter().filter(|c| **c != d.anchor) {
            let _ = write!(s, "<tr><td>{}</td>", escape(codec));
            for m in &d.metrics {
                match d.cell_text(codec, m) {
                    Some((text, best)) => {
                        let flag = if d.flagged(codec, m) { " †" } else { "" };
                        let _ = write!(s, "<td{}>{}{flag}</td>", if best { " class=\"best\"" } else { "" }, escape(&text));
                    }
                    None => {
                        let flag = if d.flagged(codec, m) { " †" } else { "" };
                        let _ = write!(s, "<td>{}{flag}</td>", d.missing_text(codec, m));
                    }
                }
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n");
        let mut notes = d.abnormal_notes();
        notes.extend(d.notes());
        if !notes.is_empty() {
            s.push_str("<ul class=\"note\">");
            for n in notes {
                let _ = write!(s, "<li>{}</li>", escape(&n));
            }
            s.push_str("</ul>\n");
        }
        if let Some((_, svg)) = extras.figures.iter().find(|(name, _)| *name == d.dataset) {
            let _ = writeln!(
                s,
                "<figure>{svg}<figcaption class=\"note\">Rate–quality curves on {}.</figcaption></figure>",
                escape(&d.dataset)
            );
        }
        let _ = writeln!(s, "<h3>{}: per quality point (means over images)</h3>", escape(&d.dataset));
        s.push_str("<table><thead><tr><th>codec</th><th>quality</th><th>images</th><th>failed</th><th>bpp</th>");
        for m in &d.metrics {
            let _ = write!(s, "<th>{}</th>", escape(m));
        }
        s.push_str("</tr></thead><tbody>\n");
        for p in &d.points {
            let bpp = r.bpp.pick(p).map(|b| format!("{b:.4}")).unwrap_or_else(|| "-".into());
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{bpp}</td>",
                escape(&p.codec),
                p.quality,
                p.ok,
                p.failed
            );
            for m in &d.metrics {
                let v = p.metrics.get(m).map(|st| fmt_value(st.mean)).unwrap_or_else(|| "-".into());
                let _ = write!(s, "<td>{v}</td>");
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n");
    }
    for section in &extras.sections {
        s.push_str(&markdown_html(section));
    }
    if !extras.failures.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Failed rows ({})</h2><pre>{}</pre>",
            extras.failures.len(),
            escape(&extras.failures.join("\n"))
        );
    }
    if let Some(meta) = &extras.run_meta {
        let _ = writeln!(s, "<h2>Run, tool and codec versions</h2><pre>{}</pre>", escape(meta));
    }
    if let Some(cfg) = &extras.config {
        let _ = writeln!(s, "<h2>Configuration</h2><pre>{}</pre>", escape(cfg));
    }
    let _ = writeln!(
        s,
        "<p class=\"note\">Generated by icmbench {}.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

/// Inline Markdown of one line: escaped, `**bold**` and `` `code` `` made tags.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split("**").enumerate() {
        let code: String = part
            .split('`')
            .enumerate()
            .map(|(k, p)| if k % 2 == 1 { format!("<code>{p}</code>") } else { p.to_string() })
            .collect();
        if i % 2 == 1 {
            let _ = write!(out, "<strong>{code}</strong>");
        } else {
            out.push_str(&code);
        }
    }
    out
}

/// HTML of the Markdown subset icmbench writes: headings, tables (the first row is the
/// header, the `---` row is dropped), paragraphs.
pub fn markdown_html(md: &str) -> String {
    let mut s = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |s: &mut String, table: &mut Vec<Vec<String>>| {
        if table.is_empty() {
            return;
        }
        s.push_str("<table><thead><tr>");
        for c in &table[0] {
            let _ = write!(s, "<th>{}</th>", inline(c));
        }
        s.push_str("</tr></thead><tbody>\n");
        for row in table.iter().skip(1) {
            s.push_str("<tr>");
            for c in row {
                let _ = write!(s, "<td>{}</td>", inline(c));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n");
        table.clear();
    };
    for line in md.lines() {
        if let Some(row) = line.strip_prefix('|') {
            let cells: Vec<String> = row.trim_end_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            if !cells.iter().all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-')) {
                table.push(cells);
            }
            continue;
        }
        flush(&mut s, &mut table);
        if let Some(h) = line.strip_prefix("### ") {
            let _ = writeln!(s, "<h3>{}</h3>", inline(h));
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(s, "<h2>{}</h2>", inline(h));
        } else if !line.trim().is_empty() {
            let _ = writeln!(s, "<p>{}</p>", inline(line));
        }
    }
    flush(&mut s, &mut table);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Report, ReportOptions, build};

    #[test]
    fn page_is_self_contained_and_escaped() {
        let r: Report = build(&[], &ReportOptions::default(), &|_| false).unwrap();
        let extras = HtmlExtras {
            title: "a <b> run".into(),
            figures: vec![],
            run_meta: Some("{\"x\": 1}".into()),
            config: Some("output = \"<out>\"".into()),
            failures: vec!["FAILED x".into()],
            sections: vec!["## Machine tasks\n\n**nano** `map` <x>\n\n| task | q5 |\n|---|---|\n| nano (frozen, bbox) | 0.5 |\n".into()],
        };
        let page = html(&r, &extras);
        assert!(page.contains("<title>a &lt;b&gt; run</title>") && page.contains("&lt;out&gt;") && page.contains("FAILED x"));
        assert!(!page.contains("src=\"http") && !page.contains("<link"), "no external assets");
        assert!(
            page.contains("<h2>Machine tasks</h2>\n<p><strong>nano</strong> <code>map</code> &lt;x&gt;</p>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<table><thead><tr><th>task</th><th>q5</th></tr></thead><tbody>\n<tr><td>nano (frozen, bbox)</td><td>0.5</td></tr>"
            ),
            "{page}"
        );
    }
}
