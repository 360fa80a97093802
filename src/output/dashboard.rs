//! The dashboard: one self-contained HTML file of panels, each a saved query's answer drawn
//! as a bar chart, a line chart or a table, with what it scanned and cost.
//!
//! The data sits in the page as JSON and a small script draws it as SVG when the page opens,
//! so the file needs nothing else: no fonts, styles, scripts or images are fetched, and the
//! page's content security policy forbids the browser to fetch any.

use serde::Serialize;
use serde_json::Value;

/// A dashboard to write.
#[derive(Debug, Serialize)]
pub struct Page {
    pub title: String,
    pub generated: String,
    pub warehouse: String,
    /// `(table, "complete through" time)` for each table.
    pub complete_through: Vec<(String, Option<String>)>,
    pub panels: Vec<Panel>,
}

/// One saved query's answer.
#[derive(Debug, Serialize)]
pub struct Panel {
    pub name: String,
    pub title: String,
    pub description: String,
    /// `bar`, `line` or `table`.
    pub chart: &'static str,
    pub x: Option<String>,
    pub y: Option<String>,
    pub series: Option<String>,
    pub params: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// What the panel scanned and cost, or where its stored result came from.
    pub scan: String,
    /// Why the panel has no answer.
    pub error: Option<String>,
}

/// The page's HTML.
pub fn render(page: &Page) -> String {
    let data = serde_json::to_string(page).expect("the page serialises");
    // Inside <script>, only `</` could end the element early.
    let data = data.replace("</", "<\\/");
    let title = escape(&page.title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style></head>\n<body>\n\
         <header><h1>{title}</h1><p id=\"meta\"></p></header>\n<main id=\"panels\"></main>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n<script>{SCRIPT}</script>\n\
         </body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
#meta{margin:4px 0 0;color:#c9cfdb;font-size:12px}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px;padding:16px 24px}
section{background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.12);padding:12px 16px;overflow:hidden}
section h2{font-size:15px;margin:0 0 2px}section p.d{margin:0 0 8px;color:#5b6474;font-size:12px}
.scan{color:#5b6474;font-size:11px;margin-top:6px}.err{color:#b3261e}
table{border-collapse:collapse;font-size:12px;width:100%}td,th{padding:2px 6px;border-bottom:1px solid #e3e6eb;text-align:left;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:260px}
td.n{text-align:right;font-variant-numeric:tabular-nums}details{margin-top:6px}summary{cursor:pointer;color:#5b6474;font-size:12px}
svg text{font-size:11px;fill:#3b4252}.axis{stroke:#9aa3b2}.grid{stroke:#eceef2}.empty{color:#5b6474;font-style:italic}
.legend span{display:inline-block;margin-right:10px;font-size:11px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
"#;

const SCRIPT: &str = r#"
(function () {
  const page = JSON.parse(document.getElementById('data').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#3366cc', '#dc6e1f', '#2ca02c', '#9467bd', '#c43a31', '#17a2b8', '#8c564b', '#e377c2'];
  const el = (tag, attrs, text) => {
    const e = tag.startsWith('svg:') ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) return Math.abs(v) < 1 ? v.toPrecision(3) : v.toFixed(2);
      return v.toLocaleString('en-US');
    }
    return String(v);
  };
  const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  const meta = document.getElementById('meta');
  const complete = page.complete_through.map(([t, c]) => t + ' complete through ' + (c || 'n/a')).join(' · ');
  meta.textContent = 'generated ' + page.generated + ' from ' + page.warehouse + (complete ? ' · ' + complete : '');

  function table(panel, limit) {
    const t = el('table');
    const head = el('tr');
    panel.columns.forEach((c) => head.appendChild(el('th', {}, c)));
    t.appendChild(head);
    panel.rows.slice(0, limit).forEach((row) => {
      const tr = el('tr');
      row.forEach((v) => tr.appendChild(el('td', typeof v === 'number' ? { class: 'n' } : {}, fmt(v))));
      t.appendChild(tr);
    });
    return t;
  }

  function bar(panel) {
    const xi = panel.columns.indexOf(panel.x), yi = panel.columns.indexOf(panel.y);
    const rows = panel.rows.filter((r) => typeof r[yi] === 'number').slice(0, 15);
    const W = 540, left = 170, rowH = 20, H = rows.length * rowH + 24;
    const svg = el('svg:svg', { class: 'chart bar', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    const max = Math.max(...rows.map((r) => r[yi]), 0) || 1;
    rows.forEach((r, i) => {
      const w = Math.max(1, (r[yi] / max) * (W - left - 70));
      const y = i * rowH + 4;
      svg.appendChild(el('svg:text', { x: left - 6, y: y + 13, 'text-anchor': 'end' }, short(fmt(r[xi]), 26)));
      const rect = el('svg:rect', { class: 'bar', x: left, y, width: w.toFixed(1), height: rowH - 6, fill: COLORS[0] });
      rect.appendChild(el('svg:title', {}, fmt(r[xi]) + ': ' + fmt(r[yi])));
      svg.appendChild(rect);
      svg.appendChild(el('svg:text', { x: left + w + 4, y: y + 13 }, fmt(r[yi])));
    });
    svg.appendChild(el('svg:text', { x: left, y: H - 4 }, panel.y + ' by ' + panel.x));
    return svg;
  }

  function line(panel) {
    const xi = panel.columns.indexOf(panel.x), yi = panel.columns.indexOf(panel.y);
    const si = panel.series ? panel.columns.indexOf(panel.series) : -1;
    const time = (v) => Date.parse(typeof v === 'string' && v.length === 10 ? v + 'T00:00:00Z' : v);
    const groups = new Map();
    panel.rows.forEach((r) => {
      const t = time(r[xi]);
      if (Number.isNaN(t) || typeof r[yi] !== 'number') return;
      const key = si >= 0 ? fmt(r[si]) : panel.y;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push([t, r[yi]]);
    });
    const points = [...groups.values()].flat();
    const W = 540, H = 220, L = 56, R = 10, T = 10, B = 34;
    const svg = el('svg:svg', { class: 'chart line', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y1 = Math.max(...ys, 0) || 1;
    const sx = (t) => L + (x1 === x0 ? (W - L - R) / 2 : ((t - x0) / (x1 - x0)) * (W - L - R));
    const sy = (v) => H - B - (v / y1) * (H - T - B);
    for (let k = 0; k <= 4; k++) {
      const v = (y1 * k) / 4, y = sy(v);
      svg.appendChild(el('svg:line', { class: 'grid', x1: L, x2: W - R, y1: y, y2: y }));
      svg.appendChild(el('svg:text', { x: L - 4, y: y + 4, 'text-anchor': 'end' }, fmt(Number(v.toPrecision(3)))));
    }
    svg.appendChild(el('svg:line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    [x0, x1].forEach((t, i) => {
      const label = new Date(t).toISOString().replace('T', ' ').slice(0, 16).replace(' 00:00', '');
      svg.appendChild(el('svg:text', { x: sx(t), y: H - B + 16, 'text-anchor': i ? 'end' : 'start' }, label));
    });
    const legend = el('div', { class: 'legend' });
    [...groups.entries()].slice(0, COLORS.length).forEach(([key, pts], i) => {
      pts.sort((a, b) => a[0] - b[0]);
      const d = pts.map((p, j) => (j ? 'L' : 'M') + sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join(' ');
      svg.appendChild(el('svg:path', { class: 'line', d, fill: 'none', stroke: COLORS[i], 'stroke-width': 2 }));
      pts.forEach((p) => svg.appendChild(el('svg:circle', { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: COLORS[i] })));
      const item = el('span');
      item.appendChild(el('i', { style: 'background:' + COLORS[i] }));
      item.appendChild(document.createTextNode(key));
      legend.appendChild(item);
    });
    const box = el('div');
    box.appendChild(svg);
    box.appendChild(legend);
    return box;
  }

  let charts = 0;
  const main = document.getElementById('panels');
  page.panels.forEach((panel) => {
    const s = el('section', { id: 'panel-' + panel.name, 'data-chart': panel.chart });
    s.appendChild(el('h2', {}, panel.title));
    s.appendChild(el('p', { class: 'd' }, panel.description));
    if (panel.error) {
      s.appendChild(el('p', { class: 'err' }, panel.error));
    } else if (panel.rows.length === 0) {
      s.appendChild(el('p', { class: 'empty' }, 'nothing in this range'));
    } else if (panel.chart === 'table') {
      s.appendChild(table(panel, 50));
    } else {
      s.appendChild(panel.chart === 'bar' ? bar(panel) : line(panel));
      charts++;
      const more = el('details');
      more.appendChild(el('summary', {}, panel.rows.length + ' rows'));
      more.appendChild(table(panel, 100));
      s.appendChild(more);
    }
    const params = panel.params.map(([k, v]) => k + '=' + v).join(' ');
    s.appendChild(el('p', { class: 'scan' }, panel.scan + (params ? ' · ' + params : '')));
    main.appendChild(s);
  });
  document.body.setAttribute('data-rendered', String(charts));
})();
"#;
