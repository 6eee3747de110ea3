"""The report's stylesheet, inlined into the page (system fonts only: nothing is fetched)."""

CSS = """
:root { --fg:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --card:#fff;
  --up:#16a34a; --down:#dc2626; --accent:#2563eb; }
* { box-sizing:border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
header { padding:20px 28px 8px; }
header h1 { margin:0 0 4px; font-size:22px; }
header p { margin:0; color:var(--muted); }
nav { padding:0 28px 8px; }
nav a { color:var(--accent); margin-right:14px; text-decoration:none; font-size:13px; }
main { padding:0 28px 28px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:14px 18px; margin:14px 0; overflow-x:auto; }
section h2 { font-size:16px; margin:0 0 10px; }
section p.note { color:var(--muted); margin:6px 0; font-size:12px; }
table { border-collapse:collapse; font-size:12.5px; }
th, td { padding:4px 8px; border-bottom:1px solid var(--line); text-align:left;
  white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
thead th { background:#f3f4f6; position:sticky; top:0; }
.metrics-grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(280px,1fr));
  gap:0 24px; }
.metrics-grid table { width:100%; }
table.heatmap td { text-align:right; min-width:54px; font-variant-numeric:tabular-nums; }
table.heatmap td.hm-year { font-weight:600; border-left:2px solid var(--line); }
svg.chart { width:100%; height:auto; display:block; }
svg .grid { stroke:#eef0f3; stroke-width:1; }
svg .frame { fill:none; stroke:#d1d5db; }
svg text { font-size:11px; fill:var(--muted); }
svg .ytick { text-anchor:end; }
svg .xtick { text-anchor:middle; }
svg .vlabel { fill:var(--fg); font-size:11px; }
svg .equity { fill:none; stroke:var(--accent); stroke-width:1.4; }
svg .price { fill:none; stroke:#374151; stroke-width:1; }
svg .dd { fill:rgba(220,38,38,.25); stroke:var(--down); stroke-width:1; }
svg .marker.entry.long { fill:var(--up); }
svg .marker.entry.short { fill:var(--down); }
svg .marker.exit { fill:#fff; stroke:#111827; stroke-width:1.2; }
svg .marker.entry { stroke:#fff; stroke-width:.6; }
svg .bar.pos { fill:rgba(22,163,74,.7); }
svg .bar.neg { fill:rgba(220,38,38,.7); }
svg .bar.mc { fill:rgba(37,99,235,.6); }
svg .rule { stroke:#111827; stroke-dasharray:4 3; stroke-width:1; }
svg .rule.pct { stroke:var(--muted); }
.legend { font-size:12px; color:var(--muted); margin:4px 0 0; }
.legend span { margin-right:14px; }
.sw { display:inline-block; width:10px; height:10px; margin-right:4px; vertical-align:-1px; }
footer { color:var(--muted); font-size:12px; padding:0 28px 24px; }
"""
