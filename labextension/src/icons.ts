import { LabIcon } from '@jupyterlab/ui-components';

/** Three connected steps: the sidebar's tab icon. */
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="6" cy="5" r="3"/>
    <circle cx="18" cy="12" r="3"/>
    <circle cx="6" cy="19" r="3"/>
    <path d="M8.2 6.3l7.6 4.4-.9 1.6-7.6-4.4zM7.3 17.1l7.6-4.4.9 1.6-7.6 4.4z"/>
  </g>
</svg>`;

export const pipelineIcon = new LabIcon({ name: 'jupyter-mlops:pipeline', svgstr: svg });

/** A box with a tag: a registered model. */
const modelSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2l9 5v10l-9 5-9-5V7zm0 2.3L5.2 8 12 11.7 18.8 8zM5 9.7v6.1l6 3.4v-6.2zm14 0l-6 3.3v6.2l6-3.4z"/>
  </g>
</svg>`;

export const modelIcon = new LabIcon({ name: 'jupyter-mlops:model', svgstr: modelSvg });

/** Two columns side by side: comparing runs. */
const compareSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 4h8v16H3zm2 2v12h4V6zm8-2h8v16h-8zm2 2v12h4V6z"/>
  </g>
</svg>`;

export const compareIcon = new LabIcon({ name: 'jupyter-mlops:compare', svgstr: compareSvg });
