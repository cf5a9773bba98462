/**
 * Models: the registry's models, their versions and aliases, a version's model card (rendered
 * by JupyterLab's own markdown renderer), Publish from a run's model artifact and Promote
 * (the gate that moves `champion` when the `challenger` wins).
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  artifactsOf,
  Check,
  ErrorLine,
  Field,
  NoteLine,
  RunSelect,
  Select,
  StepArtifactFields,
  useAction,
  useLoad
} from './components';
import {
  AliasMove,
  api,
  errorText,
  ModelDetail,
  ModelVersion,
  PromoteAnswer,
  RegisteredModel
} from './request';
import { findArtifact, PipelineRun, startText, usePipelineRuns, useRunArtifacts } from './runs';
import { useMlops } from './state';

export function ModelsPanel(): JSX.Element {
  const { runsVersion, pipeline } = useMlops();
  const [models, setModels] = React.useState<RegisteredModel[]>([]);
  const [selected, setSelected] = React.useState('');
  const [detail, setDetail] = React.useState<ModelDetail | null>(null);
  const [version, setVersion] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [changes, setChanges] = React.useState(0); // bumped by publish and promote

  React.useEffect(() => {
    api
      .models()
      .then(({ models }) => {
        setModels(models);
        setError(null);
      })
      .catch(e => setError(errorText(e)));
  }, [runsVersion, changes]);

  const name = selected && models.some(m => m.name === selected) ? selected : (models[0]?.name ?? '');
  useLoad(
    () => {
      if (!name) {
        setDetail(null);
        return null;
      }
      return api.model(name);
    },
    setDetail,
    e => setError(errorText(e)),
    [name, changes]
  );

  const versions = detail?.name === name ? detail.versions : [];
  const shown = versions.find(v => v.version === version) ?? versions[0];
  const changed = (model: string) => {
    setSelected(model);
    setVersion('');
    setChanges(c => c + 1);
  };
  const defaultName = name || (pipeline?.ok ? pipeline.pipeline : '');

  return (
    <div className="jp-mlops-models">
      <ErrorLine error={error} testId="mlops-models-error" />
      <ul className="jp-mlops-list" data-testid="mlops-models-list">
        {models.length === 0 && <li className="jp-mlops-muted">no registered models yet</li>}
        {models.map(m => (
          <li
            key={m.name}
            className={m.name === name ? 'jp-mod-selected' : ''}
            data-testid={`mlops-model-${m.name}`}
            onClick={() => {
              setSelected(m.name);
              setVersion('');
            }}
          >
            <span className="jp-mlops-grow">{m.name}</span>
            {Object.entries(m.aliases).map(([alias, v]) => (
              <span key={alias} className={`jp-mlops-badge jp-mlops-alias-${alias}`}>
                {alias} v{v}
              </span>
            ))}
            <span className="jp-mlops-muted">latest v{m.latest_version ?? '?'}</span>
          </li>
        ))}
      </ul>

      {versions.length > 0 && (
        <details className="jp-mlops-section" open>
          <summary>Versions of {name}</summary>
          <table className="jp-mlops-table" data-testid="mlops-model-versions">
            <tbody>
              {versions.map(v => (
                <tr
                  key={v.version}
                  data-testid={`mlops-model-version-${v.version}`}
                  data-aliases={v.aliases.join(' ')}
                  className={v.version === shown?.version ? 'jp-mod-selected' : ''}
                  onClick={() => setVersion(v.version)}
                >
                  <td>v{v.version}</td>
                  <td>
                    {v.aliases.map(a => (
                      <span key={a} className={`jp-mlops-badge jp-mlops-alias-${a}`}>
                        {a}
                      </span>
                    ))}
                  </td>
                  <td className="jp-mlops-muted">{startText(v.created)}</td>
                  <td className="jp-mlops-muted">{v.tags?.['gate.decision'] ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}

      {shown && <DeployChecksSection version={shown} />}
      {detail?.name === name && (detail.history?.length ?? 0) > 0 && (
        <AliasHistory moves={detail.history ?? []} />
      )}
      <PublishForm defaultName={defaultName} onDone={changed} />
      {name && (
        <PromoteForm
          name={name}
          defaultMetric={shown?.tags?.['gate.metric'] ?? ''}
          onDone={() => changed(name)}
        />
      )}
      {shown && (
        <details className="jp-mlops-section" open>
          <summary>Model card: {name} v{shown.version}</summary>
          <ModelCard markdown={shown.description || '*no model card*'} />
        </details>
      )}
    </div>
  );
}

/** The last pre-deployment checks of a version, and a serving process's refusal if any. */
function DeployChecksSection({ version }: { version: ModelVersion }): JSX.Element {
  const found = version.checks;
  return (
    <details className="jp-mlops-section" open data-testid="mlops-model-checks">
      <summary>
        Deployment checks of v{version.version}:{' '}
        {found ? (found.passed ? 'passed' : 'failed') : 'never checked'}
      </summary>
      {found && (
        <>
          <div className="jp-mlops-muted">
            {found.at} · {found.where}
          </div>
          <table className="jp-mlops-table">
            <tbody>
              {found.checks.map(c => (
                <tr key={c.name} data-testid={`mlops-check-${c.name}`} data-ok={String(c.ok)}>
                  <td>{c.name}</td>
                  <td className={c.ok ? 'jp-mlops-ok' : 'jp-mlops-failed'}>
                    {c.ok ? 'ok' : 'failed'}
                  </td>
                  <td className="jp-mlops-muted jp-mlops-wrap">{c.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {version.rejected && (
        <ErrorLine error={`not swapped in by the service: ${version.rejected}`} />
      )}
    </details>
  );
}

/** Every recorded alias move of the model, newest first. */
function AliasHistory({ moves }: { moves: AliasMove[] }): JSX.Element {
  return (
    <details className="jp-mlops-section" open data-testid="mlops-alias-history">
      <summary>Alias history</summary>
      <table className="jp-mlops-table">
        <tbody>
          {moves.map(m => (
            <tr key={`${m.when}-${m.alias}-${m.to ?? ''}`} data-kind={m.kind}>
              <td className="jp-mlops-muted">{m.when}</td>
              <td>
                <span className={`jp-mlops-badge jp-mlops-alias-${m.alias}`}>{m.alias}</span>
              </td>
              <td>
                {m.from ? `v${m.from}` : '–'} → {m.to ? `v${m.to}` : 'removed'}
              </td>
              <td>{m.kind}</td>
              <td className="jp-mlops-muted jp-mlops-wrap">
                {m.who}: {m.why}
                {m.gate ? ` (gate: ${m.gate})` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function ModelCard({ markdown }: { markdown: string }): JSX.Element {
  const { rendermime } = useMlops().services;
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    // The renderer's node is placed by hand, not with Widget.attach: React may remove the host
    // from the page before this cleanup runs (another model picked), and detaching a widget
    // whose node has left the page throws "Widget is not attached".
    const renderer = rendermime.createRenderer('text/markdown');
    node.appendChild(renderer.node);
    void renderer.renderModel(
      new MimeModel({ data: { 'text/markdown': markdown }, trusted: false })
    );
    return () => {
      renderer.node.remove();
      renderer.dispose();
    };
  }, [markdown, rendermime]);
  return <div ref={host} className="jp-mlops-card" data-testid="mlops-model-card" />;
}

function PublishForm(props: { defaultName: string; onDone: (name: string) => void }): JSX.Element {
  const { lastRunId, notebook } = useMlops();
  const { runs } = usePipelineRuns();
  const [name, setName] = React.useState('');
  const [runId, setRunId] = React.useState('');
  const [step, setStep] = React.useState('');
  const [artifact, setArtifact] = React.useState('');
  const [metric, setMetric] = React.useState('');
  const [result, setResult] = React.useState<string | null>(null);
  const { busy, error, act } = useAction();

  // default: the last run started here, else the newest tracked one
  const chosen = runId || lastRunId || runs[0]?.runId || '';
  const run = runs.find(r => r.runId === chosen);
  const { steps, metrics: runMetrics } = useRunArtifacts(
    run ?? (chosen ? { runId: chosen, status: '', label: chosen } : undefined)
  );
  const guess = findArtifact(steps, ['joblib']); // estimators are written by the joblib serializer
  const stepName = steps.some(s => s.step === step) ? step : (guess?.step ?? '');
  const artifacts = artifactsOf(steps, stepName);
  const artifactName =
    artifact in artifacts
      ? artifact
      : guess?.step === stepName
        ? guess.artifact
        : (Object.keys(artifacts)[0] ?? '');
  const metrics = Object.keys(runMetrics).sort();
  const modelName = name || props.defaultName;

  const publish = () =>
    act(async () => {
      setResult(null);
      const answer = await api.publish(modelName, {
        run_id: chosen,
        step: stepName,
        artifact: artifactName,
        ...(metric ? { metric } : {}),
        ...(notebook ? { path: notebook.context.path } : {})
      });
      setResult(`${modelName} v${answer.version} ${(answer.aliases ?? []).join(' ')}`);
      props.onDone(modelName);
    });

  const runOptions: PipelineRun[] = [...runs];
  if (chosen && !runs.some(r => r.runId === chosen)) {
    runOptions.unshift({ runId: chosen, status: '', label: `${chosen} (last run)` });
  }

  return (
    <details className="jp-mlops-section" open data-testid="mlops-publish-form">
      <summary>Publish</summary>
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
            runs={runOptions}
            value={chosen}
            empty="no runs yet"
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
            value={metric}
            none="none"
            choices={metrics}
            onChange={setMetric}
          />
        </Field>
      </div>
      <div className="jp-mlops-toolbar">
        <Button small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-publish"
          disabled={busy || !modelName || !chosen || !stepName || !artifactName}
          onClick={() => void publish()}
        >
          Publish
        </Button>
        {busy && <span className="jp-mlops-muted">publishing…</span>}
      </div>
      <NoteLine note={result && `published ${result}`} testId="mlops-publish-result" />
      <ErrorLine error={error} testId="mlops-publish-error" />
    </details>
  );
}

function PromoteForm(props: {
  name: string;
  defaultMetric: string;
  onDone: () => void;
}): JSX.Element {
  const [metric, setMetric] = React.useState('');
  const [higher, setHigher] = React.useState(true);
  const [threshold, setThreshold] = React.useState('0');
  const [answer, setAnswer] = React.useState<PromoteAnswer | null>(null);
  const { busy, error, act } = useAction();
  const chosen = metric || props.defaultMetric;

  const promote = () =>
    act(
      async () => {
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
      <summary>Promote {props.name}</summary>
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
        <Button small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-promote"
          disabled={busy || !chosen}
          onClick={() => void promote()}
          title="Move champion to the challenger when it wins on the metric"
        >
          Promote
        </Button>
      </div>
      {answer && (
        <div
          // the gate keeping the champion is its normal outcome, not an error
          className={answer.promoted ? 'jp-mlops-note' : 'jp-mlops-neutral'}
          data-testid="mlops-promote-result"
          data-promoted={String(answer.promoted)}
        >
          {answer.promoted
            ? `v${answer.challenger} is now champion`
            : `v${answer.challenger} stays challenger`}
          {answer.reason ? `: ${answer.reason}` : ''}
        </div>
      )}
      <ErrorLine error={error} testId="mlops-promote-error" />
    </details>
  );
}
