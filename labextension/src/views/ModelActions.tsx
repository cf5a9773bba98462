/**
 * What the Models view does to the registry: publish a run's model, promote the challenger
 * through the gate, move an alias by hand, roll the champion back. Each is a long action: it says what it is doing and
 * for how long, then its outcome, never just a disabled button.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Check, Field, Select } from '../components/Form';
import { ErrorLine, NoteLine } from '../components/Lines';
import { Progress } from '../components/Progress';
import { RunSelect, StepArtifactFields } from '../components/RunPickers';
import { useAction } from '../hooks/useLoad';
import { usePastRuns, useRunArtifacts } from '../hooks/useRuns';
import { MlopsModel } from '../model';
import { AliasMove, api, ModelVersion, PromoteAnswer } from '../request';
import { artifactsOf, findArtifact } from '../runs';

export function PublishForm(props: {
  model: MlopsModel;
  defaultName: string;
  onDone: (name: string) => void;
}): JSX.Element {
  const { model, defaultName, onDone } = props;
  const path = model.notebookPath ?? undefined;
  const { runs } = usePastRuns(path, model.runsVersion);
  const [name, setName] = React.useState('');
  const [runId, setRunId] = React.useState('');
  const [step, setStep] = React.useState('');
  const [artifact, setArtifact] = React.useState('');
  const [metric, setMetric] = React.useState('');
  const [result, setResult] = React.useState<string | null>(null);
  const action = useAction();

  const chosen = runs.some(r => r.run_id === runId) ? runId : (runs[0]?.run_id ?? '');
  const { steps, metrics: runMetrics } = useRunArtifacts(chosen || undefined, path);
  const guess = findArtifact(steps, 'model');
  const stepName = steps.some(s => s.step === step) ? step : (guess?.step ?? '');
  const artifacts = artifactsOf(steps, stepName);
  const artifactName =
    artifact in artifacts
      ? artifact
      : guess?.step === stepName
        ? guess.artifact
        : (Object.keys(artifacts)[0] ?? '');
  const modelName = name || defaultName;
  const run = runs.find(r => r.run_id === chosen);

  const publish = () =>
    action.act(
      `publishing ${modelName} from ${run?.name ?? chosen}: logging the model, registering it, ` +
        'writing its model card…',
      async () => {
        setResult(null);
        const answer = await api.publish(modelName, {
          run_id: chosen,
          step: stepName,
          artifact: artifactName,
          ...(metric ? { metric } : {}),
          ...(path ? { path } : {})
        });
        setResult(`${modelName} v${answer.version} ${(answer.aliases ?? []).join(' ')}`);
        onDone(modelName);
      }
    );

  return (
    <details className="jp-mlops-section" open data-testid="mlops-publish-form">
      <summary>Publish a run&apos;s model</summary>
      <div className="jp-mlops-form">
        <Field label="model">
          <input
            className="jp-mlops-input"
            data-testid="mlops-publish-name"
            value={modelName}
            onChange={e => setName(e.target.value)}
          />
        </Field>
        <Field label="run">
          <RunSelect
            testId="mlops-publish-run"
            label="run"
            runs={runs}
            value={chosen}
            empty={path ? `no runs of ${path} yet` : 'no runs yet'}
            onChange={value => {
              setRunId(value);
              setStep('');
              setArtifact('');
            }}
          />
        </Field>
        <StepArtifactFields
          testId="mlops-publish"
          steps={steps}
          step={stepName}
          artifact={artifactName}
          onStep={setStep}
          onArtifact={setArtifact}
          noStep={stepName ? undefined : 'pick a step'}
        />
        <Field label="metric" title="the metric the promotion gate compares">
          <Select
            testId="mlops-publish-metric"
            label="metric"
            value={metric}
            none="none"
            choices={Object.keys(runMetrics).sort()}
            onChange={setMetric}
          />
        </Field>
      </div>
      <div className="jp-mlops-toolbar">
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-publish"
          disabled={action.busy !== null || !modelName || !chosen || !stepName || !artifactName}
          onClick={() => void publish()}
        >
          Publish
        </Button>
      </div>
      <Progress doing={action.busy} since={action.since} testId="mlops-publish-progress" />
      <NoteLine note={result && `published ${result}`} testId="mlops-publish-result" />
      <ErrorLine error={action.error} testId="mlops-publish-error" />
    </details>
  );
}

export function PromoteForm(props: {
  name: string;
  defaultMetric: string;
  onDone: () => void;
}): JSX.Element {
  const [metric, setMetric] = React.useState('');
  const [higher, setHigher] = React.useState(true);
  const [threshold, setThreshold] = React.useState('0');
  const [answer, setAnswer] = React.useState<PromoteAnswer | null>(null);
  const action = useAction();
  const chosen = metric || props.defaultMetric;

  const promote = () =>
    action.act(
      `comparing the challenger of ${props.name} with its champion on ${chosen}…`,
      async () => {
        setAnswer(null);
        setAnswer(
          await api.promote(props.name, {
            metric: chosen,
            greater_is_better: higher,
            threshold: Number(threshold) || 0
          })
        );
        props.onDone();
      },
      () => setAnswer(null)
    );

  return (
    <details className="jp-mlops-section" open data-testid="mlops-promote-form">
      <summary>Promote the challenger of {props.name}</summary>
      <div className="jp-mlops-form">
        <Field label="metric">
          <input
            className="jp-mlops-input"
            data-testid="mlops-promote-metric"
            value={chosen}
            placeholder="e.g. accuracy"
            onChange={e => setMetric(e.target.value)}
          />
        </Field>
        <Field label="threshold">
          <input
            className="jp-mlops-input"
            type="number"
            step="any"
            data-testid="mlops-promote-threshold"
            value={threshold}
            onChange={e => setThreshold(e.target.value)}
          />
        </Field>
        <Check
          label="higher is better"
          testId="mlops-promote-higher"
          checked={higher}
          onChange={setHigher}
        />
      </div>
      <div className="jp-mlops-toolbar">
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-promote"
          disabled={action.busy !== null || !chosen}
          onClick={() => void promote()}
          title="Move champion to the challenger when it wins on the metric"
        >
          Promote
        </Button>
      </div>
      <Progress doing={action.busy} since={action.since} testId="mlops-promote-progress" />
      {answer && (
        <div
          // the gate keeping the champion is its normal outcome, not an error
          className={answer.promoted ? 'jp-mlops-note' : 'jp-mlops-neutral'}
          data-testid="mlops-promote-result"
          data-promoted={String(answer.promoted)}
          role="status"
        >
          {answer.promoted
            ? `v${answer.challenger} is now champion`
            : `v${answer.challenger} stays challenger`}
          {answer.reason ? `: ${answer.reason}` : ''}
        </div>
      )}
      <ErrorLine error={action.error} testId="mlops-promote-error" />
    </details>
  );
}

/** Point an alias (champion, challenger, or a new one) at a version, with the reason why. */
export function MoveAliasForm(props: {
  name: string;
  versions: ModelVersion[];
  aliases: string[];
  onDone: () => void;
}): JSX.Element {
  const { name, versions, aliases, onDone } = props;
  const [alias, setAlias] = React.useState('');
  const [version, setVersion] = React.useState('');
  const [reason, setReason] = React.useState('');
  const [moved, setMoved] = React.useState<AliasMove | null>(null);
  const action = useAction();
  const known = [...new Set(['champion', 'challenger', ...aliases])];
  const chosenAlias = alias || known[0];
  const chosenVersion = versions.some(v => v.version === version)
    ? version
    : (versions[0]?.version ?? '');

  const move = () =>
    action.act(`moving ${chosenAlias} of ${name} to v${chosenVersion}…`, async () => {
      setMoved(null);
      setMoved(
        await api.moveAlias(name, {
          alias: chosenAlias,
          version: chosenVersion,
          ...(reason.trim() ? { reason: reason.trim() } : {})
        })
      );
      onDone();
    });

  return (
    <details className="jp-mlops-section" open data-testid="mlops-alias-form">
      <summary>Move an alias</summary>
      <div className="jp-mlops-form">
        <Field label="alias">
          <input
            className="jp-mlops-input"
            data-testid="mlops-alias-name"
            list="jp-mlops-alias-names"
            value={alias}
            placeholder={known[0]}
            onChange={e => setAlias(e.target.value)}
          />
          <datalist id="jp-mlops-alias-names">
            {known.map(a => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </Field>
        <Field label="to version">
          <Select
            testId="mlops-alias-version"
            label="to version"
            value={chosenVersion}
            choices={versions.map(v => ({
              value: v.version,
              label: `v${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}`
            }))}
            onChange={setVersion}
          />
        </Field>
        <Field label="why">
          <input
            className="jp-mlops-input"
            data-testid="mlops-alias-reason"
            value={reason}
            placeholder="e.g. roll back: v3 answers slowly"
            onChange={e => setReason(e.target.value)}
          />
        </Field>
      </div>
      <div className="jp-mlops-toolbar">
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-alias-move"
          disabled={action.busy !== null || !chosenAlias || !chosenVersion}
          onClick={() => void move()}
        >
          Move {chosenAlias} to v{chosenVersion}
        </Button>
      </div>
      <Progress doing={action.busy} since={action.since} testId="mlops-alias-progress" />
      <NoteLine
        note={
          moved &&
          (moved.from === moved.to
            ? `${moved.alias} already points at v${moved.to}: nothing moved`
            : `${moved.alias} now points at v${moved.to}` +
              (moved.from ? ` (was v${moved.from})` : ''))
        }
        testId="mlops-alias-result"
      />
      <ErrorLine error={action.error} testId="mlops-alias-error" />
    </details>
  );
}

/**
 * One click back to the champion before the current one, as `nb2pipe rollback` does: the
 * serving process that follows `champion` swaps it in (after its checks), and the move is
 * recorded with its reason in the alias history. With no earlier champion recorded it says so.
 */
export function RollbackForm(props: {
  name: string;
  champion: string;
  target: string | null;
  onDone: () => void;
}): JSX.Element {
  const { name, champion, target, onDone } = props;
  const [reason, setReason] = React.useState('');
  const [moved, setMoved] = React.useState<AliasMove | null>(null);
  const action = useAction();

  const rollBack = () =>
    action.act(`rolling ${name} back: champion v${champion} → v${target}…`, async () => {
      setMoved(null);
      setMoved(await api.rollback(name, reason.trim() ? { reason: reason.trim() } : {}));
      setReason('');
      onDone();
    });

  return (
    <details className="jp-mlops-section" open data-testid="mlops-rollback-form">
      <summary>Roll back</summary>
      {target === null ? (
        <p className="jp-mlops-hint" data-testid="mlops-rollback-none">
          champion is v{champion}: no earlier champion is recorded to roll back to.
        </p>
      ) : (
        <>
          <p className="jp-mlops-hint">
            champion is v{champion}; the champion before it was v{target}. A service that follows
            champion swaps v{target} back in after its checks.
          </p>
          <div className="jp-mlops-form">
            <Field label="why">
              <input
                className="jp-mlops-input"
                data-testid="mlops-rollback-reason"
                value={reason}
                placeholder={`e.g. v${champion} answers slowly`}
                onChange={e => setReason(e.target.value)}
              />
            </Field>
          </div>
          <div className="jp-mlops-toolbar">
            <Button
              small
              className="jp-mlops-button jp-mod-warn"
              data-testid="mlops-rollback"
              disabled={action.busy !== null}
              onClick={() => void rollBack()}
            >
              Roll back champion to v{target}
            </Button>
          </div>
        </>
      )}
      <Progress doing={action.busy} since={action.since} testId="mlops-rollback-progress" />
      <NoteLine
        note={moved && `champion now points at v${moved.to} (was v${moved.from})`}
        testId="mlops-rollback-result"
      />
      <ErrorLine error={action.error} testId="mlops-rollback-error" />
    </details>
  );
}
