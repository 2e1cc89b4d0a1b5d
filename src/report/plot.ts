import { writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';

/** Renders a vega-lite spec server-side to SVG, and to PNG next to it (for viewers without SVG). */
export async function renderVegaLite(spec: TopLevelSpec, svgPath: string): Promise<{ svg: string; png: string }> {
  // loaded here, not with the module: vega and vega-lite take ~0.4 s to load, and every CLI
  // command imports modules that can plot
  const [vega, { compile }, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(svgPath, svg);
  const png = svgPath.replace(/\.svg$/, '.png');
  const r = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } });
  writeFileSync(png, r.render().asPng());
  return { svg: svgPath, png };
}

export interface ScatterPoint {
  x: number;
  y: number;
  series: string;
}

/** log-log scatter, one colour per series */
export function logScatter(points: ScatterPoint[], o: { title: string; x: string; y: string }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: 520,
    height: 360,
    background: 'white',
    data: { values: points },
    mark: { type: 'point', filled: true, opacity: 0.6, size: 28 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.x, scale: { type: 'log' } },
      y: { field: 'y', type: 'quantitative', title: o.y, scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: 'device' },
    },
  };
}

export interface ExitRatePoint {
  /** request index at the start of the window */
  request: number;
  /** where requests in the window were answered: a cache name, 'backbone' or 'audit (backbone)' */
  exit: string;
  share: number;
  stream: string;
}

/** Stacked area of where requests were answered over the stream, one panel per stream. */
export function exitRateChart(points: ExitRatePoint[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    data: { values: points },
    facet: { row: { field: 'stream', type: 'nominal', title: null } },
    // each stream has its own caches: separate colour scales and legends per row
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    spec: {
      width: 560,
      height: 170,
      mark: { type: 'area', interpolate: 'step-after' },
      encoding: {
        x: { field: 'request', type: 'quantitative', title: 'request' },
        y: { field: 'share', type: 'quantitative', stack: 'normalize', title: 'share of requests', axis: { format: '%' } },
        color: { field: 'exit', type: 'nominal', title: 'answered by', scale: { scheme: 'tableau10' }, legend: { labelLimit: 400 } },
        order: { field: 'exit', type: 'nominal' },
      },
    },
  } as TopLevelSpec;
}

export interface HeatCell {
  row: string;
  col: string;
  value: number;
}

/** square heatmap with the value printed in each cell (rows and columns in the given order) */
export function heatmap(cells: HeatCell[], order: string[], o: { title: string; value: string; domain?: [number, number] }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    background: 'white',
    width: Math.max(240, order.length * 22),
    height: Math.max(240, order.length * 22),
    data: { values: cells },
    encoding: {
      x: { field: 'col', type: 'nominal', sort: order, title: null, axis: { labelAngle: -60 } },
      y: { field: 'row', type: 'nominal', sort: order, title: null },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', title: o.value, scale: { scheme: 'viridis', ...(o.domain ? { domain: o.domain } : {}) } } } },
      {
        mark: { type: 'text', fontSize: 7 },
        encoding: { text: { field: 'value', type: 'quantitative', format: '.2f' }, color: { condition: { test: `datum.value < ${o.domain ? (o.domain[0] + o.domain[1]) / 2 : 0.5}`, value: 'white' }, value: 'black' } },
      },
    ],
  } as TopLevelSpec;
}
