/**
 * "debug in this notebook": for a failed step, run `%mlops load STEP` in the notebook's own
 * kernel, so the variables the step read are bound there (from that run's artifacts, checked
 * by sha256) and its cells can be run by hand. The server checks the step can be loaded and
 * answers the line to run (GET runs/<id>/steps/<step>/debug).
 */
import { Button } from '@jupyterlab/ui-components';
import { NotebookPanel } from '@jupyterlab/notebook';
import * as React from 'react';

import { api, errorText } from './request';

export function StepDebug(props: {
  notebook: NotebookPanel;
  runId: string;
  step: string;
}): JSX.Element {
  const { notebook, runId, step } = props;
  const [note, setNote] = React.useState<string | null>(null);
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
      setNote(
        failure ??
          `loaded ${step} from run ${answer.run_id} into the kernel: ${answer.inputs.join(', ') || 'no inputs'}`
      );
    } catch (error) {
      setNote(errorText(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="jp-mlops-debug">
      <Button
        small
        className="jp-mlops-button"
        data-testid={`mlops-step-debug-${step}`}
        disabled={busy}
        title={`Bind what ${step} read in run ${runId} into this notebook's kernel, to run its cells by hand`}
        onClick={() => void debug()}
      >
        debug in this notebook
      </Button>
      {note && (
        <span className="jp-mlops-muted" data-testid={`mlops-step-debug-note-${step}`}>
          {' '}
          {note}
        </span>
      )}
    </span>
  );
}
