/**
 * report.html: the month as a picture a data scientist can open. One self-contained file (inline CSS and
 * SVG drawn here, no script, no network): the error per day, each feature's drift score per day against
 * its noise level, and reference-against-month histograms per feature (docs/batch.md, "report.html").
 */
import type { FeatureHistogram } from './month-stats.js';
import type { ScoreSummary } from './summary.js';

const W = 720;
const H = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

interface Series {
  readonly name: string;
  readonly values: readonly (number | null)[];
  readonly className: string;
  readonly kind: 'bars' | 'line' | 'dashed' | 'step';
}

/** One SVG chart over `labels` (x) with bar, line or step series sharing a y axis from 0. */
function chart(id: string, title: string, labels: readonly string[], series: readonly Series[], marks: readonly boolean[] = []): string {
  const finite = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const top = Math.max(1e-9, ...finite) * 1.08;
  const n = Math.max(labels.length, 1);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const step = iw / n;
  const x = (i: number) => PAD.left + step * (i + 0.5);
  const y = (v: number) => PAD.top + ih - (Math.max(0, v) / top) * ih;
  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = (top / 4) * t;
    parts.push(`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
    parts.push(
      `<text class="tick" x="${PAD.left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${v < 10 ? v.toFixed(2) : v.toFixed(0)}</text>`,
    );
  }
  const every = Math.ceil(n / 16);
  labels.forEach((label, i) => {
    if (i % every === 0) parts.push(`<text class="tick" x="${x(i).toFixed(1)}" y="${H - 8}" text-anchor="middle">${esc(label)}</text>`);
  });
  marks.forEach((marked, i) => {
    if (marked)
      parts.push(
        `<rect class="mark" x="${(x(i) - step / 2).toFixed(1)}" y="${PAD.top}" width="${step.toFixed(2)}" height="${ih}"><title>${esc(labels[i])}: drifted</title></rect>`,
      );
  });
  for (const s of series) {
    if (s.kind === 'bars') {
      const bw = Math.max(1, step * 0.7);
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        parts.push(
          `<rect class="${s.className}" x="${(x(i) - bw / 2).toFixed(1)}" y="${y(v).toFixed(1)}" width="${bw.toFixed(2)}" height="${(PAD.top + ih - y(v)).toFixed(1)}"><title>${esc(labels[i])}: ${fmt(v)}</title></rect>`,
        );
      });
    } else {
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) {
          pen = false;
          return;
        }
        if (s.kind === 'step')
          d += `${pen ? 'L' : 'M'}${(x(i) - step / 2).toFixed(1)},${y(v).toFixed(1)}L${(x(i) + step / 2).toFixed(1)},${y(v).toFixed(1)}`;
        else d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      if (d)
        parts.push(`<path class="${s.className}${s.kind === 'dashed' ? ' dashed' : ''}" d="${d}"><title>${esc(s.name)}</title></path>`);
    }
  }
  const legend = series.map((s) => `<span class="key ${s.className}"></span>${esc(s.name)}`).join(' ');
  return `<figure><figcaption>${esc(title)}<span class="legend">${legend}</span></figcaption><svg class="chart" data-chart="${esc(id)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg></figure>`;
}

function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function qualityCharts(s: ScoreSummary): string {
  const days = s.quality.by_day;
  const labels = days.map((d) => d.date.slice(5));
  return [
    chart('rmse-by-day', 'RMSE and MAE per pickup day (minutes)', labels, [
      { name: 'RMSE', values: days.map((d) => d.rmse), className: 's1', kind: 'bars' },
      { name: 'MAE', values: days.map((d) => d.mae), className: 's2', kind: 'line' },
    ]),
    chart('trips-by-day', 'Trips scored per pickup day', labels, [
      { name: 'trips', values: days.map((d) => d.rows), className: 's3', kind: 'bars' },
    ]),
  ].join('\n');
}

function driftCharts(s: ScoreSummary): string {
  const days = s.quality.by_day;
  if (s.drift.reference === null)
    return '<p class="note">This model version has no drift reference (versions before 4): no drift is computed.</p>';
  const labels = days.map((d) => d.date.slice(5));
  return s.drift.features
    .map((f) => {
      const per = days.map((d) => d.drift?.find((x) => x.feature === f.feature));
      return chart(
        `drift-${f.feature}`,
        `${f.feature}: ${f.method} score per day, against its noise level`,
        labels,
        [
          { name: 'score', values: per.map((x) => x?.score ?? null), className: 's1', kind: 'line' },
          { name: 'noise level (99th percentile)', values: per.map((x) => x?.threshold ?? null), className: 's2', kind: 'dashed' },
          { name: 'min effect', values: per.map((x) => (x ? x.min_effect : null)), className: 's4', kind: 'dashed' },
        ],
        per.map((x) => x?.drifted === true),
      );
    })
    .join('\n');
}

function histogramCharts(histograms: readonly FeatureHistogram[]): string {
  return histograms
    .map((h) => {
      const kind = h.labels.length > 40 ? 'step' : 'bars';
      return chart(`histogram-${h.feature}`, `${h.feature}: share of trips per bin, training reference against this month`, h.labels, [
        { name: 'reference', values: shares(h.reference), className: 's2', kind: 'step' },
        { name: 'this month', values: shares(h.month), className: 's1', kind },
      ]);
    })
    .join('\n');
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function renderReport(s: ScoreSummary, histograms: readonly FeatureHistogram[]): string {
  const q = s.quality.overall;
  const title = `${s.input.taxi_type} taxi trips ${s.input.month}, scored by ${s.model.version}`;
  const dropped = Object.entries(s.rows.dropped).map(([reason, n]) => [reason, n.toLocaleString('en-US')]);
  const drift = s.drift.features.map((f) => [
    f.feature,
    f.method,
    fmt(f.score),
    fmt(f.threshold),
    f.drifted ? 'yes' : 'no',
    f.evidently_drifted ? 'yes' : 'no',
    String(s.drift.days_drifted[f.feature] ?? 0),
  ]);
  const interval =
    q.below_p10 === undefined
      ? ''
      : ` · outside the 80 % interval: ${fmt((q.below_p10 ?? 0) * 100, 1)} % below p10, ${fmt((q.above_p90 ?? 0) * 100, 1)} % above p90`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 760px; color: #1d2330; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #dde; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 2px 10px; border-bottom: 1px solid #eef; text-align: left; }
figure { margin: 12px 0 20px; } figcaption { font-weight: 600; margin-bottom: 4px; }
.legend { font-weight: 400; margin-left: 12px; color: #555; } .key { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; }
svg.chart { width: 100%; height: auto; background: #fbfbfe; }
.grid { stroke: #e4e6ef; } .tick { font-size: 10px; fill: #667; }
rect.s1, .key.s1 { fill: #3b6fd8; background: #3b6fd8; } path.s1 { stroke: #3b6fd8; fill: none; stroke-width: 1.6; }
rect.s2, .key.s2 { fill: #e08a2b; background: #e08a2b; } path.s2 { stroke: #e08a2b; fill: none; stroke-width: 1.4; }
rect.s3, .key.s3 { fill: #7d8aa6; background: #7d8aa6; } .key.s4 { background: #999; } path.s4 { stroke: #999; fill: none; }
path.dashed { stroke-dasharray: 5 3; } rect.mark { fill: #f4c7c3; opacity: 0.6; }
.note { color: #555; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p>${esc(s.input.source)} · ${s.rows.read.toLocaleString('en-US')} rows read, ${s.rows.kept.toLocaleString('en-US')} scored · model <code>${esc(s.model.uri)}</code>${s.model.stale ? ' (stale: the registry could not be reached, cached copy)' : ''}</p>
<h2>Quality</h2>
<p>RMSE ${fmt(q.rmse)} min · MAE ${fmt(q.mae)} min · mean error (actual − predicted) ${fmt(q.mean_error)} min${interval}</p>
${qualityCharts(s)}
<h2>Drift against the training reference</h2>
<p class="note">${esc(s.drift.reference ?? 'no reference')}. A feature drifts when its score is above the noise level of a sample of its size and at least the minimum effect (docs/drift.md); shaded days drifted.</p>
${table(['feature', 'method', 'month score', 'noise level', 'drifted', 'score ≥ 0.1 (Evidently)', 'days drifted'], drift)}
${driftCharts(s)}
<h2>Reference against this month</h2>
${histogramCharts(histograms)}
<h2>Rows</h2>
${table(['dropped because', 'rows'], dropped)}
<p class="note">Scored in ${fmt(s.performance.seconds, 1)} s (${s.performance.rows_per_second.toLocaleString('en-US')} rows/s, ${s.performance.threads} thread(s)), peak memory ${s.performance.peak_rss_mb} MB · ${esc(s.created_at)}</p>
</body>
</html>
`;
}
