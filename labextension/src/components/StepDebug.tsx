/**
 * "debug in this notebook": for a failed step, run `%mlops load STEP` in the notebook's own
 * kernel, so the variables the step read are bound there (from that run's artifacts, checked
 * by sha256) and its cells can be run by hand. The server checks the step can be loaded and
 * answers the line to run (GET runs/<id>/steps/<step>/debug).
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { api, errorText } from '../request';

export function StepDebug(props: {
  notebook: NotebookPanel;
  runId: string;
  step: string;
}): JSX.Element {
  const { notebook, runId, step } = props;
  const [note, setNote] = React.useState<{ text: string; ok: boolean } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const debug = async () => {
    setBusy(true);
    setNote(null);
    try {
      const answer = await api.debugStep(runId, step, notebook.context.path);
      const kernel = notebook.sessionContext.session?.kernel;
      if (!kernel) {
        throw new Error('the notebook has no kernel: start one first');
      }
      let failure: string | null = null;
      const future = kernel.requestExecute({ code: answer.code, store_history: false });
      future.onIOPub = msg => {
        if (msg.header.msg_type === 'error') {
          const content = msg.content as { ename: string; evalue: string };
          failure = `${content.ename}: ${content.evalue}`;
        }
      };
      await future.done;
      const inputs = answer.inputs.join(', ') || 'no inputs';
      setNote(
        failure
          ? { text: failure, ok: false }
          : { text: `loaded ${step}'s inputs from run ${answer.run_id}: ${inputs}`, ok: true }
      );
    } catch (error) {
      setNote({ text: errorText(error), ok: false });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="jp-mlops-debug">
      <Button
        small
        className="jp-mlops-button"
        data-testid={`mlops-step-debug-${step}`}
        disabled={busy}
        title={`Bind what ${step} read in run ${runId} into this notebook's kernel, to run its cells by hand`}
        onClick={() => void debug()}
      >
        {busy ? 'loading…' : 'debug in this notebook'}
      </Button>
      {note && (
        <div
          className={note.ok ? 'jp-mlops-note' : 'jp-mlops-error'}
          role="status"
          data-testid={`mlops-step-debug-note-${step}`}
        >
          {note.text}
        </div>
      )}
    </div>
  );
}
