/**
 * A run by the name a person says (`breast_cancer_diagnosis · C=0.5`), with its id one click away: the
 * button beside the name shows the id (selectable, to copy), a second click hides it.
 */
import * as React from 'react';

import { runLabel, shortId } from '../format';

export function RunName(props: {
  run: { name?: string | null; run_id: string };
  testId?: string;
  /** when given, the name is a link that does this (open the run, compare it…) */
  onOpen?: () => void;
  openTitle?: string;
}): JSX.Element {
  const { run, testId, onOpen, openTitle } = props;
  const [shown, setShown] = React.useState(false);
  const label = runLabel(run);
  return (
    <span className="jp-mlops-runname" data-testid={testId} data-run-id={run.run_id}>
      {onOpen ? (
        <a
          href="#"
          className="jp-mlops-runname-text"
          title={openTitle ?? label}
          onClick={e => {
            e.preventDefault();
            onOpen();
          }}
        >
          {label}
        </a>
      ) : (
        <span className="jp-mlops-runname-text" title={label}>
          {label}
        </span>
      )}
      <button
        type="button"
        className="jp-mlops-idbutton"
        aria-expanded={shown}
        aria-label={`${shown ? 'hide' : 'show'} the id of run ${label}`}
        title={`run id ${run.run_id}`}
        onClick={() => setShown(s => !s)}
      >
        {shortId(run.run_id)}
      </button>
      {shown && (
        <code className="jp-mlops-runid" data-testid={testId ? `${testId}-id` : undefined}>
          {run.run_id}
        </code>
      )}
    </span>
  );
}
