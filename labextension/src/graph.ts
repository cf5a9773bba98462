/**
 * The pipeline as a Vega-Lite chart: steps placed by the server's `layers` (one row per
 * depth), edges as rules, each step coloured by its status in the current run.
 */
import type { TopLevelSpec } from 'vega-lite';

import { PipelineSummary } from './request';

/** Every status a step can show, in legend order, with its colour. */
export const STEP_STATUSES: [string, string][] = [
  ['pending', '#9e9e9e'],
  ['running', '#1976d2'],
  ['cached', '#8e24aa'],
  ['done', '#388e3c'],
  ['failed', '#d32f2f'],
  ['skipped', '#f9a825'],
  ['interrupted', '#6d4c41']
];

const ROW_HEIGHT = 64;

interface Node {
  name: string;
  x: number;
  y: number;
  status: string;
  detail: string;
}

/** The chart of `summary` with each step coloured by `statuses[step]` (default "pending"). */
export function dagSpec(
  summary: PipelineSummary,
  statuses: Record<string, string>,
  colors: { text: string; edge: string; background: string }
): TopLevelSpec {
  const steps = new Map(summary.steps.map(s => [s.name, s]));
  const nodes: Node[] = [];
  const where = new Map<string, Node>();
  summary.layers.forEach((layer, depth) => {
    layer.forEach((name, i) => {
      const step = steps.get(name);
      const node: Node = {
        name,
        x: (i + 0.5) / layer.length,
        y: depth,
        status: statuses[name] ?? 'pending',
        detail: step
          ? `cells ${step.cells.join(', ')}` +
            (step.outputs.length ? ` → ${step.outputs.join(', ')}` : '')
          : ''
      };
      nodes.push(node);
      where.set(name, node);
    });
  });
  // Each edge is a three-point line: an edge that skips layers bends away from the centre so
  // that it does not run through the steps between its ends.
  const edges = summary.edges
    .filter(e => where.has(e.from) && where.has(e.to))
    .flatMap((e, id) => {
      const a = where.get(e.from)!;
      const b = where.get(e.to)!;
      const carries = `${e.from} → ${e.to}: ${e.names.length ? e.names.join(', ') : '(after: order only)'}`;
      let mx = (a.x + b.x) / 2;
      if (b.y - a.y > 1) {
        const side = mx === 0.5 ? (a.x <= 0.5 ? -1 : 1) : Math.sign(mx - 0.5);
        mx = Math.min(0.97, Math.max(0.03, mx + side * 0.22));
      }
      return [
        { id, order: 0, x: a.x, y: a.y, carries },
        { id, order: 1, x: mx, y: (a.y + b.y) / 2, carries },
        { id, order: 2, x: b.x, y: b.y, carries }
      ];
    });
  const present = STEP_STATUSES.filter(([status]) => nodes.some(n => n.status === status));
  const depth = Math.max(summary.layers.length, 1);
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    scale: { domain: [0, 1] },
    axis: null
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    scale: { domain: [-0.45, depth - 0.45], reverse: true },
    axis: null
  };
  const label = {
    type: 'text' as const,
    dy: 17,
    fontSize: 11,
    baseline: 'top' as const
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    height: depth * ROW_HEIGHT,
    background: 'transparent',
    config: { view: { stroke: null } },
    layer: [
      {
        data: { values: edges },
        mark: { type: 'line', strokeWidth: 1.5, color: colors.edge, interpolate: 'basis' },
        encoding: {
          x,
          y,
          detail: { field: 'id', type: 'nominal' },
          order: { field: 'order', type: 'quantitative' },
          tooltip: [{ field: 'carries', title: 'edge' }]
        }
      },
      {
        data: { values: nodes },
        layer: [
          {
            mark: {
              type: 'point',
              filled: true,
              size: 340,
              opacity: 1,
              stroke: colors.background,
              strokeWidth: 2,
              cursor: 'pointer'
            },
            encoding: {
              x,
              y,
              color: {
                field: 'status',
                type: 'nominal',
                scale: {
                  domain: STEP_STATUSES.map(s => s[0]),
                  range: STEP_STATUSES.map(s => s[1])
                },
                // the legend names only the statuses on show
                legend: {
                  orient: 'bottom',
                  title: null,
                  columns: 4,
                  values: present.map(s => s[0]),
                  labelColor: colors.text,
                  symbolSize: 80
                }
              },
              tooltip: [
                { field: 'name', title: 'step' },
                { field: 'status' },
                { field: 'detail', title: 'cells' }
              ]
            }
          },
          {
            // a halo in the background colour keeps labels readable over edges
            mark: { ...label, stroke: colors.background, strokeWidth: 4, strokeJoin: 'round' },
            encoding: { x, y, text: { field: 'name' } }
          },
          {
            mark: { ...label, color: colors.text },
            encoding: { x, y, text: { field: 'name' } }
          }
        ]
      }
    ]
  };
}
