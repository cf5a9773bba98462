/**
 * Colours come from JupyterLab's theme (its CSS variables) and nowhere else, so the light and
 * the dark theme both read well. Charts cannot use CSS variables, so they read the values the
 * theme gives them now, and are drawn again when the theme changes (hooks/useTheme).
 */

/** Every status a run or step can show, in legend order, with the theme variable of its colour. */
export const STATUS_COLORS: [string, string][] = [
  ['pending', '--jp-layout-color4'],
  ['running', '--jp-brand-color1'],
  ['cached', '--jp-info-color1'],
  ['done', '--jp-success-color1'],
  ['succeeded', '--jp-success-color1'],
  ['finished', '--jp-success-color1'],
  ['failed', '--jp-error-color1'],
  ['skipped', '--jp-warn-color2'],
  ['cancelled', '--jp-warn-color1'],
  ['interrupted', '--jp-warn-color0'],
  ['killed', '--jp-warn-color0']
];

/** The value of a theme variable now ('' when the page has no theme, e.g. in unit tests). */
export function cssVariable(name: string): string {
  if (typeof document === 'undefined') {
    return '';
  }
  return getComputedStyle(document.body).getPropertyValue(name).trim();
}

/** What a chart needs from the theme, read once per drawing. */
export interface ChartColors {
  text: string;
  muted: string;
  grid: string;
  background: string;
  edge: string;
  font: string;
  /** a categorical palette for series (one colour per run) */
  series: string[];
  /** status → colour */
  status: Record<string, string>;
  /** a sequential ramp for values (a sweep's metric): faint to strong, readable in both themes */
  ramp: string[];
}

export function chartColors(read: (name: string) => string = cssVariable): ChartColors {
  const status: Record<string, string> = {};
  for (const [name, variable] of STATUS_COLORS) {
    status[name] = read(variable);
  }
  return {
    text: read('--jp-ui-font-color1'),
    muted: read('--jp-ui-font-color2'),
    grid: read('--jp-border-color2'),
    background: read('--jp-layout-color1'),
    edge: read('--jp-border-color1'),
    font: read('--jp-ui-font-family'),
    series: [
      '--jp-brand-color1',
      '--jp-warn-color1',
      '--jp-success-color1',
      '--jp-error-color1',
      '--jp-info-color1',
      '--jp-brand-color2',
      '--jp-warn-color2',
      '--jp-success-color2'
    ].map(read),
    status,
    ramp: [read('--jp-border-color1'), read('--jp-brand-color1')]
  };
}

/** vega-embed's `config` for a chart in the theme's colours, on a transparent background. */
export function vegaConfig(colors: ChartColors): Record<string, unknown> {
  return {
    background: 'transparent',
    font: colors.font || undefined,
    title: { color: colors.text, fontSize: 12 },
    axis: {
      labelColor: colors.muted,
      titleColor: colors.text,
      gridColor: colors.grid,
      domainColor: colors.grid,
      tickColor: colors.grid
    },
    legend: { labelColor: colors.text, titleColor: colors.text },
    header: { labelColor: colors.text, titleColor: colors.text },
    text: { color: colors.text },
    view: { stroke: null },
    range: {
      category: colors.series.filter(Boolean),
      ...(colors.ramp.every(Boolean) ? { ramp: colors.ramp } : {})
    }
  };
}
