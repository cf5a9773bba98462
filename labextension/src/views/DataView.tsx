/**
 * Data, in the main area: pick one of the current notebook's runs, a step and one of its
 * DataFrame artifacts → its profile (column types, missing values, a chart per column) and its
 * drift against the same artifact of another run, both at full width.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Field } from '../components/Form';
import { ErrorLine } from '../components/Lines';
import { Progress } from '../components/Progress';
import { RunSelect, StepArtifactFields } from '../components/RunPickers';
import { ScrollBox } from '../components/ScrollBox';
import { VegaChart } from '../components/VegaChart';
import { numberText } from '../format';
import { useAction } from '../hooks/useLoad';
import { useModel } from '../hooks/useModel';
import { usePastRuns, useRunArtifacts } from '../hooks/useRuns';
import { MlopsModel } from '../model';
import { api, DataProfile, DriftReport } from '../request';
import { artifactsOf, findArtifact } from '../runs';

export function DataView(props: { model: MlopsModel; initialRun?: string }): JSX.Element {
  const model = useModel(props.model);
  const path = model.notebookPath ?? undefined;
  const { runs, error: runsError, reload } = usePastRuns(path, model.runsVersion);
  const [runId, setRunId] = React.useState(props.initialRun ?? '');
  const run = runs.find(r => r.run_id === runId) ?? runs[0];
  const { steps } = useRunArtifacts(run?.run_id, path);
  const [step, setStep] = React.useState('');
  const [artifact, setArtifact] = React.useState('');
  const [referenceId, setReferenceId] = React.useState('');
  const [profile, setProfile] = React.useState<DataProfile | null>(null);
  const [drift, setDrift] = React.useState<DriftReport | null>(null);
  const action = useAction();

  // default: the last table the pipeline produced
  const guess = findArtifact(steps, 'table');
  const stepName = steps.some(s => s.step === step) ? step : (guess?.step ?? steps[0]?.step ?? '');
  const artifacts = artifactsOf(steps, stepName);
  const artifactName =
    artifact in artifacts
      ? artifact
      : (Object.keys(artifacts).find(a => artifacts[a].kind === 'table') ??
        Object.keys(artifacts)[0] ??
        '');
  const others = runs.filter(r => r.run_id !== run?.run_id);
  const reference = others.find(r => r.run_id === referenceId) ?? others[0];

  const doProfile = () =>
    run &&
    action.act(
      `profiling ${artifactName} of ${stepName} in ${run.name}…`,
      async () => setProfile(await api.profile(run.run_id, stepName, artifactName, path)),
      () => setProfile(null)
    );
  const doDrift = () =>
    run &&
    reference &&
    action.act(
      `comparing ${artifactName} of ${run.name} with ${reference.name}…`,
      async () =>
        setDrift(
          await api.drift(
            artifactName,
            `${reference.run_id}:${stepName}`,
            `${run.run_id}:${stepName}`,
            path
          )
        ),
      () => setDrift(null)
    );

  return (
    <div className="jp-mlops-view jp-mlops-data" data-testid="mlops-data-view">
      {path && <p className="jp-mlops-muted">The runs of {path}.</p>}
      <div className="jp-mlops-form jp-mlops-form-wide">
        <Field label="run">
          <RunSelect
            testId="mlops-data-run"
            label="run"
            runs={runs}
            value={run?.run_id ?? ''}
            empty="no runs yet"
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
        <Field label="drift against" title="the run whose data is the reference">
          <RunSelect
            testId="mlops-drift-reference"
            label="drift against"
            runs={others}
            value={reference?.run_id ?? ''}
            empty="needs a second run"
            onChange={setReferenceId}
          />
        </Field>
      </div>
      <div className="jp-mlops-toolbar">
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-data-profile-button"
          disabled={action.busy !== null || !run || !artifactName}
          onClick={() => void doProfile()}
        >
          Profile
        </Button>
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-data-drift-button"
          disabled={action.busy !== null || !reference || !artifactName}
          onClick={() => void doDrift()}
        >
          Drift
        </Button>
        <Button small className="jp-mlops-button" data-testid="mlops-data-reload" onClick={reload}>
          Reload runs
        </Button>
      </div>
      <Progress doing={action.busy} since={action.since} testId="mlops-data-progress" />
      <ErrorLine error={action.error || runsError} testId="mlops-data-error" />
      {drift && <DriftView drift={drift} />}
      {profile && <ProfileView profile={profile} />}
    </div>
  );
}

function ProfileView({ profile }: { profile: DataProfile }): JSX.Element {
  return (
    <section className="jp-mlops-section" data-testid="mlops-data-profile" aria-label="profile">
      <h2 className="jp-mlops-heading">
        Profile: {profile.rows} rows × {profile.columns.length} columns
      </h2>
      <ScrollBox label="profile table">
        <table className="jp-mlops-table">
          <thead>
            <tr>
              <th scope="col">column</th>
              <th scope="col">type</th>
              <th scope="col" className="jp-mlops-num">
                missing
              </th>
              <th scope="col" className="jp-mlops-num">
                mean
              </th>
              <th scope="col" className="jp-mlops-num">
                std
              </th>
              <th scope="col" className="jp-mlops-num">
                min
              </th>
              <th scope="col" className="jp-mlops-num">
                max
              </th>
            </tr>
          </thead>
          <tbody>
            {profile.columns.map(c => (
              <tr key={c.name} data-testid="mlops-profile-column" data-column={c.name}>
                <th scope="row" title={c.name}>
                  {c.name}
                </th>
                <td>
                  <code>{c.dtype}</code>
                </td>
                <td className={`jp-mlops-num${c.missing > 0 ? ' jp-mlops-warn' : ''}`}>
                  {c.missing}
                </td>
                <td className="jp-mlops-num">{numberText(c.mean)}</td>
                <td className="jp-mlops-num">{numberText(c.std)}</td>
                <td className="jp-mlops-num">{numberText(c.min ?? c.top)}</td>
                <td className="jp-mlops-num">{numberText(c.max)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      <div className="jp-mlops-chart-grid">
        {profile.charts.map((spec, i) => (
          <VegaChart
            key={i}
            spec={spec}
            testId={`mlops-profile-chart-${i}`}
            label={`the distribution of ${profile.columns[i]?.name ?? 'a column'}`}
          />
        ))}
      </div>
    </section>
  );
}

function DriftView({ drift }: { drift: DriftReport }): JSX.Element {
  return (
    <section
      className="jp-mlops-section"
      data-testid="mlops-data-drift"
      data-drifted={String(drift.drifted)}
      aria-label="drift"
    >
      <h2 className="jp-mlops-heading">Drift</h2>
      <div className={drift.drifted ? 'jp-mlops-error' : 'jp-mlops-note'} role="status">
        {drift.drifted
          ? `drift in ${drift.features.filter(f => f.drifted).length} of ${drift.features.length} features`
          : `no drift in ${drift.features.length} features`}
      </div>
      <VegaChart
        spec={drift.chart}
        testId="mlops-drift-chart"
        label="population stability index per feature"
      />
      <ScrollBox label="drift per feature">
        <table className="jp-mlops-table">
          <thead>
            <tr>
              <th scope="col">feature</th>
              <th scope="col">test</th>
              <th scope="col" className="jp-mlops-num">
                p
              </th>
              <th scope="col" className="jp-mlops-num">
                PSI
              </th>
              <th scope="col">drifted</th>
            </tr>
          </thead>
          <tbody>
            {drift.features.map(f => (
              <tr key={f.name} className={f.drifted ? 'jp-mlops-differs' : ''}>
                <th scope="row">{f.name}</th>
                <td>{f.test}</td>
                <td className="jp-mlops-num">{numberText(f.p_value)}</td>
                <td className="jp-mlops-num">{numberText(f.psi)}</td>
                <td>{f.drifted ? 'drifted' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
    </section>
  );
}
