/**
 * Models, in the main area: the registry's models; a model's versions with their aliases, the
 * run each came from and the gate's decision; the alias history; a version's pre-deployment
 * checks, its per-slice results and its model card; Publish, Promote, Move an alias, Roll back.
 *
 * Checks, slices and history are what the registry holds: where it holds nothing for a
 * version, the section says so (and which command records it) rather than showing anything.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ErrorLine } from '../components/Lines';
import { RunName } from '../components/RunName';
import { ScrollBox } from '../components/ScrollBox';
import { numberText, timeText } from '../format';
import { useLoad } from '../hooks/useLoad';
import { useModel } from '../hooks/useModel';
import { MlopsModel } from '../model';
import { api, errorText, ModelDetail, ModelVersion, RegisteredModel } from '../request';
import { MoveAliasForm, PromoteForm, PublishForm, RollbackForm } from './ModelActions';

export function ModelsView(props: { model: MlopsModel; initial?: string }): JSX.Element {
  const model = useModel(props.model);
  const [models, setModels] = React.useState<RegisteredModel[] | null>(null);
  const [selected, setSelected] = React.useState(props.initial ?? '');
  const [detail, setDetail] = React.useState<ModelDetail | null>(null);
  const [version, setVersion] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [changes, setChanges] = React.useState(0); // bumped by publish, promote, move

  useLoad(
    () => api.models(),
    answer => {
      setModels(answer.models);
      setError(null);
    },
    e => setError(errorText(e)),
    [model.runsVersion, changes]
  );
  const all = models ?? [];
  const name = all.some(m => m.name === selected) ? selected : (all[0]?.name ?? '');
  useLoad(
    () => (name ? api.model(name) : null),
    setDetail,
    e => setError(errorText(e)),
    [name, changes]
  );
  const versions = detail?.name === name ? detail.versions : [];
  const shown = versions.find(v => v.version === version) ?? versions[0];
  const changed = (to: string) => {
    setSelected(to);
    setVersion('');
    setChanges(c => c + 1);
  };
  const notebook = model.notebookPath;
  const defaultName =
    name || (notebook ? notebook.replace(/^.*\//, '').replace(/\.ipynb$/, '') : '');

  return (
    <div className="jp-mlops-view jp-mlops-models" data-testid="mlops-models-view">
      <ErrorLine error={error} testId="mlops-models-error" />
      <section aria-label="registered models">
        <div className="jp-mlops-row">
          <h2 className="jp-mlops-heading">Registered models</h2>
          <Button
            small
            className="jp-mlops-button"
            data-testid="mlops-models-reload"
            title="Read the registry again (models published, checked or moved elsewhere)"
            onClick={() => setChanges(c => c + 1)}
          >
            Reload
          </Button>
        </div>
        <table className="jp-mlops-table" data-testid="mlops-models-list">
          <thead>
            <tr>
              <th scope="col">model</th>
              <th scope="col">aliases</th>
              <th scope="col">latest</th>
              <th scope="col">updated</th>
            </tr>
          </thead>
          <tbody>
            {models !== null && all.length === 0 && (
              <tr>
                <td colSpan={4} className="jp-mlops-muted">
                  no registered models yet: publish a run&apos;s model below
                </td>
              </tr>
            )}
            {all.map(m => (
              <tr
                key={m.name}
                className={m.name === name ? 'jp-mod-selected' : ''}
                data-testid={`mlops-model-${m.name}`}
              >
                <th scope="row">
                  <button
                    type="button"
                    className="jp-mlops-linkbutton"
                    aria-pressed={m.name === name}
                    onClick={() => {
                      setSelected(m.name);
                      setVersion('');
                    }}
                  >
                    {m.name}
                  </button>
                </th>
                <td>
                  <Aliases aliases={Object.entries(m.aliases).map(([a, v]) => `${a} v${v}`)} />
                </td>
                <td>{m.latest_version ? `v${m.latest_version}` : ''}</td>
                <td className="jp-mlops-nowrap">{timeText(m.last_update)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {detail && versions.length > 0 && (
        <section aria-label={`versions of ${name}`}>
          <h2 className="jp-mlops-heading">Versions of {name}</h2>
          <ScrollBox label={`versions table of ${name}`}>
            <table className="jp-mlops-table" data-testid="mlops-model-versions">
              <thead>
                <tr>
                  <th scope="col">version</th>
                  <th scope="col">aliases</th>
                  <th scope="col">from run</th>
                  <th scope="col">metrics</th>
                  <th scope="col">gate</th>
                  <th scope="col">checks</th>
                  <th scope="col">published</th>
                </tr>
              </thead>
              <tbody>
                {versions.map(v => (
                  <tr
                    key={v.version}
                    data-testid={`mlops-model-version-${v.version}`}
                    data-aliases={v.aliases.join(' ')}
                    className={v.version === shown?.version ? 'jp-mod-selected' : ''}
                  >
                    <th scope="row">
                      <button
                        type="button"
                        className="jp-mlops-linkbutton"
                        aria-pressed={v.version === shown?.version}
                        onClick={() => setVersion(v.version)}
                      >
                        v{v.version}
                      </button>
                    </th>
                    <td>
                      <Aliases aliases={v.aliases} />
                    </td>
                    <td>
                      {v.pipeline_run ? (
                        <RunName run={{ run_id: v.pipeline_run, name: v.run_name }} />
                      ) : (
                        <span className="jp-mlops-muted">—</span>
                      )}
                    </td>
                    <td className="jp-mlops-nowrap">
                      {Object.entries(v.metrics)
                        .slice(0, 3)
                        .map(([k, x]) => `${k} ${numberText(x)}`)
                        .join(' · ')}
                    </td>
                    <td>{v.gate ? v.gate.decision : ''}</td>
                    <td>{v.checks ? (v.checks.passed ? 'passed' : 'failed') : ''}</td>
                    <td className="jp-mlops-nowrap">{timeText(v.created)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
          <AliasHistory detail={detail} />
        </section>
      )}

      <div className="jp-mlops-columns2">
        <div>
          {detail && versions.length > 0 && (
            <MoveAliasForm
              name={name}
              versions={versions}
              aliases={Object.keys(detail.aliases)}
              onDone={() => changed(name)}
            />
          )}
          {detail?.name === name && detail.aliases.champion && (
            <RollbackForm
              key={name}
              name={name}
              champion={detail.aliases.champion}
              target={detail.rollback_to}
              onDone={() => changed(name)}
            />
          )}
          {name && (
            <PromoteForm
              name={name}
              defaultMetric={shown?.gate?.metric ?? ''}
              onDone={() => changed(name)}
            />
          )}
          <PublishForm model={model} defaultName={defaultName} onDone={changed} />
        </div>
        <div>{shown && <VersionDetail name={name} version={shown} model={model} />}</div>
      </div>
    </div>
  );
}

function Aliases({ aliases }: { aliases: string[] }): JSX.Element {
  return (
    <span className="jp-mlops-chips">
      {aliases.map(a => (
        <span key={a} className={`jp-mlops-chip jp-mlops-alias-${a.split(' ')[0]}`}>
          {a}
        </span>
      ))}
    </span>
  );
}

function AliasHistory({ detail }: { detail: ModelDetail }): JSX.Element {
  const { history } = detail;
  return (
    <details className="jp-mlops-section" open data-testid="mlops-alias-history">
      <summary>Alias history</summary>
      {history === null || history.length === 0 ? (
        <p className="jp-mlops-hint" data-testid="mlops-alias-history-none">
          The registry holds no alias moves for {detail.name} yet: moves made here, by
          <code> nb2pipe promote</code> or by a rollback are recorded from now on.
        </p>
      ) : (
        <table className="jp-mlops-table">
          <thead>
            <tr>
              <th scope="col">when</th>
              <th scope="col">alias</th>
              <th scope="col">moved</th>
              <th scope="col">who</th>
              <th scope="col">why</th>
            </tr>
          </thead>
          <tbody>
            {history.map((move, i) => (
              <tr key={i} data-testid="mlops-alias-history-row">
                <td className="jp-mlops-nowrap">{move.when ?? ''}</td>
                <td>{move.alias}</td>
                <td className="jp-mlops-nowrap">
                  {move.from ? `v${move.from} → ` : ''}
                  {move.to ? `v${move.to}` : 'removed'}
                </td>
                <td>{move.who}</td>
                <td>
                  {move.why}
                  {move.gate ? ` (gate: ${move.gate})` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}

function VersionDetail(props: {
  name: string;
  version: ModelVersion;
  model: MlopsModel;
}): JSX.Element {
  const { name, version } = props;
  const { checks } = version;
  return (
    <div data-testid="mlops-version-detail" data-version={version.version}>
      <details className="jp-mlops-section" open data-testid="mlops-model-checks">
        <summary>
          Pre-deployment checks of v{version.version}:{' '}
          {checks === null ? 'never checked' : checks.passed ? 'passed' : 'failed'}
        </summary>
        {version.rejected && (
          <div className="jp-mlops-error" data-testid="mlops-model-rejected">
            A serving process refused to swap it in: {version.rejected}
          </div>
        )}
        {checks === null ? (
          <p className="jp-mlops-hint" data-testid="mlops-checks-none">
            No pre-deployment checks are recorded for v{version.version}:{' '}
            <code>
              nb2pipe deploy check {name}/{version.version}
            </code>{' '}
            runs them and records the results on the version.
          </p>
        ) : (
          <>
            <div className="jp-mlops-muted">
              {checks.passed ? 'passed' : 'failed'}
              {checks.at ? ` at ${checks.at}` : ''}
              {checks.where ? ` in ${checks.where}` : ''}
            </div>
            <table className="jp-mlops-table">
              <tbody>
                {checks.checks.map(c => (
                  <tr
                    key={c.name}
                    className={c.ok ? '' : 'jp-mlops-differs'}
                    data-testid={`mlops-check-${c.name}`}
                    data-ok={String(c.ok)}
                  >
                    <th scope="row">{c.name}</th>
                    <td>{c.ok ? 'passed' : 'failed'}</td>
                    <td>{c.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </details>
      <SlicesSection version={version} />
      <details className="jp-mlops-section" open>
        <summary>
          Model card: {name} v{version.version}
        </summary>
        <ModelCard
          markdown={version.description || '*no model card*'}
          rendermime={props.model.services.rendermime}
        />
      </details>
    </div>
  );
}

/** The gate's table per slice: where the challenger does worse than the champion. */
function SlicesSection({ version }: { version: ModelVersion }): JSX.Element {
  const { slices } = version;
  const refused = slices?.results.filter(s => s.passed === false).length ?? 0;
  return (
    <details className="jp-mlops-section" open data-testid="mlops-slices">
      <summary>
        Slices of v{version.version}
        {slices === null ? '' : refused ? `: ${refused} worse than allowed` : ': none worse'}
      </summary>
      {slices === null ? (
        <p className="jp-mlops-hint" data-testid="mlops-slices-none">
          No per-slice results are recorded for v{version.version}: the gate records them when it
          compares the challenger slice by slice (<code>promote --slices</code>).
        </p>
      ) : (
        <>
          <div className="jp-mlops-muted">
            {slices.metric ?? 'the metric'} of the challenger and the champion on each slice
            {slices.threshold !== null
              ? `; a drop of more than ${numberText(slices.threshold)} refuses the challenger`
              : ''}
          </div>
          <table className="jp-mlops-table" data-testid="mlops-slices-table">
            <thead>
              <tr>
                <th scope="col">slice</th>
                <th scope="col" className="jp-mlops-num">
                  rows
                </th>
                <th scope="col" className="jp-mlops-num">
                  challenger
                </th>
                <th scope="col" className="jp-mlops-num">
                  champion
                </th>
                <th scope="col" className="jp-mlops-num">
                  drop
                </th>
                <th scope="col">verdict</th>
              </tr>
            </thead>
            <tbody>
              {slices.results.map(s => (
                <tr
                  key={s.slice}
                  className={s.passed === false ? 'jp-mlops-differs' : ''}
                  data-testid={`mlops-slice-${s.slice}`}
                  data-passed={s.passed === null ? '' : String(s.passed)}
                >
                  <th scope="row">{s.slice}</th>
                  <td className="jp-mlops-num">{numberText(s.rows)}</td>
                  <td className="jp-mlops-num">{numberText(s.challenger)}</td>
                  <td className="jp-mlops-num">{numberText(s.champion)}</td>
                  <td className="jp-mlops-num">{numberText(s.drop)}</td>
                  <td>
                    {s.skipped
                      ? `not judged: ${s.skipped}`
                      : s.passed === false
                        ? 'worse than allowed'
                        : s.passed
                          ? 'ok'
                          : 'not judged'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </details>
  );
}

function ModelCard(props: {
  markdown: string;
  rendermime: MlopsModel['services']['rendermime'];
}): JSX.Element {
  const { markdown, rendermime } = props;
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
