/**
 * Data: pick a run, a step and one of its DataFrame artifacts → its profile (column types,
 * missing values, histograms) and its drift against the same artifact of another run.
 */
import * as React from 'react';

import { api, DataProfile, DriftReport, errorText } from './request';
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
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);

  // default: the last DataFrame the pipeline produced
  const guess = findArtifact(steps, ['parquet']);
  const stepName = steps.some(s => s.step === step) ? step : (guess?.step ?? steps[0]?.step ?? '');
  const artifacts = steps.find(s => s.step === stepName)?.artifacts ?? {};
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
    setBusy(true);
    setError(null);
    try {
      setProfile(await api.profile(run.runId, stepName, artifactName, path));
    } catch (e) {
      setProfile(null);
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const doDrift = async () => {
    if (!run || !reference || !stepName || !artifactName) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setDrift(
        await api.drift(
          artifactName,
          `${reference.runId}:${stepName}`,
          `${run.runId}:${stepName}`,
          path
        )
      );
    } catch (e) {
      setDrift(null);
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="jp-mlops-data">
      <div className="jp-mlops-form">
        <label className="jp-mlops-field">
          <span>run</span>
          <select
            className="jp-mlops-input"
            data-testid="mlops-data-run"
            value={run?.runId ?? ''}
            onChange={e => {
              setRunId(e.target.value);
              setProfile(null);
              setDrift(null);
            }}
          >
            {runs.length === 0 && <option value="">no tracked runs yet</option>}
            {runs.map(r => (
              <option key={r.runId} value={r.runId}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-mlops-field">
          <span>step</span>
          <select
            className="jp-mlops-input"
            data-testid="mlops-data-step"
            value={stepName}
            onChange={e => {
              setStep(e.target.value);
              setArtifact('');
            }}
          >
            {steps.map(s => (
              <option key={s.step} value={s.step}>
                {s.step}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-mlops-field">
          <span>artifact</span>
          <select
            className="jp-mlops-input"
            data-testid="mlops-data-artifact"
            value={artifactName}
            onChange={e => setArtifact(e.target.value)}
          >
            {Object.entries(artifacts).map(([name, serializer]) => (
              <option key={name} value={name}>
                {name}
                {serializer ? ` (${serializer})` : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="jp-mlops-toolbar">
        <button
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-data-profile-button"
          disabled={busy || !run || !artifactName}
          onClick={() => void doProfile()}
        >
          Profile
        </button>
        <button className="jp-mlops-button" data-testid="mlops-data-reload" onClick={reload}>
          Reload runs
        </button>
      </div>
      {(error || runsError) && (
        <div className="jp-mlops-error" data-testid="mlops-data-error">
          {error ?? runsError}
        </div>
      )}
      {profile && <ProfileView profile={profile} />}

      <details className="jp-mlops-section" open>
        <summary>Drift</summary>
        <div className="jp-mlops-form">
          <label className="jp-mlops-field" title="the run whose data is the reference">
            <span>against</span>
            <select
              className="jp-mlops-input"
              data-testid="mlops-drift-reference"
              value={reference?.runId ?? ''}
              onChange={e => setReferenceId(e.target.value)}
            >
              {others.length === 0 && <option value="">needs a second run</option>}
              {others.map(r => (
                <option key={r.runId} value={r.runId}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="jp-mlops-toolbar">
          <button
            className="jp-mlops-button"
            data-testid="mlops-data-drift-button"
            disabled={busy || !reference || !artifactName}
            onClick={() => void doDrift()}
          >
            Drift
          </button>
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
