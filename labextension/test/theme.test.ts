import { describe, expect, it } from 'vitest';

import { dagSpec } from '../src/graph';
import { PipelineSummary } from '../src/request';
import { chartColors, STATUS_COLORS, vegaConfig } from '../src/theme';

const LIGHT: Record<string, string> = {
  '--jp-ui-font-color1': 'rgba(0,0,0,.87)',
  '--jp-layout-color1': 'white',
  '--jp-success-color1': '#388e3c'
};
const DARK: Record<string, string> = {
  '--jp-ui-font-color1': 'rgba(255,255,255,.87)',
  '--jp-layout-color1': '#212121',
  '--jp-success-color1': '#4caf50'
};

const summary: PipelineSummary = {
  ok: true,
  pipeline: 'p',
  parameters: {},
  steps: [
    {
      name: 'load',
      cells: [1],
      upstream: [],
      inputs: [],
      outputs: ['df'],
      params: [],
      metrics: []
    },
    {
      name: 'train',
      cells: [2],
      upstream: ['load'],
      inputs: [{ name: 'df', producer: 'load' }],
      outputs: [],
      params: [],
      metrics: []
    }
  ],
  edges: [{ from: 'load', to: 'train', names: ['df'] }],
  layers: [['load'], ['train']]
};

describe('colours come from the theme', () => {
  it('takes every status colour from a JupyterLab variable', () => {
    for (const [, variable] of STATUS_COLORS) {
      expect(variable).toMatch(/^--jp-[a-z0-9-]+$/);
    }
  });
  it('draws the graph labels and their halo in the theme of the moment', () => {
    for (const theme of [LIGHT, DARK]) {
      const colors = chartColors(name => theme[name] ?? '');
      const spec = JSON.stringify(dagSpec(summary, { load: 'done' }, colors));
      expect(spec).toContain(`"stroke":"${theme['--jp-layout-color1']}"`); // the halo
      expect(spec).toContain(`"color":"${theme['--jp-ui-font-color1']}"`); // the labels
      expect(spec).toContain(theme['--jp-success-color1']); // done
    }
  });
  it('gives legends and axes the theme text colour', () => {
    const config = vegaConfig(chartColors(name => DARK[name] ?? '')) as any;
    expect(config.legend.labelColor).toBe(DARK['--jp-ui-font-color1']);
    expect(config.axis.titleColor).toBe(DARK['--jp-ui-font-color1']);
    expect(config.background).toBe('transparent');
  });
});
