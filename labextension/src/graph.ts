/**
 * The pipeline as a Vega-Lite chart: steps placed by dagre's layered layout (few crossings,
 * legible at 30 steps), edges as dagre's routed lines, each step coloured by its status in the
 * current run.
 */
import dagre from '@dagrejs/dagre';
import type { TopLevelSpec } from 'vega-lite';

import { PipelineSummary } from './request';
import { ChartColors } from './theme';

/** Every status a step can show, in legend order. */
export const STEP_STATUSES = [
  'pending',
  'running',
  'cached',
  'done',
  'failed',
  'skipped',
  'cancelled',
  'interrupted'
];

/** The schema every spec of the sidebar names: that of the vega-lite it ships. */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

const NODE_HEIGHT = 34; // the dot and its label under it
const CHAR_WIDTH = 6.5; // of an 11 px label

interface Node {
  name: string;
  x: number;
  y: number;
  status: string;
  detail: string;
}

/** Where dagre puts each step and routes each edge (pixels, y downwards). */
export function layout(summary: PipelineSummary): {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number }>;
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
} {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 16, ranksep: 26, marginx: 8, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const step of summary.steps) {
    g.setNode(step.name, {
      width: Math.max(24, step.name.length * CHAR_WIDTH + 8),
      height: NODE_HEIGHT
    });
  }
  const known = new Set(summary.steps.map(s => s.name));
  const edges = summary.edges.filter(e => known.has(e.from) && known.has(e.to));
  for (const e of edges) {
    g.setEdge(e.from, e.to);
  }
  dagre.layout(g);
  const nodes = new Map<string, { x: number; y: number }>();
  for (const name of g.nodes()) {
    const n = g.node(name);
    nodes.set(name, { x: n.x, y: n.y });
  }
  const graph = g.graph();
  return {
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    nodes,
    edges: edges.map(e => ({
      from: e.from,
      to: e.to,
      points: (g.edge(e.from, e.to)?.points ?? []).map((p: { x: number; y: number }) => ({
        x: p.x,
        y: p.y
      }))
    }))
  };
}

/**
 * The chart of `summary` with each step coloured by `statuses[step]` (default "pending"), in
 * the theme's `colors` (labels in its text colour over a halo of its background).
 */
export function dagSpec(
  summary: PipelineSummary,
  statuses: Record<string, string>,
  colors: Pick<ChartColors, 'text' | 'edge' | 'background' | 'status'>
): TopLevelSpec {
  const steps = new Map(summary.steps.map(s => [s.name, s]));
  const placed = layout(summary);
  // the dot sits in the upper part of the node's box, its label under it
  const nodes: Node[] = [...placed.nodes].map(([name, p]) => {
    const step = steps.get(name);
    return {
      name,
      x: p.x,
      y: p.y - NODE_HEIGHT / 2 + 9,
      status: statuses[name] ?? 'pending',
      detail: step
        ? `cells ${step.cells.join(', ')}` +
          (step.outputs.length ? ` → ${step.outputs.join(', ')}` : '')
        : ''
    };
  });
  const dots = new Map(nodes.map(n => [n.name, n]));
  const byName = new Map(summary.edges.map(e => [`${e.from}\u0000${e.to}`, e]));
  const edges = placed.edges.flatMap((e, id) => {
    const names = byName.get(`${e.from}\u0000${e.to}`)?.names ?? [];
    const carries = `${e.from} → ${e.to}: ${names.length ? names.join(', ') : '(after: order only)'}`;
    // dagre ends an edge at the border of a node's box; ours run from dot to dot, through
    // dagre's bends (which keep them off the steps they pass)
    const a = dots.get(e.from)!;
    const b = dots.get(e.to)!;
    const points = [{ x: a.x, y: a.y }, ...e.points.slice(1, -1), { x: b.x, y: b.y }];
    return points.map((p, order) => ({ id, order, x: p.x, y: p.y, carries }));
  });
  const present = STEP_STATUSES.filter(status => nodes.some(n => n.status === status));
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    scale: { domain: [0, Math.max(placed.width, 1)], nice: false, zero: false },
    axis: null
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    scale: { domain: [0, Math.max(placed.height, 1)], reverse: true, nice: false, zero: false },
    axis: null
  };
  const label = {
    type: 'text' as const,
    dy: 17,
    fontSize: 11,
    baseline: 'top' as const
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    height: placed.height,
    // never narrower than the layout needs: a wide graph is drawn smaller (CSS), not squeezed
    usermeta: { minWidth: placed.width },
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
                  domain: STEP_STATUSES,
                  range: STEP_STATUSES.map(s => colors.status[s] || colors.edge)
                },
                // the legend names only the statuses on show
                legend: {
                  orient: 'bottom',
                  title: null,
                  columns: 4,
                  values: present,
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
