/**
 * Cell tags: a form for the active cell's step name, upstream steps, resources, execution
 * policy and role. Apply writes the cell's `tags` metadata through the notebook model (nobody
 * edits raw JSON) and compiles the unsaved notebook again, so the graph follows.
 */
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Check, Field, Select } from '../components/Form';
import { ErrorLine, NoteLine } from '../components/Lines';
import { PipelineGraph } from '../components/PipelineGraph';
import { useSidebar } from '../hooks/useNotebookPipeline';
import { useSignalTick } from '../hooks/useSignalTick';
import { compileError } from '../notebookState';
import { errorText } from '../request';
import { checkForm, emptyForm, formToTags, meaning, parseTags, TagForm } from '../tags';

export function CellTagsPanel(): JSX.Element {
  const { model, notebook, pipeline, grammar, refreshPipeline } = useSidebar();
  const { services } = model;
  const cell = useActiveCell(services.tracker);
  useSignalTick(cell ? cell.model.metadataChanged : null);
  const tags: string[] = cell ? ((cell.model.getMetadata('tags') as string[]) ?? []) : [];
  const tagsKey = JSON.stringify(tags);

  const [form, setForm] = React.useState<TagForm>(emptyForm());
  const [note, setNote] = React.useState<string | null>(null);
  React.useEffect(() => {
    setForm(parseTags(tags, grammar ?? []));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cell, tagsKey, grammar]);
  React.useEffect(() => setNote(null), [cell]);

  if (!notebook || !cell) {
    return <p className="jp-mlops-hint">Select a cell of a notebook to edit its tags.</p>;
  }
  if (cell.model.type !== 'code') {
    return (
      <p className="jp-mlops-hint" data-testid="mlops-tags-not-code">
        Markdown cells belong to the step around them: select a code cell to tag it.
      </p>
    );
  }
  if (grammar === null) {
    return <p className="jp-mlops-hint">Loading the tag grammar…</p>;
  }

  const number = notebook.content.widgets.indexOf(cell) + 1;
  const roles = grammar.filter(rule => rule.group === 'role').map(rule => rule.name);
  const summary = pipeline?.ok ? pipeline : null;
  const inStep = summary?.steps.find(s => s.cells.includes(number));
  // a step can only run after steps that start earlier in the notebook
  const otherSteps = (summary?.steps ?? [])
    .filter(s => s.cells.length > 0 && s.cells[0] < number && s.name !== form.step.trim())
    .map(s => s.name);
  const problems = checkForm(form);
  const stepCell = form.role === '' || form.role === 'metrics';
  const next = formToTags(form);
  const changed = JSON.stringify(next) !== tagsKey;
  const set = (patch: Partial<TagForm>) => setForm(f => ({ ...f, ...patch }));

  const apply = async () => {
    if (Object.keys(problems).length > 0) {
      return;
    }
    if (next.length > 0) {
      cell.model.setMetadata('tags', next);
    } else {
      cell.model.deleteMetadata('tags');
    }
    setNote(`cell ${number}: ${next.length ? next.join('  ') : 'no tags'}`);
    try {
      await refreshPipeline();
    } catch (error) {
      setNote(errorText(error));
    }
  };

  const text = (name: keyof TagForm, label: string, placeholder: string) => (
    <Field label={label} title={meaning(grammar, name)}>
      <input
        className={`jp-mlops-input${problems[name] ? ' jp-mod-invalid' : ''}`}
        data-testid={`mlops-tag-${name}`}
        value={form[name] as string}
        placeholder={placeholder}
        disabled={!stepCell}
        onChange={e => set({ [name]: e.target.value })}
        onKeyDown={e => e.key === 'Enter' && void apply()}
      />
      {problems[name] && <em className="jp-mlops-problem">{problems[name]}</em>}
    </Field>
  );

  return (
    <div className="jp-mlops-tags" data-testid="mlops-tags-editor" data-cell={number}>
      <div className="jp-mlops-row jp-mlops-title">
        <span>Cell {number}</span>
        <span className="jp-mlops-muted" data-testid="mlops-tags-step-of-cell">
          {inStep ? `in step ${inStep.name}` : 'not in a step'}
        </span>
      </div>
      <div className="jp-mlops-chips" data-testid="mlops-tags-current">
        {tags.length === 0 && <span className="jp-mlops-muted">no tags</span>}
        {tags.map(t => (
          <span key={t} className="jp-mlops-chip">
            {t}
          </span>
        ))}
      </div>

      <div className="jp-mlops-form">
        <Field label="role" title="What the whole cell is">
          <Select
            testId="mlops-tag-role"
            label="role"
            value={form.role}
            none="step code"
            choices={roles.map(r => ({ value: r, label: r, title: meaning(grammar, r) }))}
            onChange={role => set({ role })}
          />
        </Field>
        {text('step', 'step', 'e.g. train')}

        <fieldset className="jp-mlops-field" disabled={!stepCell} title={meaning(grammar, 'after')}>
          <span>after</span>
          <div className="jp-mlops-multi" data-testid="mlops-tag-after">
            {otherSteps.length === 0 && form.after.length === 0 && (
              <span className="jp-mlops-muted">no other steps</span>
            )}
            {[...new Set([...otherSteps, ...form.after])].map(name => (
              <Check
                key={name}
                label={name}
                testId={`mlops-tag-after-${name}`}
                checked={form.after.includes(name)}
                onChange={checked =>
                  set({
                    after: checked ? [...form.after, name] : form.after.filter(a => a !== name)
                  })
                }
              />
            ))}
          </div>
        </fieldset>

        <div className="jp-mlops-subhead">resources</div>
        {text('cpu', 'cpu', 'e.g. 2 or 500m')}
        {text('memory', 'memory', 'e.g. 2Gi')}
        {text('gpu', 'gpu', 'e.g. 1')}

        <div className="jp-mlops-subhead">execution</div>
        <Field label="cache" title={meaning(grammar, 'cache')}>
          <Select
            testId="mlops-tag-cache"
            label="cache"
            value={form.cache}
            none="default (on)"
            choices={['on', 'off']}
            disabled={!stepCell}
            onChange={cache => set({ cache })}
          />
        </Field>
        {text('retries', 'retries', 'e.g. 2')}
        {text('timeout', 'timeout (s)', 'e.g. 600')}

        <div className="jp-mlops-subhead">container</div>
        {text('image', 'image', 'e.g. python:3.11-slim')}
        {text('requirements', 'requirements', 'e.g. xgboost==2.1, lightgbm')}
      </div>

      {form.other.length > 0 && (
        <div className="jp-mlops-muted">kept as they are: {form.other.join(', ')}</div>
      )}
      <div className="jp-mlops-toolbar">
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-tags-apply"
          disabled={!changed || Object.keys(problems).length > 0}
          onClick={() => void apply()}
        >
          Apply
        </Button>
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-tags-reset"
          disabled={!changed}
          onClick={() => setForm(parseTags(tags, grammar))}
        >
          Reset
        </Button>
        {changed && (
          <code className="jp-mlops-muted" data-testid="mlops-tags-preview">
            {next.join('  ') || 'no tags'}
          </code>
        )}
      </div>
      <NoteLine note={note} testId="mlops-tags-note" />
      <ErrorLine error={compileError(pipeline)} testId="mlops-tags-error" />
      {summary && (
        <details className="jp-mlops-section" open>
          <summary>Pipeline</summary>
          <PipelineGraph summary={summary} statuses={{}} testId="mlops-tags-graph" />
        </details>
      )}
    </div>
  );
}

function useActiveCell(tracker: INotebookTracker): Cell | null {
  const [cell, setCell] = React.useState<Cell | null>(tracker.activeCell);
  React.useEffect(() => {
    const changed = (_: INotebookTracker, active: Cell | null) => setCell(active);
    const switched = () => setCell(tracker.activeCell);
    tracker.activeCellChanged.connect(changed);
    tracker.currentChanged.connect(switched);
    switched();
    return () => {
      tracker.activeCellChanged.disconnect(changed);
      tracker.currentChanged.disconnect(switched);
    };
  }, [tracker]);
  return cell;
}
