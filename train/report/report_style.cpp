// The run report's inline stylesheet and script (see report_svg.h). Kept in one place so the page's look can
// be changed without reading the code that fills it. No external fonts or URLs: the page works offline.
#include "train/report/report_svg.h"

namespace nn::report {

const char* const kStyle = R"css(
:root { --ink: #1a1a1a; --muted: #5f6368; --line: #dfe3e8; --bg: #f5f6f8; --card: #ffffff; --accent: #2b5c8a; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { margin: 0 0 4px; font-size: 28px; font-weight: 650; word-break: break-word; }
h2 { margin: 0 0 12px; font-size: 20px; font-weight: 600; color: var(--accent); }
h3 { margin: 18px 0 8px; font-size: 16px; font-weight: 600; }
.meta { margin: 0 0 12px; color: var(--muted); }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.note { margin: 10px 0; padding: 12px 16px; border-left: 6px solid #d39e00; background: #fff3cd; color: #5c4400;
  font-weight: 600; font-size: 16px; border-radius: 4px; }
.problems { margin: 16px 0; padding: 12px 16px; border-left: 6px solid #c62828; background: #fdecea; color: #611a15;
  border-radius: 4px; }
.problems ul { margin: 6px 0 0; padding-left: 20px; }
nav { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 14px 0 4px; }
nav a { color: var(--accent); text-decoration: none; font-weight: 500; }
nav a:hover { text-decoration: underline; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px;
  margin: 18px 0; }
.empty { color: var(--muted); font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { min-width: 150px; padding: 12px 16px; border: 1px solid var(--line); border-radius: 8px; background: #fafbfc; }
.card .value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 13px; }
.card .reference { color: var(--muted); font-size: 12px; margin-top: 4px; border-top: 1px dashed var(--line); padding-top: 4px; }
.card.primary { border-color: #9dbbd8; background: #eef4fa; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 24px; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; }
svg.chart text { fill: var(--ink); }
svg.chart .chart-title { font-size: 14px; font-weight: 600; }
svg.chart .tick { fill: var(--muted); font-variant-numeric: tabular-nums; }
svg.chart .axis-label { fill: var(--muted); }
svg.chart .grid line { stroke: #eceff3; stroke-width: 1; }
svg.chart .frame { fill: none; stroke: #b9c0c8; stroke-width: 1; }
svg.chart .chance { stroke: #9aa0a6; stroke-width: 1; stroke-dasharray: 4 4; }
svg.chart .marker line { stroke: #8a6d00; stroke-width: 1.5; stroke-dasharray: 3 3; }
svg.chart .marker text { fill: #8a6d00; font-size: 11px; }
svg.chart .series polyline { stroke-width: 2; stroke-linejoin: round; }
svg.chart .legend-item { cursor: pointer; }
svg.chart .legend-item line { stroke-width: 3; }
svg.chart .off { opacity: 0.15; }
.scroll { overflow-x: auto; }
details summary { cursor: pointer; color: var(--accent); font-weight: 500; margin-bottom: 6px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.numbers th, table.numbers td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right; }
table.numbers th:first-child, table.numbers tbody th { text-align: left; }
table.numbers thead th { color: var(--muted); font-weight: 600; font-size: 13px; border-bottom: 2px solid var(--line); }
table.numbers tfoot th, table.numbers tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
table.numbers tr.best td { background: #eef7ee; font-weight: 600; }
table.confusion th { padding: 6px 8px; font-size: 13px; font-weight: 600; }
table.confusion thead th { vertical-align: bottom; text-align: center; max-width: 110px; word-break: break-word; }
table.confusion tbody th { text-align: right; }
table.confusion th.corner { color: var(--muted); font-weight: 500; text-align: left; }
table.confusion td { width: 78px; height: 58px; text-align: center; border: 1px solid #ffffff; }
table.confusion td.diag { outline: 2px solid #1a1a1a; outline-offset: -2px; }
table.confusion td.total { background: #fafbfc; color: var(--muted); border: 1px solid var(--line); }
table.confusion .count { display: block; font-size: 16px; font-weight: 600; }
table.confusion .share { display: block; font-size: 11px; opacity: 0.85; }
.scale { display: flex; align-items: center; gap: 8px; margin-top: 10px; color: var(--muted); font-size: 13px; }
.scale .bar { display: inline-block; width: 220px; height: 12px; border: 1px solid var(--line); border-radius: 2px; }
.mistakes { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 14px; }
figure.mistake { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 6px; background: #fafbfc; }
figure.mistake img { display: block; width: 100%; height: 140px; object-fit: cover; border-radius: 4px; }
.cams { display: grid; grid-template-columns: 1fr 1fr; gap: 4px; margin-top: 4px; }
.cams figure { margin: 0; }
figure.mistake .cams img { height: 70px; object-fit: contain; background: #fff; }
.cams figcaption { font-size: 10px; color: var(--muted); text-align: center; }
.placeholder { display: flex; flex-direction: column; justify-content: center; align-items: center; height: 140px;
  padding: 6px; border-radius: 4px; background: repeating-linear-gradient(45deg, #eceff3, #eceff3 8px, #f6f7f9 8px,
  #f6f7f9 16px); color: var(--muted); font-size: 13px; text-align: center; overflow: hidden; }
.placeholder small { font-size: 10px; word-break: break-all; }
figcaption { margin-top: 6px; font-size: 13px; line-height: 1.35; }
figcaption .truth { font-weight: 600; color: #1b5e20; }
figcaption .pred { font-weight: 600; color: #b71c1c; }
figcaption .prob { color: var(--muted); }
figcaption .file { display: block; color: var(--muted); font-size: 11px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
pre { margin: 0; padding: 14px; background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px;
  overflow-x: auto; white-space: pre; }
footer { padding: 8px 24px 32px; color: var(--muted); font-size: 12px; }
@media print { body { background: #ffffff; } section { break-inside: avoid; border: none; } nav { display: none; } }
)css";

// Clicking a legend entry hides or shows its series. Last statement: the marker the headless test looks for.
const char* const kScript = R"js(
document.querySelectorAll("svg.chart .legend-item").forEach(function (item) {
  item.addEventListener("click", function () {
    var svg = item.closest("svg");
    var series = svg.querySelector('.series[data-series="' + item.dataset.series + '"]');
    if (series) series.classList.toggle("off");
    item.classList.toggle("off");
  });
});
document.body.dataset.ok = "1";
)js";

}  // namespace nn::report
