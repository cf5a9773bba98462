/**
 * Data: pick a run, a step and one of its DataFrame artifacts → its profile (column types,
 * missing values, histograms) and its drift against the same artifact of another run.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  artifactsOf,
  ErrorLine,
  Field,
  RunSelect,
  StepArtifactFields,
  useAction
} from './components';
import { api, DataProfile, DriftReport } from './request';
import { findArtifact, PipelineRun, usePipelineRuns, useRunArtifacts } from './runs';
import { useMlops } from './state';
import { VegaChart } from './VegaChart';

export function DataPanel(): JSX.Element {
  const path = useMlops().notebook?.context.path;
  const { runs, error: runsError, reload } = usePipelineRuns();
  const [runId, setRunId] = React.useState('');
  const run: PipelineRun | undefined = runs.find(r => r.runId === runId) ?? runs[0];
  const { steps } = useRunArtifacts(run);
  const [step, setStep] = React.useState('');
  const [artifact, setArtifact] = React.useState('');
  const [referenceId, setReferenceId] = React.useState('');
  const [profile, setProfile] = React.useState<DataProfile | null>(null);
  const [drift, setDrift] = React.useState<DriftReport | null>(null);
  const { busy, error, act } = useAction();

  // default: the last DataFrame the pipeline produced
  const guess = findArtifact(steps, ['parquet']);
  const stepName = steps.some(s => s.step === step) ? step : (guess?.step ?? steps[0]?.step ?? '');
  const artifacts = artifactsOf(steps, stepName);
  const artifactName =
    artifact in artifacts
      ? artifact
      : (Object.keys(artifacts).find(a => artifacts[a] === 'parquet') ??
        Object.keys(artifacts)[0] ??
        '');
  const others = runs.filter(r => r.runId !== run?.runId);
  const reference = others.find(r => r.runId === referenceId) ?? others[0];

  const doProfile = async () => {
    if (!run || !stepName || !artifactName) {
      return;
    }
    await act(
      async () => setProfile(await api.profile(run.runId, stepName, artifactName, path)),
      () => setProfile(null)
    );
  };

  const doDrift = async () => {
    if (!run || !reference || !stepName || !artifactName) {
      return;
    }
    await act(
      async () =>
        setDrift(
          await api.drift(
            artifactName,
            `${reference.runId}:${stepName}`,
            `${run.runId}:${stepName}`,
            path
          )
        ),
      () => setDrift(null)
    );
  };

  return (
    <div className="jp-mlops-data">
      <div className="jp-mlops-form">
        <Field label="run">
          <RunSelect
            testId="mlops-data-run"
            runs={runs}
            value={run?.runId ?? ''}
            empty="no tracked runs yet"
            onChange={value => {
              setRunId(value);
              setProfile(null);
              setDrift(null);
            }}
          />
        </Field>
        <StepArtifactFields
          testId="mlops-data"
          steps={steps}
          step={stepName}
          artifact={artifactName}
          onStep={setStep}
          onArtifact={setArtifact}
        />
      </div>
      <div className="jp-mlops-toolbar">
        <Button small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-data-profile-button"
          disabled={busy || !run || !artifactName}
          onClick={() => void doProfile()}
        >
          Profile
        </Button>
        <Button small className="jp-mlops-button" data-testid="mlops-data-reload" onClick={reload}>
          Reload runs
        </Button>
      </div>
      <ErrorLine error={error || runsError} testId="mlops-data-error" />
      {profile && <ProfileView profile={profile} />}

      <details className="jp-mlops-section" open>
        <summary>Drift</summary>
        <div className="jp-mlops-form">
          <Field label="against" title="the run whose data is the reference">
            <RunSelect
              testId="mlops-drift-reference"
              runs={others}
              value={reference?.runId ?? ''}
              empty="needs a second run"
              onChange={setReferenceId}
            />
          </Field>
        </div>
        <div className="jp-mlops-toolbar">
          <Button small
            className="jp-mlops-button"
            data-testid="mlops-data-drift-button"
            disabled={busy || !reference || !artifactName}
            onClick={() => void doDrift()}
          >
            Drift
          </Button>
        </div>
        {drift && <DriftView drift={drift} />}
      </details>
    </div>
  );
}

function ProfileView({ profile }: { profile: DataProfile }): JSX.Element {
  const number = (v: unknown): string =>
    typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toPrecision(3)
      : v === null || v === undefined
        ? ''
        : String(v);
  return (
    <div className="jp-mlops-section" data-testid="mlops-data-profile">
      <div className="jp-mlops-muted">
        {profile.rows} rows × {profile.columns.length} columns
      </div>
      <div className="jp-mlops-scroll">
        <table className="jp-mlops-table">
          <thead>
            <tr>
              <th>column</th>
              <th>type</th>
              <th>missing</th>
              <th>mean</th>
              <th>std</th>
              <th>min</th>
              <th>max</th>
            </tr>
          </thead>
          <tbody>
            {profile.columns.map(c => (
              <tr key={c.name} data-testid="mlops-profile-column" data-column={c.name}>
                <td className="jp-mlops-clip" title={c.name}>
                  {c.name}
                </td>
                <td>
                  <code>{c.dtype}</code>
                </td>
                <td className={`jp-mlops-num${c.missing > 0 ? ' jp-mlops-warn' : ''}`}>
                  {c.missing}
                </td>
                <td className="jp-mlops-num">{number(c.mean)}</td>
                <td className="jp-mlops-num">{number(c.std)}</td>
                <td className="jp-mlops-num">{number(c.min ?? c.top)}</td>
                <td className="jp-mlops-num">{number(c.max)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {profile.charts.map((spec, i) => (
        <VegaChart key={i} spec={spec} testId={`mlops-profile-chart-${i}`} />
      ))}
    </div>
  );
}

function DriftView({ drift }: { drift: DriftReport }): JSX.Element {
  const number = (v: number | null) => (typeof v === 'number' ? v.toPrecision(3) : '');
  return (
    <div data-testid="mlops-data-drift" data-drifted={String(drift.drifted)}>
      <div className={drift.drifted ? 'jp-mlops-error' : 'jp-mlops-note'}>
        {drift.drifted
          ? `drift in ${drift.features.filter(f => f.drifted).length} of ${drift.features.length} features`
          : `no drift in ${drift.features.length} features`}
      </div>
      <VegaChart spec={drift.chart} testId="mlops-drift-chart" />
      <div className="jp-mlops-scroll">
        <table className="jp-mlops-table">
          <thead>
            <tr>
              <th>feature</th>
              <th>test</th>
              <th>p</th>
              <th>PSI</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {drift.features.map(f => (
              <tr key={f.name} className={f.drifted ? 'jp-mlops-differs' : ''}>
                <td>{f.name}</td>
                <td>{f.test}</td>
                <td className="jp-mlops-num">{number(f.p_value)}</td>
                <td className="jp-mlops-num">{number(f.psi)}</td>
                <td>{f.drifted ? 'drifted' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
