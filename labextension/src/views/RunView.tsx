/**
 * A run in the sidebar: its name (its id one click away), its status, each of its own steps
 * with status, duration and a link to its executed notebook, a failure's cell (and a way to
 * debug the failed step in the notebook), its metrics.
 */
import * as React from 'react';

import { RunName } from '../components/RunName';
import { StatusBadge } from '../components/StatusBadge';
import { durationText, numberText } from '../format';
import { runSteps } from '../notebookState';
import { RunStatus } from '../request';

export function RunView(props: {
  run: RunStatus;
  /** the pipeline's steps now, for their order: the run lists only its own steps */
  pipelineSteps: string[] | null;
  onOpen: (step: string) => void;
  onCell: (cell: number) => void;
  /** what a failed step offers besides its error: the "debug in this notebook" button */
  debug?: (step: string) => React.ReactNode;
}): JSX.Element {
  const { run, pipelineSteps, onOpen, onCell, debug } = props;
  const rows = runSteps(run.steps, pipelineSteps);
  return (
    <div className="jp-mlops-section" data-testid="mlops-run-view" data-run-id={run.run_id}>
      <div className="jp-mlops-row">
        <RunName run={{ run_id: run.run_id, name: run.name }} testId="mlops-run-name" />
        <StatusBadge status={run.status} testId="mlops-run-status" />
      </div>
      <table className="jp-mlops-table jp-mlops-fit" aria-label="the steps of the run">
        <tbody>
          {rows.map(step => (
            <tr key={step.name} data-testid={`mlops-step-${step.name}`} data-status={step.status}>
              <td className="jp-mlops-clip" title={step.name}>
                {step.name}
              </td>
              <td>
                <StatusBadge status={step.status} />
              </td>
              <td className="jp-mlops-num jp-mlops-wide-only">
                {step.status === 'cached' ? '' : durationText(step.duration)}
              </td>
              <td>
                {step.notebook && (
                  <a
                    href="#"
                    data-testid={`mlops-step-open-${step.name}`}
                    title={`Open the executed notebook of ${step.name} (read-only)`}
                    aria-label={`open the executed notebook of ${step.name}`}
                    onClick={e => {
                      e.preventDefault();
                      onOpen(step.name);
                    }}
                  >
                    open
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows
        .filter(s => s.status === 'failed' && s.error)
        .map(s => {
          const cell = typeof s.error === 'object' ? s.error?.cell : undefined;
          return (
            <React.Fragment key={s.name}>
              <div className="jp-mlops-error" data-testid={`mlops-step-error-${s.name}`}>
                {s.name}:{' '}
                {typeof cell === 'number' ? (
                  <a
                    href="#"
                    data-testid={`mlops-step-error-cell-${s.name}`}
                    title={`Show cell ${cell} of the notebook`}
                    onClick={e => {
                      e.preventDefault();
                      onCell(cell);
                    }}
                  >
                    cell {cell}
                  </a>
                ) : null}
                {typeof cell === 'number' ? ': ' : ''}
                {typeof s.error === 'string' ? s.error : (s.error?.message ?? '')}
              </div>
              {debug?.(s.name)}
            </React.Fragment>
          );
        })}
      {run.metrics && Object.keys(run.metrics).length > 0 && (
        <div className="jp-mlops-metrics" data-testid="mlops-run-metrics">
          {Object.entries(run.metrics).map(([k, v]) => (
            <span key={k} className="jp-mlops-chip">
              {k} = {numberText(v)}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}
